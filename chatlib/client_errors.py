"""One-line explanations for the ways a client can fail to reach its server.

A learner who starts the client before the server should read what to do, not a traceback.
So should one whose classroom network stands in the way (macOS' Local Network privacy, a
host that does not exist). Each explanation is chosen by the error's kind (its class or its
``errno``), the same on every system. (A server that cannot start is explained by
:func:`chatlib.serving.startup_advice`.)
"""

import errno
import socket
from urllib.parse import urlsplit

from websockets.exceptions import InvalidHandshake, InvalidURI

from chatlib import DEFAULT_PORT
from chatlib.commands import chatlib_command


def start_command(server_program: str, url: str) -> str:
    """The command that starts ``server_program`` (``"chat-server"``) where ``url`` points:
    with ``--port`` when the URL's port is not the default one, so that the advice starts the
    server the client was looking for, not one on port 8765."""
    try:
        port = urlsplit(url).port
    except ValueError:  # Not a port at all: the URL is explained as invalid elsewhere.
        port = None
    options = ["--port", str(port)] if port not in (None, DEFAULT_PORT) else []
    return chatlib_command(server_program, *options)


def explain_connection_failure(url: str, error: BaseException, server_program: str) -> str:
    """Say in one line why connecting to ``url`` failed and what to do about it.

    ``server_program`` is the chatlib program that serves this client, e.g. ``"chat-server"``.
    """
    if isinstance(error, InvalidURI):
        return f"{url} is not a WebSocket URL; it should look like ws://localhost:8765."
    if isinstance(error, InvalidHandshake):
        return f"{url} answered, but not as a WebSocket server ({error})."
    if isinstance(error, TimeoutError):
        return f"{url} accepted the connection but never finished the WebSocket handshake."
    if isinstance(error, socket.gaierror):
        return f"Cannot find the host of {url} ({error.strerror}): check the address."
    if isinstance(error, OSError) and error.errno in UNREACHABLE:
        return (
            f"{url} cannot be reached from this machine ({error.strerror}). On macOS, Local"
            " Network privacy does this: allow your terminal (or Python) in System Settings >"
            " Privacy & Security > Local Network. Elsewhere, check that both machines are on"
            " the same network."
        )
    if isinstance(error, OSError):
        # Refused (nothing listens), or refused at each of localhost's addresses (IPv6, IPv4).
        command = start_command(server_program, url)
        return f"No server answers at {url}. Start one first with `{command}`, then retry."
    return f"Could not connect to {url}: {error}."


# No route to the other machine: its network is not ours, or macOS' Local Network privacy
# keeps this program off it ("No route to host", errno 65 there).
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH}


# The exceptions ``websockets.asyncio.client.connect`` raises when it cannot connect.
CONNECTION_FAILURES = (OSError, InvalidURI, InvalidHandshake, TimeoutError)
