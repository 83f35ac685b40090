"""What a server process costs, read from /proc, and summaries of latencies.

``/proc/PID/stat`` gives the CPU time a process used (user + system, in clock ticks) and
``/proc/PID/status`` its resident memory (``VmRSS``): the server runs as a process of its own,
so both figures are its own and nobody else's. Linux only, like the benchmark.

What the kernel does for each delivery is counted where Linux lets a program see it:

- **send system calls** (:class:`SendCounter`): ``perf stat`` counts the server's entries into
  ``sendto``, ``sendmsg``, ``write`` and ``writev`` (kernel tracepoints, counted in the kernel,
  no sampling). ``/proc/PID/io`` would be simpler, but its ``syscw`` counts only ``write()``
  and its family, never ``send()`` on a socket: it reads 0 for an asyncio server. Needs the
  ``perf`` program and the right to trace (root, or ``perf_event_paranoid`` <= 1).
- **TCP segments** (:func:`data_segments_out`): ``ss -ti`` shows each socket's
  ``data_segs_out``, the segments it sent that carried data (not pure ACKs); summed over the
  server's sockets (local port = the server's). ``/proc/net/snmp``'s ``OutSegs`` would count
  the whole machine, the load's own segments and the other programs' too.
"""

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """CPU time used so far by process ``pid``: (in its own code, in the kernel for it).

    The kernel's part is its system calls: for a server, mostly ``send()``, which on
    127.0.0.1 also does the receiving side's work (loopback delivers at once).
    """
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of stat(5), utime and stime; fields[0] here is field 3.
    return int(fields[11]) / TICKS_PER_SECOND, int(fields[12]) / TICKS_PER_SECOND


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid``."""
    return sum(cpu_times(pid))


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
    server_kernel_seconds: float  # of server_seconds, those spent in the kernel
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

    def read(self) -> tuple[float, float, float, float, float]:
        """Now: wall clock, CPU seconds of the server (its own code, the kernel's for it),
        of the load and of the whole machine."""
        return (
            time.monotonic(),
            *cpu_times(self.server_pid),
            cpu_seconds(os.getpid()),
            machine_busy_seconds(),
        )

    def stop(self) -> CpuUse:
        """The CPU each side used since the start, in cores."""
        elapsed, server_user, server_kernel, load, machine = (
            end - start for end, start in zip(self.read(), self.start, strict=True)
        )
        server = server_user + server_kernel
        others = max(0.0, machine - server - load)
        return CpuUse(
            elapsed,
            server,
            server_kernel,
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


SEND_CALLS = ("sendto", "sendmsg", "write", "writev")
PERF_INTERVAL_MS = 50


class SendCounter:
    """Counts a process's send system calls with ``perf stat``, against a deliveries counter.

    ``perf stat -I`` prints the counts every 50 ms; each time, this notes the running total
    of send calls beside ``deliveries()``, read at the same moment. :meth:`per_delivery` then
    divides the growth of one by the other's between two moments: both counted over the
    same interval, whatever perf's start-up delay.
    """

    def __init__(self, process: asyncio.subprocess.Process, deliveries: Callable[[], int]):
        self.process = process
        self.deliveries = deliveries
        self.samples: list[tuple[float, int, int]] = []  # (monotonic, send calls, deliveries)
        self.total = 0
        self.reader = asyncio.create_task(self.read())

    @classmethod
    async def start(cls, pid: int, deliveries: Callable[[], int]) -> "SendCounter | None":
        """Attach to process ``pid``; ``None`` where perf is missing or may not trace it."""
        if shutil.which("perf") is None:
            return None
        events = ",".join(f"syscalls:sys_enter_{call}" for call in SEND_CALLS)
        try:
            process = await asyncio.create_subprocess_exec(
                *("perf", "stat", "-x,", "-I", str(PERF_INTERVAL_MS), "-e", events),
                *("-p", str(pid)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError:
            return None
        return cls(process, deliveries)

    async def read(self) -> None:
        """Parse perf's lines: ``time,count,,event,...``, one per event and interval."""
        last_event = f"syscalls:sys_enter_{SEND_CALLS[-1]}"
        while line := await self.process.stderr.readline():
            fields = line.decode(errors="replace").strip().split(",")
            if len(fields) < 4 or not fields[3].startswith("syscalls:"):
                continue
            if fields[1].isdigit():  # "<not counted>": the process did not run meanwhile
                self.total += int(fields[1])
            if fields[3] == last_event:  # The interval's last line: a complete sample.
                self.samples.append((time.monotonic(), self.total, self.deliveries()))

    def per_delivery(self, start: float, end: float) -> float | None:
        """Send calls per delivery between the first sample after ``start`` and the last
        before ``end`` (monotonic times); ``None`` when perf counted nothing then."""
        inside = [sample for sample in self.samples if start <= sample[0] <= end]
        if len(inside) < 2 or inside[-1][2] == inside[0][2]:
            return None
        (_, calls_before, delivered_before), (_, calls_after, delivered_after) = (
            inside[0],
            inside[-1],
        )
        return round((calls_after - calls_before) / (delivered_after - delivered_before), 3)

    async def stop(self) -> None:
        """Stop perf (SIGINT, as Ctrl-C) and wait for it."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self.reader


SEGMENTS = re.compile(rb"\bdata_segs_out:(\d+)")


async def data_segments_out(port: int) -> int | None:
    """Data segments sent so far by every established socket on local ``port`` (``ss -ti``);
    ``None`` without ``ss``. Sockets closed meanwhile take their counts with them."""
    if shutil.which("ss") is None:
        return None
    process = await asyncio.create_subprocess_exec(
        *("ss", "-tinH", "state", "established", f"( sport = :{port} )"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        return None
    return sum(int(count) for count in SEGMENTS.findall(output))
