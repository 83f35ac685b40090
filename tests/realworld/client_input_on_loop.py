"""Chat client that calls input() inside the coroutine: the room waits for Enter."""
import asyncio
import websockets


async def main():
    async with websockets.connect("ws://localhost:8765") as ws:
        name = input("Name: ")
        await ws.send(name)

        async def listen():
            async for message in ws:
                print(message)

        listener = asyncio.create_task(listen())
        while True:
            text = input()
            if text == "/quit":
                break
            await ws.send(text)
        listener.cancel()

asyncio.run(main())
