"""Uppercase server in the style of websockets <= 9: module-level serve()."""
import asyncio
import websockets


async def upper(websocket, path):
    async for message in websocket:
        await websocket.send(message.upper())

start_server = websockets.serve(upper, "localhost", 8765)

asyncio.get_event_loop().run_until_complete(start_server)
asyncio.get_event_loop().run_forever()
