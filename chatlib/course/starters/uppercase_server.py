"""The quick exercise: a WebSocket server that answers in capital letters.

This is the echo server with one change. Fill in the TODO below, then:

Run it:      python exercises/uppercase_server.py
Talk to it:  python -m chatlib echo-client      (type a line, read the reply)
Check it:    python -m chatlib check uppercase_server
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def uppercase_server(websocket):
    """Reply to every message with the same message in upper case."""
    try:
        async for message in websocket:
            # TODO: send back the message in upper case. Python strings have a method for
            # that; look it up with help(str) if you need to.
            await websocket.send(message)
    except ConnectionClosed:
        pass  # The client disappeared without saying goodbye; nothing left to do.


# --- Starting and stopping: the same in every server file of this course. -------------------


async def wait_for_ctrl_c():
    """Return when the user presses Ctrl-C or the process receives SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(stop_signal, stop.set)
        except NotImplementedError:
            pass  # Windows: Ctrl-C raises KeyboardInterrupt instead, handled at the bottom.
    await stop.wait()


async def main(host, port):
    """Serve until Ctrl-C; leaving ``async with`` closes every connection with code 1001."""
    async with serve(uppercase_server, host, port) as server:
        port = server.sockets[0].getsockname()[1]  # The real port, even with --port 0.
        print(f"Uppercase server listening on ws://{host}:{port} (Ctrl-C to stop)", flush=True)
        await wait_for_ctrl_c()
    print("Server stopped.", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        pass
