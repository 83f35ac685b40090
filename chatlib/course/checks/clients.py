"""Check a chat client: the client run as a subprocess, around it a scripted stand-in server.

The stand-in (:class:`chatlib.course.harness.ScriptedServer`) records every message the client
sends and sends lines on cue, so a check can play "the room" around the client.
"""

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from chatlib.course.checks.core import CheckFailed, ProgramProblem
from chatlib.course.checks.diagnosis import diagnosis, error_report, fatal_problem, startup_problem
from chatlib.course.harness import STARTUP_LIMIT, RunningProgram, ScriptedServer
from chatlib.course.participants import ARRIVAL_LIMIT
from chatlib.course.wording import in_quotes, quoted_lines


@dataclass
class ClientUnderTest:
    """A chat client program connected to a :class:`ScriptedServer`."""

    server: ScriptedServer
    program: RunningProgram
    command: list[str]
    path: Path | None

    def fatal_problem(self) -> ProgramProblem | None:
        """A mistake that fails every check alike, found in what the client reported."""
        return fatal_problem(self.program, "client")

    def diagnosis(self) -> str:
        """What the client itself reported, to add to a failure message."""
        return diagnosis(self.program, "client")

    async def start_another(self, *options: str, connect_to: str | None = None) -> RunningProgram:
        """Start a second copy of the client with the command-line ``options`` given.

        It connects to ``connect_to`` whatever URL it asks for (to the URL it asks for when
        ``None``). Its stdin is left open and its output collected like the first copy's.
        """
        return await RunningProgram.launch([*self.command, *options], self.path, connect_to)

    @contextlib.asynccontextmanager
    async def another(self, *options: str) -> AsyncIterator["ClientUnderTest"]:
        """A second copy of the client, started with ``options``, and a stand-in of its own."""
        server = ScriptedServer()
        url = await server.start()
        program = await self.start_another(*options, connect_to=url)
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
                f" {ARRIVAL_LIMIT:g} s, without any key pressed; it printed {quoted_lines(shown)}."
            )


@contextlib.asynccontextmanager
async def running_client(command: list[str], path: Path | None) -> AsyncIterator[ClientUnderTest]:
    """Start the stand-in server, then the client as it is, connected to the stand-in.

    The launcher (:mod:`chatlib.course.harness.launcher`) sends the client to the stand-in whatever
    URL it asks for (a hard-coded ``ws://localhost:8765``, ``--url``'s default...), so no
    option is passed that it might not expect, and no port is shared with anything.
    """
    server = ScriptedServer()
    url = await server.start()
    program = await RunningProgram.launch(command, path, connect_to=url)
    try:
        yield ClientUnderTest(server, program, command, path)
    finally:
        await program.stop()
        await server.stop()
