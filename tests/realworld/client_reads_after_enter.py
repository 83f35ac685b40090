"""Chat client that reads the room only after each line it sends."""
import asyncio

import websockets


async def main():
    async with websockets.connect("ws://localhost:8765") as ws:
        await ws.send(await asyncio.to_thread(input, "Name: "))
        while True:
            line = await asyncio.to_thread(input, "> ")
            if line == "/quit":
                break
            await ws.send(line)
            try:
                while True:
                    print(await asyncio.wait_for(ws.recv(), 0.2))
            except asyncio.TimeoutError:
                pass

asyncio.run(main())
