"""The benchmarks run in their smallest settings and say what they measured.

No timing is asserted: the figures depend on the machine. The shape of the output is.
"""

import cProfile
import json
import subprocess
import sys
from pathlib import Path

import pytest
from redis_server import require_redis

from chatlib.course.bench import profiles, scaling, variants
from chatlib.course.bench.report import HEADER
from chatlib.course.bench.sessions import BenchSettings, plan, runnable, skipped

ROOT = Path(__file__).resolve().parent.parent
SHORTEST_SCALING = ("--rounds", "1", "--duration", "0.5", "--receivers", "40")
PHASES = {"classroom", "human", "paced", "saturating", "stalled", "stalled_paced"}


# Half a minute: make test-slow and CI run it (notebook 05's quick benchmark runs in make test).
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_smallest_benchmark_prints_a_table_and_writes_json_for_every_variant(
    tmp_path: Path,
) -> None:
    """Every configuration that can run here runs: the aiohttp peer too, where installed
    (it is in the dev extra)."""
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "chatlib.course.bench", "--smallest", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert run.returncode == 0, run.stderr
    assert HEADER in run.stdout
    assert "Classroom: 4 talkers x 8 lines/s" in run.stdout
    assert "One reader stalled" in run.stdout
    expected = {label for label, _, _ in runnable(BenchSettings.smallest())}
    count = len(expected)
    assert f"[0/{count}]" in run.stderr and f"[{count}/{count}] done" in run.stderr
    results = json.loads(output.read_text())
    assert {"settings", "sessions", "rows", "ratios", "machine", "command"} <= results.keys()
    labels = {session["label"] for session in results["sessions"]}
    assert labels == expected
    if variants.missing_package("aiohttp") is None:
        assert "aiohttp" in labels
    for session in results["sessions"]:
        assert session["phases"].keys() >= PHASES
        assert isinstance(session["phases"]["stalled"]["stalled_reader_cut"], bool)
        for phase in session["phases"].values():
            assert {
                "delivered_per_s",
                "latency_ms",
                "server_cpu_us_per_delivery",
                "server_kernel_share",
                "server_rss_mib_end",
                "load_cpu_share",
                "others_cpu_share",
                "sends_per_delivery",
                "segments_per_delivery",
            } <= phase.keys()
        assert session["idle_kib_per_connection"] is not None
    # The summary prints the ratios that were measured, never a missing one.
    assert "None" not in run.stdout
    ratio = results["ratios"][0]
    assert ratio["clients"] == 10
    assert {
        "throughput_vs_broadcast",
        "p99_vs_broadcast",
        "cpu_vs_broadcast",
        "classroom_cpu_vs_aiohttp",
        "human_p99_vs_broadcast",
        "stalled_share",
    } <= ratio.keys()
    # Where ss counted them: about one segment per delivery for a server that writes each
    # line on its own, fewer for one that writes several lines at once, never none.
    segments = [row["classroom_segments_per_delivery"] for row in results["rows"]]
    assert all(value is None or 0 < value < 3 for value in segments), segments


def test_a_variant_whose_package_is_missing_is_skipped_with_a_line(monkeypatch) -> None:
    monkeypatch.setitem(variants.OPTIONAL_PACKAGES, "aiohttp", "chatlib_no_such_package")
    settings = BenchSettings.smallest()
    assert skipped(settings) == [
        "Skipping aiohttp: it needs chatlib_no_such_package (pip install -e '.[bench]')."
    ]
    assert "aiohttp" not in {label for _, _, label, _, _ in plan(settings)}
    assert "chat" in {label for _, _, label, _, _ in plan(settings)}


def test_a_benchmark_server_runs_as_a_script_without_a_warning() -> None:
    """``python -m chatlib.course.bench.variants`` once printed a RuntimeWarning (the package had
    imported the module it was asked to run); with warnings as errors it must still run."""
    run = subprocess.run(
        [sys.executable, "-W", "error", "-m", "chatlib.course.bench.variants", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0 and run.stderr == "", run.stderr


def test_a_profile_lists_the_busiest_functions_first_with_their_share(tmp_path: Path) -> None:
    """What ``--profile`` prints, read from a real cProfile profile of a known program."""

    def busy_loop() -> int:
        total = 0
        for number in range(300_000):  # All the time is this function's own.
            total += number * number
        return total

    profiler = cProfile.Profile()
    profiler.runcall(busy_loop)
    profiler.dump_stats(tmp_path / "busy-10.prof")
    report = profiles.report(tmp_path).splitlines()
    assert report[0] == "busy-10: share of the server's busy time, by function (own time)"
    shares = [float(line.split("%")[0]) for line in report[1:]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 100.1
    assert "busy_loop" in report[1], report  # Its loop does all the work.


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_scaling_benchmark_says_where_the_cpu_went_in_each_set_up() -> None:
    """``python -m chatlib.course.bench.scaling``, shortest: a line per set-up with its figures,
    the load in processes of its own, and the two ratios."""
    require_redis()
    run = subprocess.run(
        [sys.executable, "-m", "chatlib.course.bench.scaling", *SHORTEST_SCALING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert run.returncode == 0, run.stderr
    for setup in scaling.SETUPS:
        line = next(line for line in run.stdout.splitlines() if line.startswith(setup + " "))
        figures = line[len(setup) :].split()
        assert len(figures) == 8 and all(figure[0].isdigit() for figure in figures), line
    assert "two processes / one: x" in run.stdout and "None" not in run.stdout
