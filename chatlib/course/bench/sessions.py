"""One benchmark session: a server variant, N receivers, and its loads in a row.

A session starts the server in a process of its own, measures its memory before and after N
idle clients connect, then runs its phases, each bounded in time:

- ``classroom`` (at ``classroom_clients``): ``talkers`` more clients join and each says
  ``talker_rate`` lines a second (20 x 8 by default: a class talking at once), then they
  leave. Every client counts as a receiver here, the talkers too, since each hears the others;
- ``human`` (at ``human_clients``): one sender at a human pace (``human_rate`` lines a
  second): the latency one person sees when the room is quiet;
- ``paced``: the senders send at a fixed total rate (``paced_deliveries`` per second once
  fanned out), far below the limit: what latency looks like at an ordinary load;
- ``saturating``: the senders send as fast as the server reads: the most it can deliver;
- ``stalled``: the same flat-out load while one receiver has stopped reading, then
  ``stalled_paced``: the paced load again, the receiver still stalled.

Sessions of every variant run one after the other for each number of clients, and the whole
sequence repeats ``rounds`` times: interleaved, so that a noisy moment on the machine hits
every variant alike and their ratios stay comparable.
"""

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from chatlib.course.bench.load import (
    Deliveries,
    LeanClient,
    connect_client,
    connect_many,
    send_flat_out,
    send_paced,
)
from chatlib.course.bench.measure import (
    TICKS_PER_SECOND,
    CpuMeter,
    LatencySummary,
    SendCounter,
    cpu_seconds,
    data_segments_out,
    rss_bytes,
)
from chatlib.course.bench.variants import missing_package

# (label, variant, compression): what the table's rows compare.
CONFIGURATIONS = (
    ("chat", "chat", False),
    ("broadcast", "broadcast", False),
    ("frame-once", "frame-once", False),
    ("sequential", "sequential", False),
    ("gather", "gather", False),
    ("aiohttp", "aiohttp", False),
    ("broadcast+deflate", "broadcast", True),
)
QUICK_CONFIGURATIONS = ("chat", "broadcast", "sequential", "gather", "broadcast+deflate")
READ_PAUSE = 0.005  # seconds between two reads of one receiver, under a flat-out load
WINDOW = 256  # messages in flight under a flat-out load: enough to keep any server busy
# SO_RCVBUF of the receiver once it stalls (see LeanClient.stall): small, so that within a
# phase of a few seconds the server's own buffer for it grows, as it would after minutes.
STALLED_RECEIVE_BUFFER = 4096
# Lines written to every member after a reader stalls before its buffers are surely full:
# ~140 kB, more than its kernel buffers (STALLED_RECEIVE_BUFFER, variants.SEND_BUFFER, each
# doubled by the kernel) and websockets' write limit (32 KiB) together.
STALL_FILL = 1000
FROZEN_AFTER = 0.2  # seconds without a delivery to a reader that reads: the room froze
STALL_LIMIT = 5.0  # seconds at most to wait for either


