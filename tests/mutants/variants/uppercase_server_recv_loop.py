"""A correct uppercase server written differently: recv() in a while loop, its own banner."""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def shout(websocket):
    while True:
        try:
            text = await websocket.recv()
        except ConnectionClosed:
            return
        await websocket.send(str.upper(text))


async def main(host, port):
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    async with serve(shout, host, port) as server:
        host, port = server.sockets[0].getsockname()[:2]
        print(f"Serving SHOUTS at ws://{host}:{port} -- press Ctrl-C to quit", flush=True)
        await stop.wait()
    print("Bye.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
