"""A correct chat client written differently: the keyboard is read with asyncio.to_thread().

asyncio.run() waits for its worker threads at exit, and one of them is still blocked in
readline(): so once the chat is over the client ends the process itself, with os._exit().
"""

import argparse
import asyncio
import os
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def receive(websocket):
    try:
        async for message in websocket:
            print(message, flush=True)
        print("Server closed the chat.", flush=True)
    except ConnectionClosed:
        print("Connection lost.", flush=True)


async def send(websocket, name):
    if name:
        await websocket.send(name)
    while line := await asyncio.to_thread(sys.stdin.readline):
        line = line.rstrip("\n")
        if line == "/quit":
            break
        await websocket.send(line)


async def chat(url, name):
    try:
        async with connect(url) as websocket:
            receiving = asyncio.create_task(receive(websocket))
            sending = asyncio.create_task(send(websocket, name))
            _, pending = await asyncio.wait(
                {receiving, sending}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
    except OSError:
        print(f"Nobody answers at {url}.")
        return 1
    return 0


async def main(url, name):
    try:
        status = await chat(url, name)
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run() cancels this task.
        status = 0
    sys.stdout.flush()
    os._exit(status)  # Do not wait for the thread still blocked in readline().


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="ws://localhost:8765")
    parser.add_argument("--name")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.name))