@dataclass
class BenchSettings:
    """How big and how long the benchmark is."""

    clients: tuple[int, ...] = (10, 100, 500, 1000)
    senders: int = 1
    warmup: float = 0.5  # seconds of each phase not measured
    duration: float = 2.0  # seconds measured in each phase
    paced_deliveries: int = 20_000  # deliveries per second in the paced phase
    talkers: int = 20  # clients that talk at once in the classroom phase
    talker_rate: float = 8.0  # lines per second from each of them
    human_rate: float = 4.0  # lines per second from the one sender of the human phase
    # Sizes that also run the classroom and the human phase (the sizes).
    classroom_clients: tuple[int, ...] = (100, 500)
    human_clients: tuple[int, ...] = (10, 100, 500)
    rounds: int = 3
    # Sizes that also run the stalled phase, and its length: ``stalled_warmup`` seconds at
    # least for the stalled reader's buffers to fill (~100 kB; at 500 clients each receiver
    # gets ~60 kB/s flat out), and longer until they are full (see stall_holds), then
    # ``stalled_duration`` seconds measured.
    stalled_clients: tuple[int, ...] = (10, 100, 500)
    stalled_warmup: float = 2.0
    stalled_duration: float = 2.0
    configurations: tuple[str, ...] = tuple(label for label, _, _ in CONFIGURATIONS)
    # Give the server and the load a core each (see split_cores).
    pin: bool = True
    # A folder where each server writes its profile (see chatlib.course.bench.profiles), or None.
    profile: str | None = None

    @classmethod
    def quick(cls) -> "BenchSettings":
        """``--quick``: 10 and 100 clients, one round, short phases (about 25 s).

        Notebook 05 runs it within its time budget, so it keeps to the configurations the
        notebook discusses first (no ``frame-once``, no ``aiohttp``; ``--variants`` adds
        them) and to the phases of before (no classroom or human phase).
        """
        return cls(
            clients=(10, 100),
            configurations=QUICK_CONFIGURATIONS,
            warmup=0.1,
            duration=0.3,
            rounds=1,
            stalled_clients=(10,),
            stalled_warmup=0.3,
            stalled_duration=0.4,
            classroom_clients=(),
            human_clients=(),
        )

    @classmethod
    def smallest(cls) -> "BenchSettings":
        """``--smallest``: 10 clients, one round, the shortest phases (the smoke test)."""
        return cls(
            clients=(10,),
            warmup=0.1,
            duration=0.2,
            rounds=1,
            stalled_clients=(10,),
            stalled_warmup=0.2,
            stalled_duration=0.2,
            talkers=4,
            classroom_clients=(10,),
            human_clients=(10,),
        )


@dataclass
class Phase:
    """What one phase measured."""

    delivered_per_s: float
    latency_ms: LatencySummary
    server_cpu_share: float  # CPU seconds per second: 1.0 is one core, fully busy
    server_cpu_us_per_delivery: float | None
    # Of the server's CPU time, the share spent in the kernel (its system calls).
    server_kernel_share: float | None
    load_cpu_share: float  # the benchmark's clients: near 1.0, they set the pace
    others_cpu_share: float  # the rest of the machine: high means a noisy phase
    server_rss_mib_start: float
    server_rss_mib_end: float
    messages_sent: int
    # What the kernel did per delivery (see chatlib.course.bench.measure); None where not counted.
    sends_per_delivery: float | None = None
    segments_per_delivery: float | None = None
    stalled_reader_cut: bool | None = None


@dataclass
class Session:
    """One variant at one number of clients, in one round."""

    label: str
    variant: str
    compression: bool
    clients: int
    round: int
    idle_kib_per_connection: float
    phases: dict[str, Phase] = field(default_factory=dict)
    # Receivers closed before any stalled: should be 0. The chat server cuts a receiver of
    # the load that falls max_buffer behind, as when another program takes the load's core.
    receivers_closed_early: int = 0


class ServerProcess:
    """A variant's server, started as ``python -m chatlib.course.bench.variants``."""

    def __init__(
        self,
        variant: str,
        compression: bool,
        cpus: set[int] | None = None,
        profile: Path | None = None,
    ) -> None:
        """The command line of ``variant``'s server; with ``profile``, under cProfile."""
        profiler = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
        self.args = [sys.executable, *profiler, "-m", "chatlib.course.bench.variants", variant]
        self.args += ["--compression", "deflate" if compression else "none"]
        self.profile = profile
        self.cpus = cpus
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0
        # Counts its send system calls for the whole session (see measure.SendCounter).
        self.sends: SendCounter | None = None

    async def start(self) -> None:
        """Start the server process and read the port it listens on."""
        self.process = await asyncio.create_subprocess_exec(
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            stdin=asyncio.subprocess.DEVNULL,
        )
        line = await asyncio.wait_for(self.process.stdout.readline(), 15)
        self.port = int(line.decode().rsplit(":", 1)[1].split()[0])
        if self.cpus is not None:
            os.sched_setaffinity(self.pid, self.cpus)

    @property
    def pid(self) -> int:
        """The server's process id, to read its CPU time and memory."""
        return self.process.pid

    async def stop(self) -> None:
        """Kill the server: it never outlives its session.

        SIGKILL rather than a graceful SIGTERM: a benchmark server has nothing to save, and
        one that a stalled reader froze would wait out its close timeout first. Except when
        it is profiled: then SIGTERM, so that it writes its profile on the way out.
        """
        if self.process is None or self.process.returncode is not None:
            return
        if self.profile is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 10)
                return
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await asyncio.wait_for(self.process.wait(), 10)


