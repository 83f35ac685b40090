"""A correct chat client written differently: one class, and a TaskGroup that ends together."""

import argparse
import asyncio
import sys
import threading

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


class Finished(Exception):
    """Raised by either side to end the chat."""


class ChatClient:
    def __init__(self, url, name):
        self.url, self.name = url, name
        self.typed = asyncio.Queue()

    def read_keyboard(self, loop):
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(self.typed.put_nowait, line or None)
            if not line:
                return

    async def listen(self, websocket):
        try:
            while True:
                print(await websocket.recv(), flush=True)
        except ConnectionClosed:
            print("*** the server has gone ***", flush=True)
        raise Finished

    async def talk(self, websocket):
        while (line := await self.typed.get()) is not None:
            if line.strip() == "/quit":
                break
            await websocket.send(line.rstrip("\r\n"))
        raise Finished

    async def run(self):
        try:
            websocket = await connect(self.url)
        except OSError:
            print(f"error: could not connect to {self.url}", file=sys.stderr)
            return 1
        loop = asyncio.get_running_loop()
        threading.Thread(target=self.read_keyboard, args=(loop,), daemon=True).start()
        if self.name:
            await websocket.send(self.name)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.listen(websocket))
                group.create_task(self.talk(websocket))
        except* Finished:
            pass
        finally:
            await websocket.close()
        return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="ws://localhost:8765")
    parser.add_argument("--name", default=None)
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(ChatClient(args.url, args.name).run()))
    except KeyboardInterrupt:
        sys.exit(0)
