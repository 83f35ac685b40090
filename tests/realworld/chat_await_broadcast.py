"""Chat server that awaits broadcast(), as many tutorials do."""
import asyncio
from websockets.asyncio.server import broadcast, serve

NAMES = {}


async def handler(websocket):
    name = await websocket.recv()
    NAMES[websocket] = name
    try:
        async for message in websocket:
            others = [ws for ws in NAMES if ws is not websocket]
            await broadcast(others, f"[{name}]: {message}")
    finally:
        del NAMES[websocket]
        broadcast(NAMES, f"[Server]: {name} has left the chat.")


async def main():
    async with serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
