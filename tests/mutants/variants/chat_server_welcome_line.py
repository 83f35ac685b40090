"""A correct chat server written differently: a set of client records, and a plain greeting.

The newcomer alone reads "Welcome to the chat, Bob!" (no [Server] prefix): the assignment
leaves extra lines to the newcomer open.
"""

import argparse
import asyncio
import signal
from dataclasses import dataclass

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed


@dataclass(eq=False)
class Client:
    websocket: object
    name: str


CLIENTS: set[Client] = set()


async def handler(websocket):
    try:
        name = await websocket.recv()
    except ConnectionClosed:
        return
    me = Client(websocket, name)
    CLIENTS.add(me)
    try:
        # Inside the try: a client that leaves at once makes this send raise, and it must
        # still be forgotten (the checker caught a first draft that greeted before the try).
        await websocket.send(f"Welcome to the chat, {name}!")
        async for text in websocket:
            broadcast([c.websocket for c in CLIENTS if c is not me], f"[{name}]: {text}")
    except ConnectionClosed:
        pass
    finally:
        CLIENTS.discard(me)
        broadcast([c.websocket for c in CLIENTS], f"[Server]: {name} has left the chat.")


async def main(host, port):
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set_result, None)
    async with serve(handler, host, port) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Ready. Clients may connect to ws://{host}:{port}", flush=True)
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
