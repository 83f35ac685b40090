"""The chat client: join the room from a terminal and read what others say as they say it.

Start a chat server (``python -m chatlib chat-server``), then in two terminals run
``python -m chatlib chat-client`` (add ``--name Alice`` to skip the question). Your first
message is your name; every line you type after that goes to the room. ``/quit``, Ctrl-D and
Ctrl-C leave.

Two things happen at once, each in its own task: printing what the server sends, and sending
what you type. The keyboard is read in a thread (:class:`chatlib.terminal.KeyboardLines`), so
messages keep arriving while you think, and :func:`chatlib.terminal.show` prints them above
the line you are typing.

This module is chatlib's *reference* client: besides the assignment's requirements it explains
in one line why it could not connect, says how the connection ended, shows binary frames as a
short note and keeps a server from moving the cursor with escape sequences. The minimal answer
a learner would hand in is ``solutions/chat_client.py``; the difference between the two is on
purpose.

A private room (``chat-server --token-file FILE``) wants its token as the first message:
``--token-file FILE`` sends it before anything else. A server with a certificate is joined at
``wss://``; ``--cafile FILE`` trusts the certificate authority in FILE (a course's own, or one
made by ``python -m trustme``) instead of the system's.

Exit status: 0 when you leave (``/quit``, end of input, Ctrl-C) and when the server closes the
connection cleanly (code 1000, or 1001 when it shuts down); 1 when no server answers, when the
connection drops without a closing handshake, or when the server closes it with an error code.
"""

import asyncio
import ssl
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from chatlib.client_errors import CONNECTION_FAILURES, explain_connection_failure
from chatlib.terminal import END_OF_INPUT_KEY, KeyboardLines, is_interactive, show, visible

QUIT_COMMAND = "/quit"
SERVER_PROGRAM = "chat-server"  # What serves this client: `python -m chatlib chat-server`.
CLEAN_CLOSE_CODES = (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY)


async def chat(
    url: str, name: str | None, token: str | None = None, cafile: str | None = None
) -> int:
    """Join the chat at ``url`` as ``name`` (asked for when ``None``); return the exit status.

    A client that cannot connect says so in one line instead of a traceback: starting the
    client before the server is the most common first mistake. ``token`` is sent first, for
    a private room; ``cafile`` is the certificate authority a ``wss://`` server's certificate
    must come from (by default, the system's).
    """
    try:
        options = tls_options(url, cafile)
    except (OSError, ValueError) as error:
        print(error, flush=True)
        return 1
    try:
        websocket = await connect(url, **options)
    except CONNECTION_FAILURES as error:
        print(explain_connection_failure(url, error, SERVER_PROGRAM), flush=True)
        return 1
    try:
        if token is not None:
            # Before the name and before anything typed: a private room reads it first.
            await websocket.send(token)
        keyboard = start_keyboard(url, name)
        return await converse(websocket, keyboard, name)
    finally:
        # Close with code 1000 ("normal closure") however we leave: /quit, end of input, or
        # Ctrl-C cancelling this coroutine. ``async with websocket`` would close with 1011
        # ("internal error") in the last case, as it does for any exception.
        await websocket.close()


def tls_options(url: str, cafile: str | None) -> dict[str, Any]:
    """``connect()``'s TLS option: trust only the authority in ``cafile``, if given.

    Without ``cafile``, websockets verifies a ``wss://`` server against the system's
    authorities, as a browser does. Either way the certificate *is* verified: its authority
    and the host name it was made for. Raises ``ValueError`` (with a one-line message) for a
    ``cafile`` given with a ``ws://`` URL, and ``OSError`` for one that cannot be read.
    """
    if cafile is None:
        return {}
    if not url.startswith("wss://"):
        raise ValueError(f"--cafile is for wss:// URLs; {url} does not use TLS.")
    try:
        return {"ssl": ssl.create_default_context(cafile=cafile)}
    except ssl.SSLError as error:  # Read, but holds no certificate.
        raise ValueError(f"{cafile} holds no certificate authority ({error.reason}).") from None
    except OSError as error:
        raise OSError(f"Cannot read {cafile}: {error.strerror or error}.") from None