async def wait_until_quiet(pid: int, limit: float = 15.0) -> None:
    """Wait until the server is about idle (joins announced, buffers drained).

    "About idle": less than one clock tick (10 ms) of CPU time in 50 ms.
    """
    deadline = time.monotonic() + limit
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = cpu_seconds(pid)
        if now - before < 0.5 / TICKS_PER_SECOND:
            return
        before = now


async def stall_holds(probe: LeanClient, received_at_stall: int) -> None:
    """Wait until a stalled reader has had its full effect on the room: the others got
    ``STALL_FILL`` lines since it stalled (so its buffers are full and the server keeps the
    rest, or cut it), or they get nothing any more (the room froze); ``STALL_LIMIT`` at most.

    A fixed warm-up is not enough on a busy machine: a slow room may not have filled the
    stalled reader's buffers yet, and a loop that is about to freeze then still delivers.
    """
    deadline = time.monotonic() + STALL_LIMIT
    last, changed = probe.received, time.monotonic()
    while time.monotonic() < deadline and probe.received - received_at_stall < STALL_FILL:
        await asyncio.sleep(0.02)
        if probe.received != last:
            last, changed = probe.received, time.monotonic()
        elif time.monotonic() - changed >= FROZEN_AFTER:
            return


def mib(size: int) -> float:
    """A size in bytes as MiB, rounded for the table."""
    return round(size / 2**20, 2)


