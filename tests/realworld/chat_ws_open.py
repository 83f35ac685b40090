"""Chat server that checks websocket.open before sending (gone from the new API)."""
import asyncio
import websockets

USERS = {}


async def handler(websocket):
    name = await websocket.recv()
    USERS[websocket] = name
    try:
        async for message in websocket:
            for ws in list(USERS):
                if ws is not websocket and ws.open:
                    await ws.send(f"[{name}]: {message}")
    finally:
        del USERS[websocket]
        for ws in list(USERS):
            await ws.send(f"[Server]: {name} has left the chat.")


async def main():
    async with websockets.serve(handler, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
