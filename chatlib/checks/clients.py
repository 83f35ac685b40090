"""Check a chat client: the client run as a subprocess, around it a scripted stand-in server.

The stand-in (:class:`chatlib.harness.ScriptedServer`) records every message the client
sends and sends lines on cue, so a check can play "the room" around the client.
"""

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from chatlib.checks.core import ARRIVAL_LIMIT, CheckFailed
from chatlib.checks.diagnosis import diagnosis, error_report, startup_problem
from chatlib.checks.participants import in_quotes, quoted
from chatlib.harness import STARTUP_LIMIT, RunningProgram, ScriptedServer


@dataclass
class ClientUnderTest:
    """A chat client program connected to a :class:`ScriptedServer`."""

    server: ScriptedServer
    program: RunningProgram
    command: list[str]
    path: Path | None

    def diagnosis(self) -> str:
        """What the client itself reported, to add to a failure message."""
        return diagnosis(self.program, "client")

    async def start_another(self, *options: str) -> RunningProgram:
        """Start a second copy of the client with the command-line ``options`` given.

        Its stdin is left open and its output collected like the first copy's.
        """
        return await RunningProgram.start([*self.command, *options], self.path)

    @contextlib.asynccontextmanager
    async def another(self, *options: str, port: int = 0) -> AsyncIterator["ClientUnderTest"]:
        """A second copy of the client, started with ``options``, and a stand-in of its own.

        The stand-in listens on ``port`` of 127.0.0.1 (any free one by default, and then
        ``--url`` points at it). A port in use raises ``OSError``.
        """
        server = ScriptedServer()
        url = await server.start(port)
        url_option = ["--url", url] if port == 0 else []
        program = await self.start_another(*url_option, *options)
        try:
            yield ClientUnderTest(server, program, self.command, self.path)
        finally:
            await program.stop()
            await server.stop()

    async def sign_in(self, name: str = "Alice") -> None:
        """Type the name, and require that it is the first message the server receives.

        The name is typed at once: a client may connect first and then ask for the name, or
        ask first; either way the name waits in its input until it reads it.
        """
        await self.program.type(name + "\n")
        connected = await self.server.wait_for_connection(STARTUP_LIMIT)
        if not connected or not await self.server.wait_for_message(1, within=2 * ARRIVAL_LIMIT):
            if self.program.exit_code is not None and error_report(self.program):
                raise startup_problem(self.program, "")
            raise CheckFailed(
                f'The user typed the name "{name}"; the client should send it to the server;'
                f" the client {'connected but sent nothing' if connected else 'did not connect'}."
            )
        if self.server.received[0] != name:
            raise CheckFailed(
                f'The user typed the name "{name}"; it should be the first message the server'
                f" receives, but the first message was {in_quotes(str(self.server.received[0]))}."
            )

    async def expect_shown(self, line: str, because: str, start: int = 0) -> None:
        """Require that the client prints ``line`` within the arrival limit."""
        if await self.program.stdout.wait_for(re.escape(line), ARRIVAL_LIMIT, start) is None:
            shown = self.program.stdout.lines[start:]
            raise CheckFailed(
                f"{because}; the client should print {in_quotes(line)} within"
                f" {ARRIVAL_LIMIT:g} s, without any key pressed; it printed {quoted(shown)}."
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
