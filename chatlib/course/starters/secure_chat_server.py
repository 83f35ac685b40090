"""The optional exercise: the chat server, for those who hold the room's token only.

The token comes from the environment variable CHAT_TOKEN, read once at start. A client
joins with it in the URL's query string, ws://localhost:8765/?token=TOKEN; process_request
looks at the opening HTTP request and answers "401 Unauthorized" to anyone else, before any
WebSocket exists. Once in, the chat is the assignment's own: the first message is the name.

Run it:    CHAT_TOKEN=s3cret python exercises/secure_chat_server.py
Chat:      python -m websockets "ws://localhost:8765/?token=s3cret"
Check it:  python -m chatlib check secure_chat_server

Why not the first message, as chatlib's own chat-server does? This exercise is about
process_request: a stranger is turned away by the HTTP answer itself and costs the server no
connection. The price: a URL is the part of a request that servers and proxies log, so the
token must never be printed (and wss:// keeps it from anyone watching the network).

Three things to do, marked TODO below.
"""

import argparse
import asyncio
import hmac
import http
import os
import signal
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

# The room's token: whoever starts the server chooses it, and tells it to those invited.
TOKEN_VARIABLE = "CHAT_TOKEN"

# The clients that have told us their name: {websocket: username}.
USERNAMES = {}


def token_in(path):
    """The ``token`` parameter of a request's path ("/?token=abc" gives "abc"), or ``None``."""
    values = parse_qs(urlsplit(path).query).get("token")
    return values[0] if values else None


def check_token(room_token):
    """A process_request function that lets in only the requests holding ``room_token``."""

    def process_request(connection, request):
        # websockets calls this with the opening HTTP request, before any WebSocket exists.
        # Returning None goes on with the handshake; returning a response sends it instead.
        # TODO 1: token_in(request.path) is the token the client sent (None when it sent
        # none). When it is missing or wrong, return
        # connection.respond(http.HTTPStatus.UNAUTHORIZED, "Missing or wrong token\n").
        # TODO 2: compare it with room_token using hmac.compare_digest (on bytes: .encode()),
        # not ==: it takes as long whatever the guess, so timing tells an attacker nothing.
        return None

    return process_request


async def chat_handler(websocket):
    """Serve one client: learn its name, relay its messages, announce its departure."""
    # TODO 3: replace this function by your chat_handler from exercises/chat_server.py
    # (and its helper everyone_but): nothing in it changes.
    async for _message in websocket:
        pass


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


async def main(host, port, room_token):
    """Serve until Ctrl-C; leaving ``async with`` closes every connection with code 1001."""
    async with serve(chat_handler, host, port, process_request=check_token(room_token)) as server:
        port = server.sockets[0].getsockname()[1]  # The real port, even with --port 0.
        # The URL without the token: what a server prints ends up in logs and screenshots.
        print(f"Chat server listening on ws://{host}:{port} (Ctrl-C to stop)", flush=True)
        await wait_for_ctrl_c()
    print("Server stopped.", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    room_token = os.environ.get(TOKEN_VARIABLE)
    if not room_token:
        sys.exit(
            f"Set the room's token first, e.g. {TOKEN_VARIABLE}=s3cret (it is empty or unset)."
        )
    try:
        asyncio.run(main(args.host, args.port, room_token))
    except KeyboardInterrupt:
        pass
