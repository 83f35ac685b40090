"""A broadcast room: every message any client sends goes to every connected client.

This is the syllabus' "managing connections and state" server, written for websockets 17:
``broadcast()`` is a plain function there (awaiting it raises ``TypeError``), and it sends
to every connection without waiting for slow ones.
"""

import logging

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosedError

log = logging.getLogger(__name__)


class BroadcastRoom:
    """The set of connected clients, and the handler that keeps it correct."""

    def __init__(self) -> None:
        self.clients: set[ServerConnection] = set()

    async def handler(self, websocket: ServerConnection) -> None:
        """Add the client, relay each of its messages to everyone, remove it when it leaves.

        The ``finally`` clause is what keeps the set honest: it runs however the
        connection ends (clean close, network failure, or the server shutting down).
        """
        self.clients.add(websocket)
        log.info("Client joined; %d connected.", len(self.clients))
        try:
            async for message in websocket:
                self.send_to_everyone(message)
        except ConnectionClosedError:
            pass  # An abrupt disconnect ends this client's loop like a clean one.
        finally:
            self.clients.discard(websocket)
            log.info("Client left; %d connected.", len(self.clients))

    def send_to_everyone(self, message: str | bytes) -> None:
        """Write ``message`` to every connected client, the sender included.

        ``broadcast()`` queues the message on each connection and returns at once: no
        ``await``, and a client that stops reading cannot hold up the others.
        """
        broadcast(self.clients, message)
