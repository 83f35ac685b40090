"""``python -m chatlib.course.bench.scaling``: what a second process, and Redis, cost and buy.

Three set-ups of chatlib's chat server, each fed the same flat-out load:

- ``1 process``: one server, no Redis: the yardstick;
- ``1 process + Redis``: the same server with ``--redis``: what publishing every event costs;
- ``2 processes + Redis``: two servers sharing one room, the receivers split evenly between
  them and one sender on each.

The load runs in processes of its own, so that it is never the bound: the receivers in
``--load-processes`` processes (:mod:`chatlib.course.bench.receivers`, which count bytes rather
than parse frames), the two senders in this one. For each set-up it prints deliveries per
second (the median of ``--rounds`` interleaved rounds) and where the CPU went, in cores:
each server, Redis, the load, and the rest of the machine. On a machine with fewer cores
than servers + Redis + load need, they compete for the cores: the ratio of two processes to
one says what a second process buys *on this machine*, and the CPU figures say why.
"""

import argparse
import asyncio
import contextlib
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from chatlib.chat_server import chat_line
from chatlib.course.bench.load import (
    MESSAGE_SIZE,
    Deliveries,
    LeanClient,
    chat_message,
    connect_client,
    frame,
)
from chatlib.course.bench.measure import cpu_seconds, machine_busy_seconds
from chatlib.course.bench.sessions import READ_PAUSE, ServerProcess, wait_until_quiet
from chatlib.course.redis_process import RedisNotStarted, RedisServer
from chatlib.serving import LOOPBACK
from chatlib.websockets_internals import text_frame

SETUPS = ("1 process", "1 process + Redis", "2 processes + Redis")
NO_FLOOD_LIMIT = "1000000000"  # Two senders talk for a whole class: lift the flood guard.
SENDERS = ("s0", "s1")  # Names of one length: every chat line a receiver reads has one size.
WARMUP = 0.5  # seconds of flat-out load before the measurement starts
READY_TIMEOUT = 60  # seconds for a receiver process to connect all its receivers
# Lines on their way at most, flat out. Measured, one process and 200 receivers: 256 (the
# fan-out benchmark's window) held it back, 1,024 gave 15 % more.
WINDOW = 1024


def chat_server(redis_url: str | None) -> ServerProcess:
    """chatlib's chat server on any free port, with or without a shared room."""
    server = ServerProcess("chat", False)
    server.args = [sys.executable, "-m", "chatlib", "chat-server", "--host", LOOPBACK]
    server.args += ["--port", "0", "--flood-messages", NO_FLOOD_LIMIT, "--log-level", "WARNING"]
    if redis_url is not None:
        server.args += ["--redis", redis_url]
    return server


def delivery_size() -> int:
    """Bytes of one delivery as a receiver reads it: a sender's chat line, framed."""
    return len(text_frame(chat_line(SENDERS[0], "x" * MESSAGE_SIZE)))


