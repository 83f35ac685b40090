"""Uppercase server a chat assistant wrote, with a coloured log."""
import asyncio

import websockets
from colorama import Fore


async def handler(websocket):
    async for message in websocket:
        print(Fore.GREEN + message)
        await websocket.send(message.upper())


async def main():
    async with websockets.serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
