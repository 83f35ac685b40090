"""Chat server that fans out with asyncio.wait() on a list of coroutines (refused since 3.11)."""
import asyncio
from websockets.asyncio.server import serve

USERS = {}


async def send_all(message, skip=None):
    targets = [ws for ws in USERS if ws is not skip]
    if targets:
        await asyncio.wait([ws.send(message) for ws in targets])


async def handler(websocket):
    name = await websocket.recv()
    USERS[websocket] = name
    try:
        async for message in websocket:
            await send_all(f"[{name}]: {message}", skip=websocket)
    finally:
        del USERS[websocket]
        await send_all(f"[Server]: {name} has left the chat.")


async def main():
    async with serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
