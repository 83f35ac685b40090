"""Chat server with an "anti-spam" pause before relaying: 0.3 s, blocking."""
import asyncio
import time
from websockets.asyncio.server import broadcast, serve

USERS = {}


async def handler(websocket):
    name = await websocket.recv()
    USERS[websocket] = name
    try:
        async for message in websocket:
            time.sleep(0.3)  # anti-spam
            broadcast([ws for ws in USERS if ws is not websocket], f"[{name}]: {message}")
    finally:
        del USERS[websocket]
        broadcast(USERS, f"[Server]: {name} has left the chat.")


async def main():
    async with serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
