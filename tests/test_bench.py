"""The fan-out benchmark runs in its smallest setting and says what it measured.

No timing is asserted: the figures depend on the machine. The shape of the output is.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chatlib.bench.report import HEADER
from chatlib.bench.sessions import CONFIGURATIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(60)
def test_smallest_benchmark_prints_a_table_and_writes_json_for_every_variant(
    tmp_path: Path,
) -> None:
    output = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "chatlib.bench", "--smallest", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert run.returncode == 0, run.stderr
    assert HEADER in run.stdout
    assert "One reader stalled" in run.stdout
    assert "[0/5]" in run.stderr and "[5/5] done" in run.stderr  # progress lines
    results = json.loads(output.read_text())
    assert {"settings", "sessions", "rows", "ratios", "machine", "command"} <= results.keys()
    labels = {session["label"] for session in results["sessions"]}
    assert labels == {label for label, _, _ in CONFIGURATIONS}
    for session in results["sessions"]:
        assert {"paced", "saturating", "stalled", "stalled_paced"} <= session["phases"].keys()
        assert isinstance(session["phases"]["stalled"]["stalled_reader_cut"], bool)
        for phase in session["phases"].values():
            assert {
                "delivered_per_s",
                "latency_ms",
                "server_cpu_us_per_delivery",
                "server_rss_mib_end",
                "load_cpu_share",
                "others_cpu_share",
            } <= phase.keys()
        assert session["idle_kib_per_connection"] is not None
    ratio = results["ratios"][0]
    assert ratio["clients"] == 10
    assert {"throughput_vs_broadcast", "p99_vs_broadcast", "cpu_vs_broadcast"} <= ratio.keys()
