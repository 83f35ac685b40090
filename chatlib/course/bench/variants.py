"""The servers the benchmark compares, each run as a process of its own.

Four of them are written here on purpose, as teaching foils, and nowhere else in chatlib:

- ``broadcast``: a bare room that calls ``broadcast()`` and nothing else. No name rules, no
  limits: the most a websockets server can deliver with its public API, the yardstick.
- ``frame-once``: the bare room with the first half of chatlib's fan-out only: each message
  framed once, the same bytes written to every member at once (one write per message per
  member, no gathering per loop pass). It measures what framing once saves on its own.
- ``sequential``: the syllabus' loop, ``for ws in clients: await ws.send(message)`` (over a
  snapshot, the fix from notebook 03).
- ``gather``: one task per send, ``await asyncio.gather(*(ws.send(m) for ws in clients))``.

``chat`` is chatlib's own chat server, unchanged except for its flood guard: one benchmark
sender stands for a whole class talking at once, so it may send without limit. ``aiohttp``
is the peer: the same chat as aiohttp's own example writes it (:mod:`chatlib.course.bench.peers`),
run only when aiohttp is installed (the ``bench`` extra).
Every variant speaks the same protocol: a client's first message is its name; each later
message goes to every member (the sender too, except in ``chat`` and ``aiohttp``).

Run one by hand: ``python -m chatlib.course.bench.variants chat --port 0 [--compression deflate]``.
"""

import argparse
import asyncio
import contextlib
import importlib.util
import socket

from websockets.asyncio.server import ServerConnection, broadcast

from chatlib.chat_server import ChatLimits, ChatRoom, ChatServer, serve_options
from chatlib.serving import LOOPBACK, run_until_interrupted, serve_until_stopped
from chatlib.websockets_internals import text_frame, writable, write_frames

# The kernel's send buffer of every connection, the same for every variant. Left to itself,
# Linux grows it up to 4 MiB per connection on 127.0.0.1, so that a reader that stops hides
# megabytes in the kernel before any server sees its own buffer grow: seconds or minutes in
# which no variant shows what a stalled reader does to it. (Over a real network a slow link
# fills the buffers sooner.) Readers that keep up never fill it, so the figures do not move.
SEND_BUFFER = 16 * 1024

# The chat server's limits in the benchmark: no flood guard (see the docstring), and a
# smaller buffer limit so that a run of a few seconds reaches it when a reader stalls. The
# default, 1 MiB, cuts the same client the same way, only later.
BENCH_LIMITS = ChatLimits(flood_messages=10**9, max_buffer=64 * 1024)


class BareRoom:
    """The yardstick: ``broadcast()`` to every member, nothing else."""

    def __init__(self) -> None:
        self.clients: set[ServerConnection] = set()

    async def handler(self, websocket: ServerConnection) -> None:
        await websocket.recv()  # The name, as in the chat; unused.
        self.clients.add(websocket)
        try:
            async for message in websocket:
                self.fan_out(message)
        except Exception:  # A benchmark server keeps going, whatever a client does.
            pass
        finally:
            self.clients.discard(websocket)

    def fan_out(self, message: str) -> None:
        """Write ``message`` to every member, without waiting."""
        broadcast(self.clients, message)


class FramedOnceRoom(BareRoom):
    """Frame once, write the same bytes to every member at once: one write per member each."""

    def fan_out(self, message: str) -> None:
        frame = text_frame(message)
        for client in self.clients:
            if writable(client):
                write_frames(client, frame)


class SequentialRoom(BareRoom):
    """The syllabus' loop: one ``await send`` after the other. One slow reader stalls all."""

    async def handler(self, websocket: ServerConnection) -> None:
        await websocket.recv()
        self.clients.add(websocket)
        try:
            async for message in websocket:
                for client in list(self.clients):
                    # A client that closed meanwhile must not stop the loop.
                    with contextlib.suppress(Exception):
                        await client.send(message)
        except Exception:
            pass
        finally:
            self.clients.discard(websocket)


class GatherRoom(BareRoom):
    """One task per send, all awaited together: concurrent, but one task per recipient."""

    async def handler(self, websocket: ServerConnection) -> None:
        await websocket.recv()
        self.clients.add(websocket)
        try:
            async for message in websocket:
                sends = (client.send(message) for client in list(self.clients))
                await asyncio.gather(*sends, return_exceptions=True)
        except Exception:
            pass
        finally:
            self.clients.discard(websocket)


def make_handler(variant: str):
    """The connection handler of ``variant``, with the benchmark's kernel send buffer."""
    if variant == "chat":
        handler = ChatServer(ChatRoom(BENCH_LIMITS)).handler
    else:
        rooms = {
            "broadcast": BareRoom,
            "frame-once": FramedOnceRoom,
            "sequential": SequentialRoom,
            "gather": GatherRoom,
        }
        handler = rooms[variant]().handler

    async def handler_with_send_buffer(websocket: ServerConnection) -> None:
        sock = websocket.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        await handler(websocket)

    return handler_with_send_buffer


VARIANTS = ("chat", "broadcast", "frame-once", "sequential", "gather", "aiohttp")
# The variants that need a package chatlib does not depend on, and which one.
OPTIONAL_PACKAGES = {"aiohttp": "aiohttp"}


def missing_package(variant: str) -> str | None:
    """The optional package ``variant`` needs and that is not installed, or ``None``."""
    package = OPTIONAL_PACKAGES.get(variant)
    if package is not None and importlib.util.find_spec(package) is None:
        return package
    return None


def server_options(variant: str, compression: bool) -> dict:
    """``serve()`` options: the chat server's own, or the library defaults for the foils."""
    options = serve_options(BENCH_LIMITS) if variant == "chat" else {}
    options["compression"] = "deflate" if compression else None
    return options


async def main(variant: str, port: int, compression: bool) -> None:
    """Serve ``variant`` on 127.0.0.1:``port`` until SIGTERM or Ctrl-C."""
    if variant == "aiohttp":
        from chatlib.course.bench.peers import serve_aiohttp  # Imported only when installed.

        await serve_aiohttp(port, SEND_BUFFER, compression)
        return
    await serve_until_stopped(
        make_handler(variant),
        LOOPBACK,
        port,
        title=f"Bench {variant}",
        **server_options(variant, compression),
    )


def cli(argv: list[str] | None = None) -> int:
    """Serve one variant on 127.0.0.1 until killed; print its port first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--compression", choices=["none", "deflate"], default="none")
    args = parser.parse_args(argv)
    missing = missing_package(args.variant)
    if missing is not None:
        parser.error(f"{args.variant} needs {missing}: pip install -e '.[bench]'")
    return run_until_interrupted(main(args.variant, args.port, args.compression == "deflate"))


if __name__ == "__main__":
    raise SystemExit(cli())
