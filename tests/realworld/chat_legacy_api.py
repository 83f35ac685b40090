"""Chat server written for websockets 10: the legacy package, path argument, sends in a loop."""
import asyncio
from websockets.exceptions import ConnectionClosed
from websockets.legacy.server import serve

NAMES = {}


async def chat(websocket, path):
    name = await websocket.recv()
    NAMES[websocket] = name
    try:
        async for message in websocket:
            for other in list(NAMES):
                if other is not websocket:
                    await other.send(f"[{name}]: {message}")
    except ConnectionClosed:
        pass
    finally:
        NAMES.pop(websocket, None)
        for other in list(NAMES):
            try:
                await other.send(f"[Server]: {name} has left the chat.")
            except ConnectionClosed:
                pass


async def main():
    async with serve(chat, "localhost", 8765):
        await asyncio.Future()

asyncio.run(main())
