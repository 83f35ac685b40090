"""Uppercase server started with an explicit event loop, serve() inside a coroutine."""
import asyncio
import websockets


async def handler(websocket):
    async for message in websocket:
        await websocket.send(message.upper())


async def start():
    await websockets.serve(handler, "127.0.0.1", 8765)
    print("ws://127.0.0.1:8765 ready")

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
loop.run_until_complete(start())
loop.run_forever()
