"""What a server process costs, read from /proc, and summaries of latencies.

``/proc/PID/stat`` gives the CPU time a process used (user + system, in clock ticks) and
``/proc/PID/status`` its resident memory (``VmRSS``): the server runs as a process of its own,
so both figures are its own and nobody else's. Linux only, like the benchmark.
"""

import os
import time
from array import array
from dataclasses import dataclass

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5), utime and stime; fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def machine_busy_seconds() -> float:
    """CPU time used so far by everything on the machine, all cores together.

    The first line of ``/proc/stat`` adds up every core's time by state; all but ``idle`` and
    ``iowait`` is work. Minus the server's and the benchmark's own time, what is left is how
    much the rest of the machine (other programs, other tests) competed with the benchmark.
    """
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    # Fields after the 8th (guest time) are already counted in user time.
    return (sum(fields[:8]) - idle - iowait) / TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid``, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class CpuUse:
    """CPU time used over ``elapsed`` seconds, in cores (1.0 is one core, fully busy)."""

    elapsed: float
    server_seconds: float
    server: float  # the server process
    load: float  # the benchmark's own process: the clients that make the load
    others: float  # everything else on the machine


class CpuMeter:
    """Measures who used the CPU between its creation and :meth:`stop`.

    On a machine with two cores, the server and the load each need one: when ``load`` nears
    1.0 the clients, not the server, set the pace; when ``others`` is high, another program
    took a core and the figures of that phase are not comparable.
    """

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.start = self.read()

    def read(self) -> tuple[float, float, float, float]:
        """Now: wall clock, and CPU seconds of the server, the load and the whole machine."""
        return (
            time.monotonic(),
            cpu_seconds(self.server_pid),
            cpu_seconds(os.getpid()),
            machine_busy_seconds(),
        )

    def stop(self) -> CpuUse:
        """The CPU each side used since the start, in cores."""
        elapsed, server, load, machine = (
            end - start for end, start in zip(self.read(), self.start, strict=True)
        )
        others = max(0.0, machine - server - load)
        return CpuUse(
            elapsed,
            server,
            round(server / elapsed, 2),
            round(load / elapsed, 2),
            round(others / elapsed, 2),
        )


@dataclass
class LatencySummary:
    """Delivery latency in milliseconds; ``None`` when nothing was delivered."""

    p50: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, latencies_ns: array) -> "LatencySummary":
        """p50, p99 and max of ``latencies_ns``, in milliseconds (``None`` when empty)."""
        if not latencies_ns:
            return cls(None, None, None)
        ordered = sorted(latencies_ns)
        last = len(ordered) - 1

        def at(fraction: float) -> float:
            return round(ordered[round(fraction * last)] / 1e6, 3)

        return cls(at(0.50), at(0.99), round(ordered[-1] / 1e6, 3))
