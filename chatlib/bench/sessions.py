"""One benchmark session: a server variant, N receivers, and three loads in a row.

A session starts the server in a process of its own, measures its memory before and after N
idle clients connect, then runs three phases, each bounded in time:

- ``paced``: the senders send at a fixed total rate (``paced_deliveries`` per second once
  fanned out), far below the limit: what latency looks like at an ordinary load;
- ``saturating``: the senders send as fast as the server reads: the most it can deliver;
- ``stalled``: the same flat-out load while one receiver has stopped reading.

Sessions of every variant run one after the other for each number of clients, and the whole
sequence repeats ``rounds`` times: interleaved, so that a noisy moment on the machine hits
every variant alike and their ratios stay comparable.
"""

import asyncio
import contextlib
import signal
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from chatlib.bench.load import (
    Deliveries,
    LeanClient,
    connect_client,
    connect_many,
    send_flat_out,
    send_paced,
)
from chatlib.bench.measure import LatencySummary, cpu_seconds, rss_bytes

# (label, variant, compression): what the table's rows compare.
CONFIGURATIONS = (
    ("chat", "chat", False),
    ("broadcast", "broadcast", False),
    ("sequential", "sequential", False),
    ("gather", "gather", False),
    ("broadcast+deflate", "broadcast", True),
)
READ_PAUSE = 0.005  # seconds between two reads of one receiver, under a flat-out load
WINDOW = 256  # messages in flight under a flat-out load: enough to keep any server busy


@dataclass
class BenchSettings:
    """How big and how long the benchmark is."""

    clients: tuple[int, ...] = (10, 100, 500, 1000)
    senders: int = 1
    warmup: float = 0.5  # seconds of each phase not measured
    duration: float = 2.0  # seconds measured in each phase
    paced_deliveries: int = 20_000  # deliveries per second in the paced phase
    rounds: int = 3
    # Sizes that also run the stalled phase. The kernel first holds ~3 MB for a reader that
    # stopped; at 10 clients each one receives ~4 MB/s flat out, so that fills in a second.
    stalled_clients: tuple[int, ...] = (10, 100)
    stalled_duration: float = 3.0
    configurations: tuple[str, ...] = tuple(label for label, _, _ in CONFIGURATIONS)

    @classmethod
    def quick(cls) -> "BenchSettings":
        return cls(
            clients=(10, 100),
            warmup=0.1,
            duration=0.4,
            rounds=1,
            stalled_clients=(10,),
            stalled_duration=1.0,
        )

    @classmethod
    def smallest(cls) -> "BenchSettings":
        return cls(
            clients=(10,),
            warmup=0.1,
            duration=0.3,
            rounds=1,
            stalled_clients=(10,),
            stalled_duration=0.3,
        )


@dataclass
class Phase:
    """What one phase measured."""

    delivered_per_s: float
    latency_ms: LatencySummary
    server_cpu_share: float  # CPU seconds per second: 1.0 is one core, fully busy
    server_cpu_us_per_delivery: float | None
    server_rss_mib_start: float
    server_rss_mib_end: float
    messages_sent: int
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


class ServerProcess:
    """A variant's server, started as ``python -m chatlib.bench.variants``."""

    def __init__(self, variant: str, compression: bool) -> None:
        self.args = [sys.executable, "-m", "chatlib.bench.variants", variant]
        self.args += ["--compression", "deflate" if compression else "none"]
        self.process: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            stdin=asyncio.subprocess.DEVNULL,
        )
        line = await asyncio.wait_for(self.process.stdout.readline(), 15)
        self.port = int(line.decode().rsplit(":", 1)[1].split()[0])

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s: the server never outlives its session."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


async def wait_until_quiet(pid: int, limit: float = 15.0) -> None:
    """Wait until the server uses less than 10% of a core (joins announced, buffers drained)."""
    deadline = time.monotonic() + limit
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = cpu_seconds(pid)
        if now - before < 0.011:
            return
        before = now


def mib(size: int) -> float:
    return round(size / 2**20, 2)


async def run_phase(
    server: ServerProcess,
    senders: list[LeanClient],
    deliveries: Deliveries,
    settings: BenchSettings,
    rate: float | None,
    probe: LeanClient,
    duration: float | None = None,
) -> Phase:
    """Send for warmup + duration seconds (at ``rate`` messages/s, or flat out if ``None``)."""
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
    await asyncio.sleep(settings.warmup)
    deliveries.reset()
    cpu_start, started = cpu_seconds(server.pid), time.monotonic()
    deliveries.recording = True
    await asyncio.sleep(duration or settings.duration)
    deliveries.recording = False
    elapsed, cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu_start
    stop.set()
    sent = sum(await asyncio.gather(*tasks))
    phase = Phase(
        delivered_per_s=round(deliveries.count / elapsed),
        latency_ms=LatencySummary.of(deliveries.latencies),
        server_cpu_share=round(cpu / elapsed, 2),
        server_cpu_us_per_delivery=(
            round(cpu / deliveries.count * 1e6, 2) if deliveries.count else None
        ),
        server_rss_mib_start=mib(rss_start),
        server_rss_mib_end=mib(rss_bytes(server.pid)),
        messages_sent=sent,
    )
    await wait_until_quiet(server.pid, limit=3)
    return phase


async def run_session(
    label: str,
    variant: str,
    compression: bool,
    clients: int,
    round_: int,
    settings: BenchSettings,
) -> Session:
    """Start the server, measure idle memory, run the phases, stop everything."""
    server = ServerProcess(variant, compression)
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
        idle = (rss_bytes(server.pid) - rss_empty) / len(connections) / 1024
        session = Session(label, variant, compression, clients, round_, round(idle, 1))
        rate = settings.paced_deliveries / clients
        phases = session.phases
        phases["paced"] = await run_phase(server, senders, deliveries, settings, rate, probe)
        phases["saturating"] = await run_phase(server, senders, deliveries, settings, None, probe)
        if clients in settings.stalled_clients:
            stalling.stall()
            phase = await run_phase(
                server, senders, deliveries, settings, None, probe, settings.stalled_duration
            )
            stalling.unstall()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stalling.closed), 0.5)
            phase.stalled_reader_cut = stalling.is_closed
            session.phases["stalled"] = phase
        return session
    finally:
        for connection in connections:
            connection.abort()
        await server.stop()


def plan(settings: BenchSettings) -> list[tuple[int, int, str, str, bool]]:
    """Every session to run, in order: (round, clients, label, variant, compression)."""
    chosen = [c for c in CONFIGURATIONS if c[0] in settings.configurations]
    return [
        (round_, clients, label, variant, compression)
        for round_ in range(settings.rounds)
        for clients in settings.clients
        for label, variant, compression in chosen
    ]


async def run_benchmark(
    settings: BenchSettings, progress: Callable[[int, int, str], None] | None = None
) -> dict:
    """Run every session; return the results as a JSON-ready dict (see ``report``)."""
    sessions = []
    steps = plan(settings)
    for index, (round_, clients, label, variant, compression) in enumerate(steps):
        if progress is not None:
            progress(index, len(steps), f"{label}, {clients} clients, round {round_ + 1}")
        session = await run_session(label, variant, compression, clients, round_, settings)
        sessions.append(asdict(session))
    if progress is not None:
        progress(len(steps), len(steps), "done")
    return {"settings": asdict(settings), "sessions": sessions}


def median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None
