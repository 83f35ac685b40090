"""``python -m chatlib.course.bench``: measure how fast each server variant fans messages out.

Prints a table (and with ``--json PATH`` writes every figure) and progress lines on stderr,
``[3/10] chat, 100 clients, round 1``. Measured on a quiet 2-core machine: ``--quick``
(notebook 05's run) about 25 s, ``--smallest`` (every configuration and phase at 10
clients: the smoke test) 27 s; the default run (10 to 1,000 clients, 3 rounds) about 40
minutes (estimated from its sessions' lengths). A busy machine takes longer.
"""

import argparse
import asyncio
import json
import platform
import sys
from pathlib import Path

import websockets

from chatlib.course.bench import profiles
from chatlib.course.bench.report import table, with_summary
from chatlib.course.bench.sessions import CONFIGURATIONS, BenchSettings, run_benchmark, skipped


def machine() -> dict:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "system": platform.platform(),
    }


def show_progress(done: int, total: int, what: str) -> None:
    """Print ``[done/total] what`` on standard error: the progress of a long run."""
    print(f"[{done}/{total}] {what}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark the command line asks for; print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m chatlib.course.bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="10 and 100 clients, short phases")
    size.add_argument("--smallest", action="store_true", help="10 clients, every phase")
    parser.add_argument("--clients", type=int, nargs="+", help="numbers of receivers")
    parser.add_argument("--rounds", type=int, help="times every session is repeated")
    parser.add_argument("--duration", type=float, help="seconds measured in each phase")
    parser.add_argument("--senders", type=int, help="sending clients (default 1)")
    parser.add_argument(
        "--talkers", type=int, help="clients talking at once in the classroom phase (default 20)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[label for label, _, _ in CONFIGURATIONS],
        help="configurations to run (default: all)",
    )
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler place the server and the load (default: a core each)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FOLDER",
        help="run each server under cProfile, write its profile in FOLDER and print the"
        " functions it spent most time in (slows the servers down: compare shares, not speeds)",
    )
    args = parser.parse_args(argv)
    if sys.platform != "linux":
        parser.error("the benchmark reads /proc: it runs on Linux only")
    settings = (
        BenchSettings.quick()
        if args.quick
        else BenchSettings.smallest()
        if args.smallest
        else BenchSettings()
    )
    for name in ("clients", "rounds", "duration", "senders", "talkers"):
        value = getattr(args, name)
        if value is not None:
            setattr(settings, name, tuple(value) if name == "clients" else value)
    if args.variants:
        settings.configurations = tuple(args.variants)
    settings.pin = not args.no_pin
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        settings.profile = str(args.profile)
    for line in skipped(settings):
        print(line, flush=True)
    results = asyncio.run(run_benchmark(settings, show_progress))
    results["machine"] = machine()
    results["command"] = "python -m chatlib.course.bench " + " ".join(argv or sys.argv[1:])
    print(table(results))
    if args.profile:
        print(f"\n{profiles.report(args.profile)}")
    if args.json:
        args.json.write_text(json.dumps(with_summary(results), indent=1))
        print(f"Every figure: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
