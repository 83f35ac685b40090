"""Check a chat client: a scripted stand-in server, and the client run as a subprocess.

The stand-in server is a real WebSocket server on 127.0.0.1. It records every message the
client sends and sends lines on cue, so a check can play "the room" around the client.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from chatlib.checks.core import ARRIVAL_LIMIT, CheckFailed
from chatlib.checks.participants import quoted
from chatlib.checks.programs import STARTUP_LIMIT, RunningProgram, startup_problem


class ScriptedServer:
    """A stand-in chat server that records what its one client sends."""

    def __init__(self) -> None:
        self.received: list[str | bytes] = []
        self.connection: ServerConnection | None = None
        self.server: Server | None = None
        self._connected = asyncio.Event()
        self._changed = asyncio.Event()
        self.disconnected = asyncio.Event()

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; return the URL."""
        self.server = await serve(self._handler, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def _handler(self, websocket: ServerConnection) -> None:
        self.connection = websocket
        self._connected.set()
        with contextlib.suppress(ConnectionClosed):
            async for message in websocket:
                self.received.append(message)
                self._changed.set()
        self.disconnected.set()
        self._changed.set()

    async def wait_for_connection(self, within: float = STARTUP_LIMIT) -> bool:
        """True once the client has connected."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), within)
        return self._connected.is_set()

    async def wait_for_message(self, count: int, within: float = 3.0) -> bool:
        """Wait until ``count`` messages have arrived; False when they do not in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.received) < count:
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0 or self.disconnected.is_set():
                return len(self.received) >= count
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    async def send(self, line: str) -> None:
        """Send a line to the client, as the room would."""
        await self.connection.send(line)

    async def stop(self) -> None:
        """Shut down like a real server does on Ctrl-C: close connections with 1001."""
        self.server.close()
        await asyncio.wait_for(self.server.wait_closed(), 5)


@dataclass
class ClientUnderTest:
    """A chat client program connected to a :class:`ScriptedServer`."""

    server: ScriptedServer
    program: RunningProgram
    command: list[str]
    path: Path | None

    def diagnosis(self) -> str:
        """What the client itself reported, to add to a failure message."""
        return self.program.diagnosis("client")

    async def start_another(self, url: str) -> RunningProgram:
        """Start a second copy of the client, pointed at ``url``."""
        return await RunningProgram.start([*self.command, "--url", url], self.path)

    async def sign_in(self, name: str = "Alice") -> None:
        """Type the name, and require that it is the first message the server receives.

        The name is typed at once: a client may connect first and then ask for the name, or
        ask first; either way the name waits in its input until it reads it.
        """
        await self.program.type(name + "\n")
        connected = await self.server.wait_for_connection(STARTUP_LIMIT)
        if not connected or not await self.server.wait_for_message(1, within=2 * ARRIVAL_LIMIT):
            if self.program.exit_code is not None and self.program.error_report():
                raise startup_problem(self.program, "")
            raise CheckFailed(
                f'The user typed the name "{name}"; the client should send it to the server;'
                f" the client {'connected but sent nothing' if connected else 'did not connect'}."
            )
        if self.server.received[0] != name:
            raise CheckFailed(
                f'The user typed the name "{name}"; it should be the first message the server'
                f' receives, but the first message was "{self.server.received[0]!s}".'
            )

    async def expect_shown(self, line: str, because: str, start: int = 0) -> None:
        """Require that the client prints ``line`` within the arrival limit."""
        if await self.program.stdout.wait_for(re.escape(line), ARRIVAL_LIMIT, start) is None:
            shown = self.program.stdout.lines[start:]
            raise CheckFailed(
                f'{because}; the client should print "{line}" within {ARRIVAL_LIMIT:g} s,'
                f" without any key pressed; it printed {quoted(shown)}."
            )


@contextlib.asynccontextmanager
async def running_client(command: list[str], path: Path | None) -> AsyncIterator[ClientUnderTest]:
    """Start the stand-in server, then the client with ``--url`` pointing at it."""
    server = ScriptedServer()
    url = await server.start()
    program = await RunningProgram.start([*command, "--url", url], path)
    try:
        yield ClientUnderTest(server, program, command, path)
    finally:
        await program.stop()
        await server.stop()
