"""Chat client, the syllabus' way: ws://localhost:8765 hard-coded, input with asyncio.to_thread."""
import asyncio
import os

import websockets


async def receive(websocket):
    async for message in websocket:
        print(message)
    print("Server closed the connection.")


async def send(websocket):
    while True:
        try:
            line = await asyncio.to_thread(input)
        except EOFError:
            return
        if line == "/quit":
            return
        await websocket.send(line)


async def main():
    async with websockets.connect("ws://localhost:8765") as websocket:
        name = await asyncio.to_thread(input, "Your name: ")
        await websocket.send(name)
        tasks = [asyncio.create_task(receive(websocket)), asyncio.create_task(send(websocket))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    os._exit(0)  # the thread waiting in input() would keep us alive


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
