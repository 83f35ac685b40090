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


def median(values: list[float | None]) -> float | None:
    """The median of the values that were measured (``None`` marks one that was not)."""
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
                "saturating_others_cpu_share": figure("saturating", "others_cpu_share"),
                "stalled_delivered_per_s": figure("stalled", "delivered_per_s"),
                "stalled_p99_ms": figure("stalled", "latency_ms", "p99"),
                "stalled_paced_p99_ms": figure("stalled_paced", "latency_ms", "p99"),
                # From the stall to its end (the stalled, then the stalled_paced phase).
                "stalled_rss_growth_mib": median(
                    [
                        s["phases"].get("stalled_paced", s["phases"]["stalled"])[
                            "server_rss_mib_end"
                        ]
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
    """chat ÷ broadcast, per number of clients, each round on its own, then the median.

    ``cpu_vs_broadcast`` compares the server's CPU time per delivery: the steadiest figure
    on a shared machine, since another program taking a core slows a server down without
    making each of its deliveries cost more. ``busiest_others`` is the largest share of the
    CPU that other programs took during those sessions' flat-out phases (in cores).
    """
    by_key = {(s["label"], s["clients"], s["round"]): s for s in results["sessions"]}
    out = []
    for clients in results["settings"]["clients"]:
        throughput, p99, stalled_p99, cpu, others = [], [], [], [], []
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
            cpu.append(
                chat["phases"]["saturating"]["server_cpu_us_per_delivery"]
                / bare["phases"]["saturating"]["server_cpu_us_per_delivery"]
            )
            others += [
                session["phases"]["saturating"]["others_cpu_share"] for session in (chat, bare)
            ]
            stalled = chat["phases"].get("stalled_paced")
            if stalled and stalled["latency_ms"]["p99"] is not None:
                stalled_p99.append(
                    stalled["latency_ms"]["p99"] / chat["phases"]["paced"]["latency_ms"]["p99"]
                )
        if throughput:
            out.append(
                {
                    "clients": clients,
                    "throughput_vs_broadcast": round(median(throughput), 2),
                    "p99_vs_broadcast": round(median(p99), 2),
                    "cpu_vs_broadcast": round(median(cpu), 2),
                    "busiest_others": max(others),
                    "stalled_p99_vs_unstalled": (
                        round(median(stalled_p99), 2) if stalled_p99 else None
                    ),
                }
            )
    return out


def cell(value, width: int, digits: int = 1) -> str:
    """One right-aligned cell of the table: a number, a word, or a dash for "not measured"."""
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
            "One reader stalled: what the others get (flat out: msg/s, and as a share of msg/s",
            "before the stall; paced: p99 latency, and before the stall), how much the server",
            "grew while it lasted, and whether the server cut the stalled reader.",
            f"{'variant':>18}  {'clients':>7}  {'msg/s':>9}  {'x before':>8}  {'p99 ms':>8}  "
            f"{'p99 before':>10}  {'RSS +MiB':>8}  {'reader cut':>10}",
        ]
        for row in stalled:
            share = (
                row["stalled_delivered_per_s"] / row["delivered_per_s"]
                if row["delivered_per_s"]
                else None
            )
            lines.append(
                f"{row['variant']:>18}  {row['clients']:>7}  "
                f"{cell(round(row['stalled_delivered_per_s']), 9)}  {cell(share, 8, 2)}  "
                f"{cell(row['stalled_paced_p99_ms'], 8, 2)}  {cell(row['paced_p99_ms'], 10, 2)}  "
                f"{cell(row['stalled_rss_growth_mib'], 8, 2)}  "
                f"{'yes' if row['stalled_reader_cut'] else 'no':>10}"
            )
    early = [s for s in results["sessions"] if s.get("receivers_closed_early")]
    if early:
        lines += ["", "Warning: receivers closed before any stalled (the load fell behind?):"]
        lines += [
            f"  {s['label']}, {s['clients']} clients, round {s['round'] + 1}: "
            f"{s['receivers_closed_early']}"
            for s in early
        ]
    found = ratios(results)
    if found:
        lines += [
            "",
            "chatlib's chat server ÷ the bare broadcast() room, medians of per-round ratios",
            "(targets: throughput >= 0.9, paced p99 <= 1.1; with a stalled reader, paced p99",
            "<= 1.2x its own without). CPU per delivery is the steadiest on a shared machine;",
            "'others' is the most CPU other programs took meanwhile (cores).",
        ]
        for ratio in found:
            stalled_text = (
                f", stalled p99 x{ratio['stalled_p99_vs_unstalled']} its own"
                if ratio["stalled_p99_vs_unstalled"] is not None
                else ""
            )
            lines.append(
                f"  {ratio['clients']:>5} clients: throughput x{ratio['throughput_vs_broadcast']},"
                f" paced p99 x{ratio['p99_vs_broadcast']},"
                f" CPU/delivery x{ratio['cpu_vs_broadcast']}{stalled_text};"
                f" others {ratio['busiest_others']}"
            )
    return "\n".join(lines)


def with_summary(results: dict) -> dict:
    """The raw results plus the summary rows and ratios, as the JSON file holds them."""
    return {**results, "rows": summarize(results), "ratios": ratios(results)}