async def run_phase(
    server: ServerProcess,
    senders: list[LeanClient],
    deliveries: Deliveries,
    settings: BenchSettings,
    rate: float | None,
    probe: LeanClient,
    duration: float | None = None,
    warmup: float | None = None,
    settled: Callable[[], Awaitable[None]] | None = None,
) -> Phase:
    """Send for warmup + duration seconds (at ``rate`` messages/s, or flat out if ``None``);
    with ``settled``, the measurement starts only once the warm-up is over and it returned."""
    stop = asyncio.Event()
    deliveries.read_pause = READ_PAUSE if rate is None else 0.0
    if rate is None:
        # Each sender keeps its own window, so the total in flight is the same for any count.
        window = max(1, WINDOW // len(senders))
        tasks = [
            asyncio.create_task(send_flat_out(sender, stop, probe, window)) for sender in senders
        ]
    else:
        share = rate / len(senders)
        tasks = [asyncio.create_task(send_paced(sender, share, stop)) for sender in senders]
    rss_start = rss_bytes(server.pid)
    await asyncio.sleep(settings.warmup if warmup is None else warmup)
    if settled is not None:
        await settled()
    segments_before = await segments_and_deliveries(server.port, deliveries)
    deliveries.reset()
    meter = CpuMeter(server.pid)
    deliveries.recording = True
    recording_started = time.monotonic()
    await asyncio.sleep(duration or settings.duration)
    deliveries.recording = False
    recording_ended = time.monotonic()
    cpu = meter.stop()
    segments_after = await segments_and_deliveries(server.port, deliveries)
    stop.set()
    sent = sum(await asyncio.gather(*tasks))
    sends_per_delivery = None
    if server.sends is not None:
        sends_per_delivery = server.sends.per_delivery(recording_started, recording_ended)
    phase = Phase(
        delivered_per_s=round(deliveries.count / cpu.elapsed),
        latency_ms=LatencySummary.of(deliveries.latencies),
        server_cpu_share=cpu.server,
        server_cpu_us_per_delivery=(
            round(cpu.server_seconds / deliveries.count * 1e6, 2) if deliveries.count else None
        ),
        server_kernel_share=(
            round(cpu.server_kernel_seconds / cpu.server_seconds, 2) if cpu.server_seconds else None
        ),
        load_cpu_share=cpu.load,
        others_cpu_share=cpu.others,
        server_rss_mib_start=mib(rss_start),
        server_rss_mib_end=mib(rss_bytes(server.pid)),
        messages_sent=sent,
        sends_per_delivery=sends_per_delivery,
        segments_per_delivery=per_delivery(segments_before, segments_after),
    )
    await wait_until_quiet(server.pid, limit=3)
    return phase


async def segments_and_deliveries(port: int, deliveries: Deliveries) -> tuple[int, float] | None:
    """The server's data segments so far, and the deliveries at that moment.

    ``ss`` takes a few milliseconds; the deliveries are read before and after, and the
    mean of the two stands for the moment ss read the counters.
    """
    before = deliveries.total
    segments = await data_segments_out(port)
    if segments is None:
        return None
    return segments, (before + deliveries.total) / 2


def per_delivery(before: tuple[int, float] | None, after: tuple[int, float] | None) -> float | None:
    """Segments per delivery between two readings of :func:`segments_and_deliveries`."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


async def run_classroom(
    server: ServerProcess,
    deliveries: Deliveries,
    settings: BenchSettings,
    compression: bool,
    probe: LeanClient,
) -> Phase:
    """``talkers`` clients join, talk at ``talker_rate`` lines/s each, then leave."""
    talkers = await connect_many(server.port, "t", settings.talkers, deliveries, compression)
    try:
        await wait_until_quiet(server.pid)
        rate = settings.talker_rate * len(talkers)
        return await run_phase(server, talkers, deliveries, settings, rate, probe)
    finally:
        for talker in talkers:
            talker.abort()
        await wait_until_quiet(server.pid)


async def run_session(
    label: str,
    variant: str,
    compression: bool,
    clients: int,
    round_: int,
    settings: BenchSettings,
    server_cpus: set[int] | None = None,
) -> Session:
    """Start the server (on ``server_cpus``), measure idle memory, run the phases, stop."""
    profile = None
    if settings.profile is not None:
        profile = Path(settings.profile) / f"{label}-{clients}.prof"
    server = ServerProcess(variant, compression, server_cpus, profile)
    deliveries = Deliveries()
    connections: list[LeanClient] = []
    try:
        await server.start()
        await wait_until_quiet(server.pid)
        rss_empty = rss_bytes(server.pid)
        # Receiver 0 is the one that stalls in the last phase.
        stalling = await connect_client(server.port, "r0", deliveries, compression)
        connections.append(stalling)
        connections += await connect_many(
            server.port, "r", clients - 1, deliveries, compression, first_index=1
        )
        # The senders' own Deliveries: what they receive back is not counted.
        senders = await connect_many(server.port, "s", settings.senders, Deliveries(), compression)
        probe = connections[-1]
        connections += senders
        await wait_until_quiet(server.pid)
        server.sends = await SendCounter.start(server.pid, lambda: deliveries.total)
        idle = (rss_bytes(server.pid) - rss_empty) / len(connections) / 1024
        session = Session(label, variant, compression, clients, round_, round(idle, 1))
        rate = settings.paced_deliveries / clients
        phases = session.phases
        if settings.talkers and clients in settings.classroom_clients:
            phases["classroom"] = await run_classroom(
                server, deliveries, settings, compression, probe
            )
        if clients in settings.human_clients:
            phases["human"] = await run_phase(
                server, senders[:1], deliveries, settings, settings.human_rate, probe
            )
        phases["paced"] = await run_phase(server, senders, deliveries, settings, rate, probe)
        phases["saturating"] = await run_phase(server, senders, deliveries, settings, None, probe)
        session.receivers_closed_early = sum(c.is_closed for c in connections[:clients])
        if clients in settings.stalled_clients:
            stalling.stall(STALLED_RECEIVE_BUFFER)
            received_at_stall = probe.received
            phase = await run_phase(
                server,
                senders,
                deliveries,
                settings,
                None,
                probe,
                settings.stalled_duration,
                settings.stalled_warmup,
                lambda: stall_holds(probe, received_at_stall),
            )
            phases["stalled"] = phase
            # Still stalled, at the paced load: the others' latency, to compare with "paced".
            phases["stalled_paced"] = await run_phase(
                server, senders, deliveries, settings, rate, probe
            )
            stalling.unstall()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stalling.closed), 0.3)
            phase.stalled_reader_cut = stalling.is_closed
        return session
    finally:
        # The server goes first. Had its clients dropped first, the lines still queued in it
        # would go to dropped connections, and asyncio logs a warning for each such write:
        # a quarter of a profiled server's time, on a busy machine.
        await server.stop()
        for connection in connections:
            connection.abort()
        if server.sends is not None:
            await server.sends.stop()


def runnable(settings: BenchSettings) -> list[tuple[str, str, bool]]:
    """The configurations chosen whose variant can run here (its packages are installed)."""
    return [
        configuration
        for configuration in CONFIGURATIONS
        if configuration[0] in settings.configurations and missing_package(configuration[1]) is None
    ]


def skipped(settings: BenchSettings) -> list[str]:
    """One line for each configuration chosen that cannot run here, saying why."""
    return [
        f"Skipping {label}: it needs {missing_package(variant)} (pip install -e '.[bench]')."
        for label, variant, _ in CONFIGURATIONS
        if label in settings.configurations and missing_package(variant) is not None
    ]


def plan(settings: BenchSettings) -> list[tuple[int, int, str, str, bool]]:
    """Every session to run, in order: (round, clients, label, variant, compression).

    Odd rounds run the configurations in reverse order (chat, broadcast, ..., then ...,
    broadcast, chat): a load on the machine that slowly rises or falls then favours no variant.
    """
    chosen = runnable(settings)
    return [
        (round_, clients, label, variant, compression)
        for round_ in range(settings.rounds)
        for clients in settings.clients
        for label, variant, compression in (chosen[::-1] if round_ % 2 else chosen)
    ]


def split_cores() -> tuple[set[int], set[int]] | None:
    """A core for the load and another for the server; ``None`` with fewer than two.

    Left to the scheduler, the server and the load sometimes share a core for a while, and
    the latencies of that session double: measured, p50 0.66 ms free, 0.41 ms pinned, for the
    bare room at 100 clients. Other programs may still use either core.
    """
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    return {available[0]}, {available[-1]}


async def run_benchmark(
    settings: BenchSettings, progress: Callable[[int, int, str], None] | None = None
) -> dict:
    """Run every session; return the results as a JSON-ready dict (see ``report``).

    A first, shorter session is run and thrown away: the first session of a run was always
    the slowest (paced p99 about twice the others', whichever variant came first), as the
    load's code, memory and sockets warmed up.
    """
    cores = split_cores() if settings.pin else None
    every_cpu = os.sched_getaffinity(0)
    load_cpus, server_cpus = cores if cores is not None else (every_cpu, None)
    os.sched_setaffinity(0, load_cpus)
    try:
        sessions = []
        steps = plan(settings)
        _, clients, label, variant, compression = steps[0]
        if progress is not None:
            progress(0, len(steps), f"warming up: {label}, {clients} clients")
        warm_up = replace(settings, warmup=0.1, duration=0.3, stalled_clients=())
        await run_session(label, variant, compression, clients, -1, warm_up, server_cpus)
        for index, (round_, clients, label, variant, compression) in enumerate(steps):
            if progress is not None:
                progress(index, len(steps), f"{label}, {clients} clients, round {round_ + 1}")
            session = await run_session(
                label, variant, compression, clients, round_, settings, server_cpus
            )
            sessions.append(asdict(session))
        if progress is not None:
            progress(len(steps), len(steps), "done")
    finally:
        os.sched_setaffinity(0, every_cpu)
    return {"settings": asdict(settings), "sessions": sessions}
