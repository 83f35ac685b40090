"""The benchmark's results as a table for people and as JSON for programs (and plots).

The table has one row per configuration and number of clients, with the median of the
rounds; then the classroom phase (many talkers at once) and the human pace; below them,
chatlib's chat server as ratios of the bare ``broadcast()`` room and of the aiohttp peer,
measured in the same rounds, and the targets they are held to.
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
    ("kernel", 6),
    ("sends/msg", 9),
    ("segs/msg", 8),
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
                "kernel_share": figure("saturating", "server_kernel_share"),
                "sends_per_delivery": figure("saturating", "sends_per_delivery"),
                "segments_per_delivery": figure("saturating", "segments_per_delivery"),
                "classroom_delivered_per_s": figure("classroom", "delivered_per_s"),
                "classroom_p50_ms": figure("classroom", "latency_ms", "p50"),
                "classroom_p99_ms": figure("classroom", "latency_ms", "p99"),
                "classroom_cpu_us_per_delivery": figure("classroom", "server_cpu_us_per_delivery"),
                "classroom_sends_per_delivery": figure("classroom", "sends_per_delivery"),
                "classroom_segments_per_delivery": figure("classroom", "segments_per_delivery"),
                "classroom_others_cpu_share": figure("classroom", "others_cpu_share"),
                "human_p50_ms": figure("human", "latency_ms", "p50"),
                "human_p99_ms": figure("human", "latency_ms", "p99"),
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


# Each ratio of chatlib's chat server to another configuration, measured in the same round:
# (name, the other configuration, phase, figure). Figures are paths into a phase.
RATIOS = (
    ("throughput_vs_broadcast", "broadcast", "saturating", ("delivered_per_s",)),
    ("p99_vs_broadcast", "broadcast", "paced", ("latency_ms", "p99")),
    ("cpu_vs_broadcast", "broadcast", "saturating", ("server_cpu_us_per_delivery",)),
    ("classroom_cpu_vs_aiohttp", "aiohttp", "classroom", ("server_cpu_us_per_delivery",)),
    ("classroom_cpu_vs_broadcast", "broadcast", "classroom", ("server_cpu_us_per_delivery",)),
    ("classroom_p99_vs_broadcast", "broadcast", "classroom", ("latency_ms", "p99")),
    ("human_p99_vs_broadcast", "broadcast", "human", ("latency_ms", "p99")),
)


# What the table prints of each ratio: (name, what it compares, its target or None).
SHOWN_RATIOS = (
    ("classroom_cpu_vs_aiohttp", "classroom CPU/delivery ÷ aiohttp's", "target <= 0.3"),
    ("classroom_cpu_vs_broadcast", "classroom CPU/delivery ÷ broadcast's", None),
    ("classroom_p99_vs_broadcast", "classroom p99 ÷ broadcast's", "target <= 1.0"),
    ("cpu_vs_broadcast", "flat-out CPU/delivery ÷ broadcast's", "target <= 0.5"),
    ("throughput_vs_broadcast", "flat-out throughput ÷ broadcast's", None),
    ("p99_vs_broadcast", "paced p99 ÷ broadcast's", None),
    ("human_p99_vs_broadcast", "human p99 ÷ broadcast's", "target <= 1.1"),
    ("stalled_share", "reader stalled: the others keep", "target >= 0.95"),
    ("stalled_p99_vs_unstalled", "reader stalled: paced p99 ÷ its own before", None),
)


def phase_figure(session: dict, phase: str, path: tuple[str, ...]) -> float | None:
    """One figure of one phase of a session; ``None`` when that phase did not run."""
    value = session["phases"].get(phase)
    for key in path:
        value = None if value is None else value.get(key)
    return value


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or zero."""
    if not numerator or not denominator:
        return None
    return numerator / denominator