class ReceiverProcess:
    """``python -m chatlib.course.bench.receivers``: receivers in a process of their own."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, ports: list[int], prefix: str, count: int) -> "ReceiverProcess":
        """Start ``count`` receivers spread over ``ports``; return once all have joined."""
        args = [sys.executable, "-m", "chatlib.course.bench.receivers", "--prefix", prefix]
        args += ["--count", str(count), *(f"--port={port}" for port in ports)]
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        receivers = cls(process)
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT)
        if line.strip() != b"ready":
            await receivers.stop()
            raise RuntimeError(f"the receivers did not start ({prefix}: {line!r})")
        return receivers

    @property
    def pid(self) -> int:
        return self.process.pid

    async def bytes_read(self) -> int:
        """Bytes its receivers have read so far."""
        self.process.stdin.write(b"mark\n")
        return int(await asyncio.wait_for(self.process.stdout.readline(), 10))

    async def stop(self) -> None:
        """Close its input (it drops its connections and exits); kill it after 5 s."""
        if self.process.returncode is not None:
            return
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def send_flat_out(senders: list[LeanClient], probes: list[LeanClient], stop) -> int:
    """The senders take turns, as fast as the room delivers, until ``stop``; return how many
    messages they sent.

    At most ``WINDOW`` messages are on their way: counted at the probe that has received
    the fewest, one receiver per server, so that lines crossing through Redis to the other
    server never pile up behind the local ones.
    """
    sent, already = 0, [probe.received for probe in probes]
    while not stop.is_set():
        received = min(
            probe.received - before for probe, before in zip(probes, already, strict=True)
        )
        if sent - received >= WINDOW:
            await asyncio.sleep(0.0002)
            continue
        sender = senders[sent % len(senders)]
        sender.transport.write(frame(0x1, chat_message(time.monotonic_ns())))
        sent += 1
        if sent % 4 == 0:
            await sender.can_write.wait()
            await asyncio.sleep(0)  # Let the probes read.
    return sent


@dataclass
class Stage:
    """What runs during one set-up: the servers, Redis and the load, as process ids."""

    servers: list[int]
    redis: list[int]
    load: list[int]

    def cpu(self) -> tuple[float, list[float], list[float], list[float]]:
        """Now: the machine's busy CPU seconds, and each process's CPU seconds."""
        return (
            machine_busy_seconds(),
            [cpu_seconds(pid) for pid in self.servers],
            [cpu_seconds(pid) for pid in self.redis],
            [cpu_seconds(pid) for pid in self.load],
        )


def cores(before: list[float], after: list[float], elapsed: float) -> list[float]:
    """CPU seconds used between two readings, as cores (1.0: one core, fully busy)."""
    return [round((end - start) / elapsed, 2) for start, end in zip(before, after, strict=True)]


async def measure(
    setup: str, redis: RedisServer, receivers: int, load_processes: int, duration: float
) -> dict:
    """Run one set-up flat out for ``duration`` s: deliveries per second and CPU per process."""
    count = 2 if setup.startswith("2") else 1
    servers = [chat_server(None if setup == "1 process" else redis.url) for _ in range(count)]
    workers: list[ReceiverProcess] = []
    clients: list[LeanClient] = []
    try:
        for server in servers:
            await server.start()
        ports = [server.port for server in servers]
        shares = [receivers // load_processes] * load_processes
        shares[0] += receivers - sum(shares)
        workers = [
            await ReceiverProcess.start(ports, f"r{index}-", share)
            for index, share in enumerate(shares)
        ]
        probed = Deliveries()
        probes = [
            await connect_client(port, f"p{i}", probed, False) for i, port in enumerate(ports)
        ]
        senders = [
            await connect_client(ports[index % count], name, Deliveries(), False)
            for index, name in enumerate(SENDERS)
        ]
        clients = probes + senders
        for server in servers:
            await wait_until_quiet(server.pid)
        stop = asyncio.Event()
        probed.read_pause = READ_PAUSE
        sending = asyncio.create_task(send_flat_out(senders, probes, stop))
        await asyncio.sleep(WARMUP)
        stage = Stage(
            [server.pid for server in servers],
            [redis.program.process.pid] if setup != "1 process" else [],
            [os.getpid(), *(worker.pid for worker in workers)],
        )
        read_before = await asyncio.gather(*(worker.bytes_read() for worker in workers))
        probed_before, cpu_before, started = probed.total, stage.cpu(), time.monotonic()
        lines_before = probes[0].received
        await asyncio.sleep(duration)
        read_after = await asyncio.gather(*(worker.bytes_read() for worker in workers))
        probed_after, cpu_after, elapsed = probed.total, stage.cpu(), time.monotonic() - started
        lines = probes[0].received - lines_before
        stop.set()
        await sending
        read = sum(after - before for before, after in zip(read_before, read_after, strict=True))
        delivered = read / delivery_size() + probed_after - probed_before
        busy = (cpu_after[0] - cpu_before[0]) / elapsed
        shares = [
            cores(before, after, elapsed)
            for before, after in zip(cpu_before[1:], cpu_after[1:], strict=True)
        ]
        return {
            "setup": setup,
            "receivers": receivers,
            "delivered_per_s": round(delivered / elapsed),
            "lines_per_s": round(lines / elapsed),
            # The servers' CPU time per chat line, all servers together: its fan-out to
            # every receiver, plus, with Redis, publishing it or reading it back.
            "servers_us_per_line": round(sum(shares[0]) * elapsed / lines * 1e6, 1)
            if lines
            else None,
            "servers_cpu": shares[0],
            "redis_cpu": sum(shares[1]),
            "load_cpu": shares[2],
            "others_cpu": round(max(0.0, busy - sum(map(sum, shares))), 2),
        }
    finally:
        for client in clients:
            client.abort()
        for worker in workers:
            await worker.stop()
        for server in servers:
            await stop_gracefully(server)


async def stop_gracefully(server: ServerProcess) -> None:
    """SIGTERM, so that a shared room frees its names in Redis; SIGKILL after 5 s.

    A server killed outright keeps its members' names reserved until they expire (6 s),
    and the next set-up's clients, with the same names, would be refused.
    """
    if server.process is None or server.process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        server.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(server.process.wait(), 5)
    except TimeoutError:
        await server.stop()


async def run(receivers: int, load_processes: int, rounds: int, duration: float) -> list[dict]:
    """Every set-up, ``rounds`` times, in alternating order (a drifting machine favours none)."""
    with tempfile.TemporaryDirectory(prefix="chatlib-bench-redis-") as folder:
        try:
            redis = RedisServer(folder)
            await redis.start()
        except RedisNotStarted as error:
            raise SystemExit(f"Cannot measure with Redis: {error}") from None
        results = []
        try:
            for round_ in range(rounds):
                for setup in SETUPS if round_ % 2 == 0 else SETUPS[::-1]:
                    print(f"[round {round_ + 1}/{rounds}] {setup}", file=sys.stderr, flush=True)
                    results.append(await measure(setup, redis, receivers, load_processes, duration))
        finally:
            await redis.stop()
    return results


def median_of(results: list[dict], setup: str, key: str) -> float:
    """The median over rounds of one figure (a list is summed first) of one set-up."""
    values = [r[key] for r in results if r["setup"] == setup and r[key] is not None]
    if not values:  # No round measured it (a run too short to see one line): nan, not a crash.
        return math.nan
    return statistics.median(sum(v) if isinstance(v, list) else v for v in values)


def summary(results: list[dict]) -> str:
    """One line per set-up (medians over rounds), then what two processes and Redis do."""
    lines = [
        "Flat out: deliveries and chat lines per second, the servers' CPU time per line (all",
        "servers together), and CPU in cores (1.0: one core fully busy); medians of"
        f" {len(results) // len(SETUPS)} round(s).",
        "'load': the receivers' processes and the senders'; 'others': the rest of the machine.",
        f"{'set-up':<20}{'deliveries/s':>13}{'lines/s':>9}{'us/line':>9}{'servers':>9}"
        f"{'Redis':>7}{'load':>7}{'others':>8}  busiest load process",
    ]
    medians = {setup: median_of(results, setup, "delivered_per_s") for setup in SETUPS}
    for setup in SETUPS:
        figures = [
            median_of(results, setup, key)
            for key in ("lines_per_s", "servers_us_per_line", "servers_cpu", "redis_cpu")
        ]
        figures += [median_of(results, setup, key) for key in ("load_cpu", "others_cpu")]
        busiest = max(max(r["load_cpu"]) for r in results if r["setup"] == setup)
        lines.append(
            f"{setup:<20}{medians[setup]:>13,.0f}{figures[0]:>9,.0f}{figures[1]:>9.1f}"
            + "".join(
                f"{value:>{width}.2f}"
                for value, width in zip(figures[2:], (9, 7, 7, 8), strict=True)
            )
            + f"  {busiest:.2f}"
        )
    two = medians["2 processes + Redis"] / medians["1 process"]
    redis = medians["1 process + Redis"] / medians["1 process"]
    lines.append(
        f"two processes / one: x{two:.2f}; one process with Redis / without: x{redis:.2f}"
        f" ({os.cpu_count()} cores on this machine)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure the three set-ups as the command line asks, and print the summary."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib.course.bench.scaling", description=__doc__
    )
    parser.add_argument("--receivers", type=int, default=200, help="receiving clients in all")
    parser.add_argument(
        "--load-processes", type=int, default=2, help="processes the receivers run in"
    )
    parser.add_argument("--rounds", type=int, default=3, help="times each set-up is measured")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds measured per run")
    args = parser.parse_args(argv)
    if sys.platform != "linux":
        parser.error("the benchmark reads /proc: it runs on Linux only")
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(args.receivers, args.load_processes, args.rounds, args.duration))
        print(summary(results))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
