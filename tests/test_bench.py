"""The fan-out benchmark runs in its smallest setting and says what it measured.

No timing is asserted: the figures depend on the machine. The shape of the output is.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatlib.bench import variants
from chatlib.bench.report import HEADER
from chatlib.bench.sessions import BenchSettings, plan, runnable, skipped

ROOT = Path(__file__).resolve().parent.parent
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
        [sys.executable, "-m", "chatlib.bench", "--smallest", "--json", str(output)],
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
                "server_rss_mib_end",
                "load_cpu_share",
                "others_cpu_share",
                "sends_per_delivery",
                "segments_per_delivery",
            } <= phase.keys()
        assert session["idle_kib_per_connection"] is not None
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
