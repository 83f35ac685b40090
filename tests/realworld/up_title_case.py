"""Uppercase server that capitalises words instead."""
import asyncio
import websockets


async def handler(websocket):
    async for message in websocket:
        await websocket.send(message.title())


async def main():
    async with websockets.serve(handler, "localhost", 8765):
        print("running")
        await asyncio.Future()

asyncio.run(main())
