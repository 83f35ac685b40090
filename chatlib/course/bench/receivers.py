"""``python -m chatlib.course.bench.receivers``: many receiving clients in a process of their own.

The scale-out benchmark (:mod:`chatlib.course.bench.scaling`) starts a few of these, so that reading
what the servers deliver never bounds what they deliver: the benchmark's own process keeps
only the senders. Each receiver is a :class:`chatlib.course.bench.load.LeanClient` that counts the
bytes it reads instead of parsing frames: in the measured window every frame it gets is one
chat line of the same size, so bytes ÷ that size are deliveries, and a read costs the same
for one frame as for a hundred. Receivers read every ``READ_PAUSE`` seconds, as the fan-out
benchmark's do under a flat-out load.

Protocol on the standard streams: once every receiver has joined it prints ``ready``; for
each line ``mark`` read on stdin it prints the bytes read so far by all its receivers;
at end of input it drops the connections and exits.
"""

import argparse
import asyncio
import sys

from chatlib.course.bench.load import Deliveries, LeanClient, connect_many

READ_PAUSE = 0.01  # seconds between two reads of one receiver


class CountingClient(LeanClient):
    """A receiver that counts the bytes it reads and parses only its handshake."""

    def data_received(self, data: bytes) -> None:
        if not self.open.done():
            super().data_received(data)  # The handshake; nothing is counted yet.
            return
        self.deliveries.total += len(data)
        self.transport.pause_reading()
        self.loop.call_later(READ_PAUSE, self.read_again)


async def connect_counting(
    ports: list[int], prefix: str, count: int, deliveries: Deliveries
) -> list[LeanClient]:
    """``count`` counting receivers named ``prefix<port index>-<n>``, spread evenly over
    ``ports``, adding what they read to ``deliveries.total``."""
    shares = [count // len(ports) + (index < count % len(ports)) for index in range(len(ports))]
    clients = []
    for index, (port, share) in enumerate(zip(ports, shares, strict=True)):
        clients += await connect_many(
            port, f"{prefix}{index}-", share, deliveries, False, client_class=CountingClient
        )
    return clients


async def serve_marks(deliveries: Deliveries) -> None:
    """Answer each ``mark`` on stdin with the bytes read so far; return at end of input."""
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    while (await stdin.readline()).strip() == b"mark":
        print(deliveries.total, flush=True)


async def main(ports: list[int], prefix: str, count: int) -> None:
    """Connect the receivers, answer marks until stdin closes, drop the connections."""
    deliveries = Deliveries()
    clients = await connect_counting(ports, prefix, count, deliveries)
    try:
        await serve_marks(deliveries)
    finally:
        for client in clients:
            client.abort()


def cli(argv: list[str] | None = None) -> int:
    """Run the receivers the command line asks for."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib.course.bench.receivers", description=__doc__
    )
    parser.add_argument("--port", type=int, action="append", required=True, help="a server")
    parser.add_argument("--prefix", default="r", help="the receivers' names start with this")
    parser.add_argument("--count", type=int, required=True, help="receivers in all")
    args = parser.parse_args(argv)
    asyncio.run(main(args.port, args.prefix, args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
