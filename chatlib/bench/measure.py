"""What a server process costs, read from /proc, and summaries of latencies.

``/proc/PID/stat`` gives the CPU time a process used (user + system, in clock ticks) and
``/proc/PID/status`` its resident memory (``VmRSS``): the server runs as a process of its own,
so both figures are its own and nobody else's. Linux only, like the benchmark.
"""

import os
from array import array
from dataclasses import dataclass

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5), utime and stime; fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class LatencySummary:
    """Delivery latency in milliseconds; ``None`` when nothing was delivered."""

    p50: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, latencies_ns: array) -> "LatencySummary":
        if not latencies_ns:
            return cls(None, None, None)
        ordered = sorted(latencies_ns)
        last = len(ordered) - 1

        def at(fraction: float) -> float:
            return round(ordered[round(fraction * last)] / 1e6, 3)

        return cls(at(0.50), at(0.99), round(ordered[-1] / 1e6, 3))
