"""``python -m chatlib.bench.scaling``: how close two chat server processes come to twice one.

Three set-ups of chatlib's chat server, each fed the same flat-out load (the benchmark's
lean clients and senders, from :mod:`chatlib.bench.load`):

- ``1 process``: one server, no Redis: the yardstick;
- ``1 process + Redis``: the same server with ``--redis``: what publishing every event costs;
- ``2 processes + Redis``: two servers sharing one room, the receivers split evenly between
  them and one sender on each.

It prints deliveries per second for each (the median of ``--rounds`` interleaved rounds) and
the ratio of two processes to one. Each server, Redis and the load generator are processes
of their own, so on a 2-core machine they compete for the cores: the ratio says what two
processes buy *on this machine*, not on one with a core for each.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time

from chatlib.bench.load import Deliveries, connect_many, send_flat_out
from chatlib.bench.measure import cpu_seconds
from chatlib.bench.sessions import READ_PAUSE, WINDOW, ServerProcess, wait_until_quiet
from chatlib.redis_process import RedisNotStarted, RedisServer

SETUPS = ("1 process", "1 process + Redis", "2 processes + Redis")
NO_FLOOD_LIMIT = "1000000000"  # Two senders talk for a whole class: lift the flood guard.


def chat_server(redis_url: str | None) -> ServerProcess:
    """chatlib's chat server on any free port, with or without a shared room."""
    server = ServerProcess("chat", False)
    server.args = [sys.executable, "-m", "chatlib", "chat-server", "--host", "127.0.0.1"]
    server.args += ["--port", "0", "--flood-messages", NO_FLOOD_LIMIT, "--log-level", "WARNING"]
    if redis_url is not None:
        server.args += ["--redis", redis_url]
    return server


async def measure(setup: str, redis_url: str, receivers: int, duration: float) -> dict:
    """Run one set-up flat out for ``duration`` s; deliveries per second and CPU per process."""
    count = 2 if setup.startswith("2") else 1
    servers = [chat_server(None if setup == "1 process" else redis_url) for _ in range(count)]
    deliveries = Deliveries()
    clients = []
    try:
        for server in servers:
            await server.start()
        ports = [server.port for server in servers]
        for index, port in enumerate(ports):
            clients += await connect_many(port, f"r{index}-", receivers // count, deliveries, False)
        senders = [
            (await connect_many(ports[index % count], f"s{index}-", 1, Deliveries(), False))[0]
            for index in range(2)
        ]
        clients += senders
        for server in servers:
            await wait_until_quiet(server.pid)
        # The probe is the last receiver: on the second process when there are two, so the
        # senders never run ahead of the slower path, through Redis.
        probe = clients[-3]
        stop = asyncio.Event()
        deliveries.read_pause = READ_PAUSE
        tasks = [
            asyncio.create_task(send_flat_out(sender, stop, probe, WINDOW // 2))
            for sender in senders
        ]
        await asyncio.sleep(0.3)  # Warm-up, not measured.
        deliveries.reset()
        cpu_before = [cpu_seconds(server.pid) for server in servers]
        started = time.monotonic()
        deliveries.recording = True
        await asyncio.sleep(duration)
        deliveries.recording = False
        elapsed = time.monotonic() - started
        used = [
            cpu_seconds(server.pid) - before
            for server, before in zip(servers, cpu_before, strict=True)
        ]
        cpu = [seconds / elapsed for seconds in used]
        stop.set()
        await asyncio.gather(*tasks)
        return {
            "setup": setup,
            "receivers": receivers,
            "delivered_per_s": round(deliveries.count / elapsed),
            "server_cpu_share": [round(share, 2) for share in cpu],
        }
    finally:
        for client in clients:
            client.abort()
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


async def run(receivers: int, rounds: int, duration: float) -> list[dict]:
    """Every set-up, ``rounds`` times, in alternating order (a drifting machine favours none)."""
    with tempfile.TemporaryDirectory(prefix="chatlib-bench-redis-") as folder:
        try:
            redis_server = RedisServer(folder)
            await redis_server.start()
        except RedisNotStarted as error:
            raise SystemExit(f"Cannot measure with Redis: {error}") from None
        results = []
        try:
            for round_ in range(rounds):
                for setup in SETUPS if round_ % 2 == 0 else SETUPS[::-1]:
                    print(f"[round {round_ + 1}/{rounds}] {setup}", file=sys.stderr, flush=True)
                    results.append(await measure(setup, redis_server.url, receivers, duration))
        finally:
            await redis_server.stop()
    return results


def summary(results: list[dict]) -> str:
    """One line per set-up (the median over rounds), and the ratio of two processes to one."""
    medians = {
        setup: statistics.median(r["delivered_per_s"] for r in results if r["setup"] == setup)
        for setup in SETUPS
    }
    lines = [f"{'set-up':<22}{'deliveries/s':>14}   server CPU (cores, last round)"]
    for setup in SETUPS:
        last = [r for r in results if r["setup"] == setup][-1]
        lines.append(f"{setup:<22}{medians[setup]:>14,.0f}   {last['server_cpu_share']}")
    ratio = medians["2 processes + Redis"] / medians["1 process"]
    lines.append(f"two processes / one: {ratio:.2f}x ({os.cpu_count()} cores on this machine)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure the three set-ups as the command line asks, and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m chatlib.bench.scaling", description=__doc__)
    parser.add_argument("--receivers", type=int, default=200, help="receiving clients in all")
    parser.add_argument("--rounds", type=int, default=3, help="times each set-up is measured")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds measured per run")
    args = parser.parse_args(argv)
    if sys.platform != "linux":
        parser.error("the benchmark reads /proc: it runs on Linux only")
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(args.receivers, args.rounds, args.duration))
        print(summary(results))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
