"""A correct chat client written differently: it asks for the name before it connects."""

import argparse
import asyncio
import sys
import threading

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def keyboard(loop, queue):
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def printer(websocket):
    try:
        async for message in websocket:
            print(message, flush=True)
    except ConnectionClosed:
        pass
    print("Disconnected from the server.", flush=True)


async def typist(websocket, queue):
    while True:
        line = await queue.get()
        if line is None or line == "/quit":
            return
        await websocket.send(line)


async def run(url, name):
    try:
        websocket = await connect(url)
    except OSError as error:
        print(f"Cannot reach {url}: {error}")
        return 1
    await websocket.send(name)
    queue = asyncio.Queue()
    threading.Thread(target=keyboard, args=(asyncio.get_running_loop(), queue), daemon=True).start()
    tasks = [asyncio.create_task(printer(websocket)), asyncio.create_task(typist(websocket, queue))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await websocket.close()
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="ws://localhost:8765")
    parser.add_argument("--name")
    args = parser.parse_args()
    try:
        name = args.name or input("Name? ").strip()
        return asyncio.run(run(args.url, name))
    except (KeyboardInterrupt, EOFError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
