"""Uppercase server on the new API, but with the old two-argument handler."""
import asyncio
from websockets.asyncio.server import serve


async def handler(websocket, path):
    print("client connected on", path)
    async for message in websocket:
        await websocket.send(message.upper())


async def main():
    async with serve(handler, "localhost", 8765):
        print("Listening on port 8765...")
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
