"""Chat server that announces departures in its own words."""
import asyncio
from websockets.asyncio.server import broadcast, serve

USERS = {}


async def handler(websocket):
    name = await websocket.recv()
    USERS[websocket] = name
    try:
        async for message in websocket:
            broadcast([ws for ws in USERS if ws is not websocket], f"[{name}]: {message}")
    finally:
        del USERS[websocket]
        broadcast(USERS, f"*** {name} left the room ***")


async def main():
    async with serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