def ratios(results: dict) -> list[dict]:
    """chat ÷ another configuration, per number of clients, each round on its own, then the
    median (see :data:`RATIOS`).

    ``cpu_vs_broadcast`` compares the server's CPU time per delivery: the steadiest figure
    on a shared machine, since another program taking a core slows a server down without
    making each of its deliveries cost more. ``busiest_others`` is the largest share of the
    CPU that other programs took during those sessions' flat-out phases (in cores).
    ``stalled_share`` is what chat's other receivers got with one reader stalled, as a share
    of what they got before; ``stalled_p99_vs_unstalled`` its paced p99, stalled ÷ not.
    """
    by_key = {(s["label"], s["clients"], s["round"]): s for s in results["sessions"]}
    out = []
    for clients in results["settings"]["clients"]:
        found: dict[str, list[float]] = {name: [] for name, *_ in RATIOS}
        stalled_share, stalled_p99, others = [], [], []
        for round_ in range(results["settings"]["rounds"]):
            chat = by_key.get(("chat", clients, round_))
            if chat is None:
                continue
            for name, other_label, phase, path in RATIOS:
                other = by_key.get((other_label, clients, round_))
                if other is None:
                    continue
                value = ratio(phase_figure(chat, phase, path), phase_figure(other, phase, path))
                if value is not None:
                    found[name].append(value)
                others.append(phase_figure(other, "saturating", ("others_cpu_share",)))
            others.append(phase_figure(chat, "saturating", ("others_cpu_share",)))
            rate = ("delivered_per_s",)
            share = ratio(
                phase_figure(chat, "stalled", rate), phase_figure(chat, "saturating", rate)
            )
            if share is not None:
                stalled_share.append(share)
            p99 = ("latency_ms", "p99")
            slowed = ratio(
                phase_figure(chat, "stalled_paced", p99), phase_figure(chat, "paced", p99)
            )
            if slowed is not None:
                stalled_p99.append(slowed)
        if not any(found.values()):
            continue
        row = {"clients": clients}
        for name, values in found.items():
            row[name] = round(median(values), 2) if values else None
        row["busiest_others"] = max(value for value in others if value is not None)
        row["stalled_share"] = round(median(stalled_share), 2) if stalled_share else None
        row["stalled_p99_vs_unstalled"] = round(median(stalled_p99), 2) if stalled_p99 else None
        out.append(row)
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
        "Flat-out throughput (msg/s delivered, server CPU per delivery and the kernel's share",
        "of it) and latency at a paced load of"
        f" {results['settings']['paced_deliveries']:,} deliveries/s; medians of"
        f" {results['settings']['rounds']} round(s).",
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
            row["kernel_share"],
            row["sends_per_delivery"],
            row["segments_per_delivery"],
            row["server_rss_mib"],
            row["idle_kib_per_connection"],
        )
        lines.append(
            "  ".join(
                cell(v, w, 3 if i in (8, 9) else 2 if i in (3, 4, 5, 7) else 1)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            )
        )
    classroom = [
        row
        for row in rows
        if row["classroom_delivered_per_s"] is not None or row["human_p99_ms"] is not None
    ]
    if classroom:
        settings = results["settings"]
        lines += [
            "",
            f"Classroom: {settings['talkers']} talkers x {settings['talker_rate']:g} lines/s"
            " more (every client counts as a receiver, the talkers too); human: one sender at",
            f"{settings['human_rate']:g} lines/s. Sends and segments per delivery: the server's"
            " send system calls (perf) and TCP data segments (ss).",
            f"{'variant':>18}  {'clients':>7}  {'msg/s':>9}  {'p50 ms':>7}  {'p99 ms':>7}  "
            f"{'cpu us/msg':>10}  {'sends/msg':>9}  {'segs/msg':>8}  {'others':>6}  "
            f"{'human p99':>9}",
        ]
        for row in classroom:
            lines.append(
                f"{row['variant']:>18}  {row['clients']:>7}  "
                f"{cell(row['classroom_delivered_per_s'], 9)}  "
                f"{cell(row['classroom_p50_ms'], 7, 2)}  {cell(row['classroom_p99_ms'], 7, 2)}  "
                f"{cell(row['classroom_cpu_us_per_delivery'], 10, 2)}  "
                f"{cell(row['classroom_sends_per_delivery'], 9, 3)}  "
                f"{cell(row['classroom_segments_per_delivery'], 8, 3)}  "
                f"{cell(row['classroom_others_cpu_share'], 6, 2)}  "
                f"{cell(row['human_p99_ms'], 9, 2)}"
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
            "chatlib's chat server ÷ another configuration, medians of per-round ratios, and",
            "the target each is held to (only the ratios whose phases ran). CPU per delivery is",
            "the steadiest on a shared machine; 'others' is the most CPU other programs took",
            "meanwhile (cores).",
        ]
        for row in found:
            lines.append(f"  {row['clients']} clients (others: up to {row['busiest_others']:.2f}):")
            lines += [
                f"    {label} x{row[name]:.2f}" + (f" ({target})" if target else "")
                for name, label, target in SHOWN_RATIOS
                if row.get(name) is not None
            ]
    return "\n".join(lines)


def with_summary(results: dict) -> dict:
    """The raw results plus the summary rows and ratios, as the JSON file holds them."""
    return {**results, "rows": summarize(results), "ratios": ratios(results)}
