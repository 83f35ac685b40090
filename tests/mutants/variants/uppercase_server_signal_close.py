"""A correct uppercase server written differently: Ctrl-C calls server.close() itself."""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve


async def uppercase(websocket):
    async for message in websocket:
        await websocket.send(message.upper())


async def main(host, port):
    server = await serve(uppercase, host, port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.close)
    print("Uppercase server at", f"ws://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
