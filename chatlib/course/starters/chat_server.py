"""The assignment: a chat server where each client's first message is its name.

What the finished server does:
1. It accepts many clients at once (this part already works).
2. The first message a client sends is its username.
3. Every later message goes to all *other* clients as "[Alice]: Hello everyone!";
   the sender does not get its own message back.
4. When a client leaves, the others read "[Server]: Alice has left the chat.".

Fill in the TODOs, then:

Run it:    python exercises/chat_server.py
Chat:      python -m chatlib chat-client   (in two or more other terminals)
Check it:  python -m chatlib check chat_server
"""

import argparse
import asyncio
import signal

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

# The clients that have told us their name: {websocket: username}.
USERNAMES = {}


def everyone_but(websocket):
    """The named clients other than ``websocket``: the recipients of its messages."""
    # TODO 3a: return every client in USERNAMES except ``websocket``.
    return []


async def chat_handler(websocket):
    """Serve one client: learn its name, relay its messages, announce its departure."""
    try:
        # TODO 2: the first message is the username: receive it with ``await websocket.recv()``.
        username = "someone"
    except ConnectionClosed:
        return  # Left before saying its name: nobody needs to know.

    USERNAMES[websocket] = username
    try:
        async for message in websocket:
            # TODO 3b: send f"[{username}]: {message}" to everyone but the sender.
            # broadcast(connections, text) does it; it is a plain function: no await.
            pass
    except ConnectionClosedError:
        pass  # An abrupt disconnect is still a departure: the finally clause announces it.
    finally:
        del USERNAMES[websocket]
        # TODO 4: tell the remaining clients f"[Server]: {username} has left the chat."


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
    async with serve(chat_handler, host, port) as server:
        port = server.sockets[0].getsockname()[1]  # The real port, even with --port 0.
        print(f"Chat server listening on ws://{host}:{port} (Ctrl-C to stop)", flush=True)
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
