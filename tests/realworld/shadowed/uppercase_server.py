"""Uppercase server, the syllabus' way: fixed localhost:8765, its own banner, no options."""
import asyncio
import websockets


async def handler(websocket):
    async for message in websocket:
        await websocket.send(message.upper())


async def main():
    async with websockets.serve(handler, "localhost", 8765):
        print("Server started on localhost:8765")
        await asyncio.Future()  # run forever


asyncio.run(main())
