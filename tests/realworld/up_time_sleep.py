"""Uppercase server that "simulates work" with time.sleep."""
import asyncio
import time

import websockets


async def handler(websocket):
    async for message in websocket:
        time.sleep(1)  # processing...
        await websocket.send(message.upper())


async def main():
    async with websockets.serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
