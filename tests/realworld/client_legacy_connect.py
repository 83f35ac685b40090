"""Chat client from a websockets 10 tutorial: websockets.client.connect, to_thread input."""
import asyncio
import os

from websockets.client import connect


async def main():
    async with connect("ws://localhost:8765") as websocket:
        await websocket.send(await asyncio.to_thread(input, "Name: "))

        async def incoming():
            async for message in websocket:
                print(message)

        task = asyncio.create_task(incoming())
        while True:
            line = await asyncio.to_thread(input)
            if line == "/quit":
                break
            await websocket.send(line)
        task.cancel()
    os._exit(0)

asyncio.run(main())
