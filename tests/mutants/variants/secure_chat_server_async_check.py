"""A correct secure chat server written differently: an async process_request method on a
class that holds the room, the query string read with parse_qsl, secrets.compare_digest, a
plain 401 status number, and sequential sends under one lock-free loop."""

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
from urllib.parse import parse_qsl, urlparse

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


class Room:
    """The clients of one room, and the token that opens its door."""

    def __init__(self, token):
        self.token = token
        self.members = {}

    async def process_request(self, connection, request):
        sent = dict(parse_qsl(urlparse(request.path).query)).get("token", "")
        if secrets.compare_digest(sent, self.token):
            return None
        return connection.respond(401, "This room needs its token.\n")

    async def tell(self, text, but=None):
        for member in list(self.members):
            if member is not but:
                with contextlib.suppress(ConnectionClosed):
                    await member.send(text)

    async def handler(self, websocket):
        try:
            name = await websocket.recv()
        except ConnectionClosed:
            return
        self.members[websocket] = name
        try:
            while True:
                text = await websocket.recv()
                await self.tell(f"[{name}]: {text}", but=websocket)
        except ConnectionClosed:
            pass
        finally:
            self.members.pop(websocket, None)
            await self.tell(f"[Server]: {name} has left the chat.")


async def main(host, port, token):
    room = Room(token)
    async with serve(room.handler, host, port, process_request=room.process_request) as server:
        print(f"Listening on ws://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    token = os.environ.get("CHAT_TOKEN", "")
    if not token:
        sys.exit("CHAT_TOKEN is not set.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.host, args.port, token))
