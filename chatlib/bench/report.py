"""The benchmark's results as a table for people and as JSON for programs (and plots).

The table has one row per configuration and number of clients, with the median of the
rounds; below it, chatlib's chat server as ratios of the bare ``broadcast()`` room, measured
in the same rounds, and the targets they are held to.
"""

import statistics
from collections import defaultdict

COLUMNS = (
    ("variant", 18),
    ("clients", 7),
    ("msg/s", 9),
    ("p50 ms", 7),
    ("p99 ms", 7),
    ("max ms", 7),
    ("cpu us/msg", 10),
    ("RSS MiB", 7),
    ("KiB/idle", 8),
)
HEADER = "  ".join(f"{name:>{width}}" for name, width in COLUMNS)


def median(values):
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def summarize(results: dict) -> list[dict]:
    """One row per (label, clients): medians over the rounds of each figure."""
    groups = defaultdict(list)
    for session in results["sessions"]:
        groups[session["label"], session["clients"]].append(session)
    rows = []
    for (label, clients), sessions in groups.items():

        def figure(phase, *path, sessions=sessions):
            values = []
            for session in sessions:
                value = session["phases"].get(phase)
                for key in path:
                    value = None if value is None else value[key]
                values.append(value)
            return median(values)

        rows.append(
            {
                "variant": label,
                "clients": clients,
                "delivered_per_s": figure("saturating", "delivered_per_s"),
                "cpu_us_per_delivery": figure("saturating", "server_cpu_us_per_delivery"),
                "paced_p50_ms": figure("paced", "latency_ms", "p50"),
                "paced_p99_ms": figure("paced", "latency_ms", "p99"),
                "paced_max_ms": figure("paced", "latency_ms", "max"),
                "saturating_p99_ms": figure("saturating", "latency_ms", "p99"),
                "server_rss_mib": figure("saturating", "server_rss_mib_end"),
                "idle_kib_per_connection": median([s["idle_kib_per_connection"] for s in sessions]),
                "stalled_delivered_per_s": figure("stalled", "delivered_per_s"),
                "stalled_p99_ms": figure("stalled", "latency_ms", "p99"),
                "stalled_rss_growth_mib": median(
                    [
                        s["phases"]["stalled"]["server_rss_mib_end"]
                        - s["phases"]["stalled"]["server_rss_mib_start"]
                        for s in sessions
                        if "stalled" in s["phases"]
                    ]
                ),
                "stalled_reader_cut": any(
                    s["phases"].get("stalled", {}).get("stalled_reader_cut") for s in sessions
                ),
            }
        )
    return rows


def ratios(results: dict) -> list[dict]:
    """chat ÷ broadcast, per number of clients, each round on its own, then the median."""
    by_key = {(s["label"], s["clients"], s["round"]): s for s in results["sessions"]}
    out = []
    for clients in results["settings"]["clients"]:
        throughput, p99, stalled_p99 = [], [], []
        for round_ in range(results["settings"]["rounds"]):
            chat = by_key.get(("chat", clients, round_))
            bare = by_key.get(("broadcast", clients, round_))
            if chat is None or bare is None:
                continue
            throughput.append(
                chat["phases"]["saturating"]["delivered_per_s"]
                / max(1, bare["phases"]["saturating"]["delivered_per_s"])
            )
            p99.append(
                chat["phases"]["paced"]["latency_ms"]["p99"]
                / bare["phases"]["paced"]["latency_ms"]["p99"]
            )
            stalled = chat["phases"].get("stalled")
            if stalled and stalled["latency_ms"]["p99"] is not None:
                stalled_p99.append(
                    stalled["latency_ms"]["p99"] / chat["phases"]["saturating"]["latency_ms"]["p99"]
                )
        if throughput:
            out.append(
                {
                    "clients": clients,
                    "throughput_vs_broadcast": round(median(throughput), 2),
                    "p99_vs_broadcast": round(median(p99), 2),
                    "stalled_p99_vs_unstalled": (
                        round(median(stalled_p99), 2) if stalled_p99 else None
                    ),
                }
            )
    return out


def cell(value, width: int, digits: int = 1) -> str:
    if value is None:
        return f"{'—':>{width}}"
    if isinstance(value, str):
        return f"{value:>{width}}"
    if (isinstance(value, float) and value >= 1000) or isinstance(value, int):
        return f"{round(value):>{width},}"
    return f"{value:>{width}.{digits}f}"


def table(results: dict) -> str:
    """The results as text: the table, the stalled-reader scenario, and the ratios."""
    rows = summarize(results)
    lines = [
        "Flat-out throughput (msg/s delivered, server CPU per delivery) and latency at a paced",
        f"load of {results['settings']['paced_deliveries']:,} deliveries/s; medians of "
        f"{results['settings']['rounds']} round(s).",
        HEADER,
    ]
    widths = [width for _, width in COLUMNS]
    for row in rows:
        values = (
            row["variant"],
            row["clients"],
            row["delivered_per_s"],
            row["paced_p50_ms"],
            row["paced_p99_ms"],
            row["paced_max_ms"],
            row["cpu_us_per_delivery"],
            row["server_rss_mib"],
            row["idle_kib_per_connection"],
        )
        lines.append(
            "  ".join(
                cell(v, w, 2 if i in (3, 4, 5) else 1)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            )
        )
    stalled = [row for row in rows if row["stalled_delivered_per_s"] is not None]
    if stalled:
        lines += [
            "",
            "One reader stalled (flat-out load): what the others get",
            f"{'variant':>18}  {'clients':>7}  {'msg/s':>9}  {'p99 ms':>8}  "
            f"{'p99 before':>10}  {'RSS +MiB':>8}  {'stalled reader cut':>18}",
        ]
        for row in stalled:
            lines.append(
                f"{row['variant']:>18}  {row['clients']:>7}  "
                f"{cell(row['stalled_delivered_per_s'], 9)}  {cell(row['stalled_p99_ms'], 8)}  "
                f"{cell(row['saturating_p99_ms'], 10)}  {cell(row['stalled_rss_growth_mib'], 8, 2)}"
                f"  {'yes' if row['stalled_reader_cut'] else 'no':>18}"
            )
    found = ratios(results)
    if found:
        lines += [
            "",
            "chatlib's chat server ÷ the bare broadcast() room (targets: throughput "
            ">= 0.9, p99 <= 1.1; stalled p99 <= 1.2x its own)",
        ]
        for ratio in found:
            stalled_text = (
                f", stalled p99 x{ratio['stalled_p99_vs_unstalled']}"
                if ratio["stalled_p99_vs_unstalled"] is not None
                else ""
            )
            lines.append(
                f"  {ratio['clients']:>5} clients: throughput x{ratio['throughput_vs_broadcast']},"
                f" paced p99 x{ratio['p99_vs_broadcast']}{stalled_text}"
            )
    return "\n".join(lines)


def with_summary(results: dict) -> dict:
    """The raw results plus the summary rows and ratios, as the JSON file holds them."""
    return {**results, "rows": summarize(results), "ratios": ratios(results)}
