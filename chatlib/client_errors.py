"""One-line explanations for the ways a client can fail to reach its server.

A learner who starts the client before the server should read what to do, not a traceback.
"""

from websockets.exceptions import InvalidHandshake, InvalidURI


def explain_connection_failure(url: str, error: BaseException, start_command: str) -> str:
    """Say in one line why connecting to ``url`` failed and what to do about it.

    ``start_command`` is the command that starts the right server, for example
    ``python -m chatlib chat-server``.
    """
    if isinstance(error, InvalidURI):
        return f"{url} is not a WebSocket URL; it should look like ws://localhost:8765."
    if isinstance(error, InvalidHandshake):
        return f"{url} answered, but not as a WebSocket server ({error})."
    if isinstance(error, TimeoutError):
        return f"{url} accepted the connection but never finished the WebSocket handshake."
    if isinstance(error, OSError):
        return f"No server answers at {url}. Start one first with `{start_command}`, then retry."
    return f"Could not connect to {url}: {error}."


# The exceptions ``websockets.asyncio.client.connect`` raises when it cannot connect.
CONNECTION_FAILURES = (OSError, InvalidURI, InvalidHandshake, TimeoutError)