def start_keyboard(url: str, name: str | None) -> KeyboardLines:
    """Greet the person at the terminal, ask for a name if needed, and start reading lines.

    When input comes from a pipe or a file there is nobody to greet: nothing is printed, so
    the output holds only what the room says, one message per line, which is what scripts
    and the checker read.
    """
    if is_interactive():
        print(
            f"Connected to {url}. Type a message and press Enter;"
            f" /quit or {END_OF_INPUT_KEY} leaves."
        )
        if name is None:
            # Printed once, here, rather than before every line: the first line typed is the
            # name, and the server answers with a "[Server]: ..." line if it refuses it.
            print("Your name: ", end="", flush=True)
    return KeyboardLines()


async def converse(websocket: ClientConnection, keyboard: KeyboardLines, name: str | None) -> int:
    """Print incoming messages and send typed lines at the same time; return the exit status.

    Each direction is a task. ``asyncio.wait(..., FIRST_COMPLETED)`` returns as soon as one
    of them finishes: the sender when the user leaves, the receiver when the server ends the
    connection. The other one is then cancelled, so nothing is left waiting at exit.
    """
    receiving = asyncio.create_task(print_incoming(websocket))
    sending = asyncio.create_task(send_typed_lines(websocket, keyboard, name))
    try:
        done, _ = await asyncio.wait([receiving, sending], return_when=asyncio.FIRST_COMPLETED)
    finally:
        # In a ``finally`` because Ctrl-C cancels this coroutine while it waits: the two tasks
        # must stop then too.
        receiving.cancel()
        sending.cancel()
    if receiving in done:
        return report_end(receiving.result())
    try:
        sending.result()
    except ConnectionClosed as closed:  # The server left while a line was being sent.
        return report_end(closed)
    return 0  # The user left.


async def print_incoming(websocket: ClientConnection) -> ConnectionClosed:
    """Print each message as soon as it arrives; return how the connection ended.

    ``async for message in websocket`` would end quietly on a clean close; calling ``recv()``
    and catching ``ConnectionClosed`` keeps the exception, which says whether the server
    closed the connection (and with which code) or the connection simply dropped.
    """
    while True:
        try:
            message = await websocket.recv()
        except ConnectionClosed as closed:
            return closed
        for line in printable_lines(message):
            show(line)


async def send_typed_lines(
    websocket: ClientConnection, keyboard: KeyboardLines, name: str | None
) -> None:
    """Send the name (when given on the command line), then each typed line, until the user leaves.

    Without ``--name``, the first line typed *is* the name: the client keeps no state about
    names, it sends what is typed. ``/quit`` or the end of input (``None``) ends the loop.
    """
    if name is not None:
        await websocket.send(name)
    while (line := await keyboard.next_line()) is not None:
        if line.strip() == QUIT_COMMAND:
            return
        await websocket.send(line)


def printable_lines(message: str | bytes) -> list[str]:
    """Turn one received message into the lines to print, each safe to show in a terminal.

    A binary frame (the chat carries text) becomes a short note. Control characters become
    spaces, because an escape sequence from the server could move the cursor or clear the
    screen. Each line of a multi-line message is printed on its own, so that :func:`show`
    can keep every one of them above the line being typed.
    """
    if isinstance(message, bytes):
        return [f"(The server sent {len(message)} bytes of binary data; only text is shown.)"]
    return [visible(line) for line in message.splitlines()] or [""]


def report_end(closed: ConnectionClosed) -> int:
    """Say in one line how the server ended the connection, and return the exit status.

    ``closed.rcvd`` is the close frame the server sent, or ``None`` when the connection
    dropped without one (the server was killed, the network failed).
    """
    if closed.rcvd is None:
        show("Lost the connection to the server.")
        status = 1
    else:
        # str(closed.rcvd) reads like "1001 (going away)", plus the reason the server gave.
        show(f"The server closed the connection: {closed.rcvd}.")
        status = 0 if closed.rcvd.code in CLEAN_CLOSE_CODES else 1
    if is_interactive():
        # show() left the cursor after what the user was typing: move to a fresh line, so
        # that the shell's prompt does not start in the middle of an unsent message.
        print()
    return status
