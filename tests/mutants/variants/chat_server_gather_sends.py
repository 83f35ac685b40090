"""A correct chat server written differently: a room class, and sends awaited together.

Each line goes to every recipient with ``asyncio.gather(..., return_exceptions=True)``: a
recipient that just left raises ConnectionClosed, which is ignored instead of stopping the
others' delivery.
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


class ChatRoom:
    def __init__(self):
        self.members = {}  # websocket -> name

    async def send_to(self, recipients, line):
        await asyncio.gather(*(ws.send(line) for ws in recipients), return_exceptions=True)

    async def serve_client(self, websocket):
        try:
            name = await websocket.recv()
        except ConnectionClosed:
            return
        self.members[websocket] = name
        try:
            async for message in websocket:
                others = [ws for ws in self.members if ws is not websocket]
                await self.send_to(others, f"[{name}]: {message}")
        except ConnectionClosed:
            pass
        finally:
            del self.members[websocket]
            await self.send_to(list(self.members), f"[Server]: {name} has left the chat.")


async def main(host, port):
    room = ChatRoom()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stopping.set)
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    async with serve(room.serve_client, host, port) as server:
        for sock in server.sockets:
            h, p = sock.getsockname()[:2]
            print(f"listening at ws://{h}:{p}", flush=True)
        await stopping.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    asyncio.run(main(options.host, options.port))
