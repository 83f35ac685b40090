"""A correct chat server written differently: sends one by one, over a snapshot, with care.

Sending in a loop is fine for a small room when the loop runs over a copy of the
collection and skips a recipient that has just gone.
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

NAMES = {}


async def send_all(recipients, line):
    for client in list(recipients):
        try:
            await client.send(line)
        except ConnectionClosed:
            continue  # It left a moment ago; its own handler says goodbye for it.


async def chat(websocket):
    try:
        username = await websocket.recv()
    except ConnectionClosed:
        return
    NAMES[websocket] = username
    try:
        while True:
            try:
                message = await websocket.recv()
            except ConnectionClosed:
                break
            await send_all([c for c in NAMES if c != websocket], f"[{username}]: {message}")
    finally:
        NAMES.pop(websocket, None)
        await send_all(NAMES, f"[Server]: {username} has left the chat.")


async def main(host, port):
    done = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, done.set)
    server = await serve(chat, host, port)
    print(f"Chat on ws://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    await done.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
