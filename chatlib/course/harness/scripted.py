"""A scripted stand-in server: it records what clients send and says what it is told to.

It is a real WebSocket server on 127.0.0.1 (any free port). A check or a test plays "the
room" around a chat client with it: wait for the client's name, send it a line from Bob,
shut down as a real server does, or cut the connection as a crash would.
"""

import contextlib
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from chatlib.course.harness.programs import STARTUP_LIMIT
from chatlib.course.harness.waiting import Changes
from chatlib.serving import BackgroundServer
from chatlib.websockets_internals import abort

# How long a message may take to reach the scripted server by default.
MESSAGE_LIMIT = 3.0


class ScriptedServer:
    """A stand-in server that records every message and close code of its clients."""

    def __init__(self) -> None:
        self.url = ""
        self.server: BackgroundServer | None = None
        self.connections: list[ServerConnection] = []
        self.received: list[str | bytes] = []  # Every message, from every client, in order.
        self.close_codes: list[int | None] = []  # One per ended connection (1006: none sent).
        self.changes = Changes()
        self._next_message = 0
        self._next_close = 0

    async def start(self, port: int = 0) -> str:
        """Listen on ``port`` of 127.0.0.1 (by default any free one); return the URL.

        A port already in use raises ``OSError``.
        """
        self.server = await BackgroundServer(self._handler, port=port).start()
        self.url = self.server.url
        return self.url

    async def __aenter__(self) -> "ScriptedServer":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    async def _handler(self, websocket: ServerConnection) -> None:
        self.connections.append(websocket)
        self.changes.notify()
        with contextlib.suppress(ConnectionClosed):
            async for message in websocket:
                self.received.append(message)
                self.changes.notify()
        self.close_codes.append(websocket.close_code)
        self.changes.notify()

    def everyone_left(self) -> bool:
        """True once clients came and every one of them has gone: no message can come."""
        return bool(self.connections) and len(self.close_codes) == len(self.connections)

    async def wait_for_connection(self, within: float = STARTUP_LIMIT) -> bool:
        """True once a client has connected."""
        return await self.changes.wait_until(lambda: bool(self.connections), within) is not None

    async def wait_for_message(self, count: int, within: float = MESSAGE_LIMIT) -> bool:
        """Wait until ``count`` messages have arrived in all; False when they do not in time."""
        arrived = await self.changes.wait_until(
            lambda: len(self.received) >= count, within, over=self.everyone_left
        )
        return arrived is not None

    async def next_message(self, within: float = MESSAGE_LIMIT) -> str | bytes:
        """The next message not read yet by this method; ``TimeoutError`` if none comes."""
        if not await self.wait_for_message(self._next_message + 1, within):
            raise TimeoutError(f"the scripted server received nothing more within {within:g} s")
        self._next_message += 1
        return self.received[self._next_message - 1]

    async def next_close_code(self, within: float = MESSAGE_LIMIT) -> int | None:
        """The close code of the next connection to end; ``TimeoutError`` if none does."""
        wanted = self._next_close + 1
        if await self.changes.wait_until(lambda: len(self.close_codes) >= wanted, within) is None:
            raise TimeoutError(f"no connection to the scripted server ended within {within:g} s")
        self._next_close = wanted
        return self.close_codes[wanted - 1]

    async def send(self, message: str | bytes) -> None:
        """Send ``message`` to every connected client, as the room would."""
        for websocket in self.connections:
            await websocket.send(message)

    def drop_connections(self) -> None:
        """Cut every connection without a closing handshake, like a crash or a lost network."""
        for websocket in self.connections:
            abort(websocket)

    async def stop(self) -> None:
        """Shut down as a real server does on Ctrl-C: every connection closes with 1001."""
        if self.server is not None:
            await self.server.stop()
