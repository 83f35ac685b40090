"""Chat server from a pre-13 tutorial: handler(websocket, path)."""
import asyncio
import websockets

USERS = {}


async def chat(websocket, path):
    name = await websocket.recv()
    USERS[websocket] = name
    try:
        async for message in websocket:
            websockets.broadcast([u for u in USERS if u is not websocket], f"[{name}]: {message}")
    finally:
        del USERS[websocket]
        websockets.broadcast(USERS, f"[Server]: {name} has left the chat.")


async def main():
    async with websockets.serve(chat, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
