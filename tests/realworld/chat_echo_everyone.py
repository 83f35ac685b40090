"""Chat server that sends every message to everyone, sender included, as "name: text"."""
import asyncio
from websockets.asyncio.server import broadcast, serve

CLIENTS = {}


async def handler(websocket):
    name = await websocket.recv()
    CLIENTS[websocket] = name
    try:
        async for message in websocket:
            broadcast(CLIENTS, f"{name}: {message}")
    finally:
        del CLIENTS[websocket]
        broadcast(CLIENTS, f"[Server]: {name} has left the chat.")


async def main():
    async with serve(handler, "localhost", 8765):
        print("Chat server ready")
        await asyncio.Future()

asyncio.run(main())
