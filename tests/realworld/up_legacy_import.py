"""Uppercase server from a websockets 10 tutorial: legacy import, (websocket, path) handler."""
import asyncio
from websockets.server import serve


async def echo(websocket, path):
    async for message in websocket:
        await websocket.send(message.upper())


async def main():
    async with serve(echo, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
