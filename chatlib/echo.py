"""The echo server and its client: the smallest useful WebSocket programs.

The server sends every message straight back to the client that sent it. Run it with
``python -m chatlib echo-server``, then talk to it with ``python -m chatlib echo-client``.
"""

import logging

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK

from chatlib.client_errors import CONNECTION_FAILURES, explain_connection_failure
from chatlib.terminal import END_OF_INPUT_KEY, KeyboardLines, show

log = logging.getLogger(__name__)


async def echo(websocket: ServerConnection) -> None:
    """Send every message back to the client that sent it, until the client leaves.

    websockets calls this handler once per connection, in its own task, so each client is
    served independently. ``async for`` ends quietly when the client closes cleanly; an
    abrupt disconnect raises ``ConnectionClosedError``, which ends only this connection.
    """
    log.info("Client connected from %s.", websocket.remote_address)
    try:
        async for message in websocket:
            await websocket.send(message)
    except ConnectionClosedOK:
        pass  # The client closed while its last reply was on the way: nobody is left to read it.
    except ConnectionClosedError:
        log.info("Client vanished without closing the connection.")
    log.info("Client disconnected (close code %s).", websocket.close_code)


async def echo_once(url: str, message: str) -> str:
    """Connect to the server at ``url``, send ``message``, and return the first reply."""
    async with connect(url) as websocket:
        await websocket.send(message)
        return await websocket.recv()


async def interactive_echo_client(url: str) -> int:
    """Send each line the user types to the server and print the reply; return an exit code.

    The keyboard is read in a thread (see :mod:`chatlib.terminal`), so the connection keeps
    answering the server's keepalive pings while the user thinks.
    """
    try:
        websocket = await connect(url)
    except CONNECTION_FAILURES as error:
        print(explain_connection_failure(url, error, "echo-server"))
        return 1
    async with websocket:
        print(f"Connected to {url}. Type a message and press Enter; {END_OF_INPUT_KEY} quits.")
        keyboard = KeyboardLines()
        try:
            while (line := await keyboard.next_line()) is not None:
                await websocket.send(line)
                show(f"< {await websocket.recv()}")
        except ConnectionClosed:
            print("The server closed the connection.")
    return 0
