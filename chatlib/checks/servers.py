"""Start a server under test, and the requirement every server shares: a clean Ctrl-C."""

import asyncio
import contextlib
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from chatlib import DEFAULT_PORT
from chatlib.checks.core import CheckFailed, NotCheckedHere, ProgramProblem, on_windows
from chatlib.checks.diagnosis import diagnosis, startup_problem
from chatlib.checks.files import display_path
from chatlib.harness import (
    EXIT_LIMIT,
    STARTUP_LIMIT,
    ProgramNotReady,
    RunningProgram,
    start_server_program,
)
from chatlib.serving import Handler, close_within, server_url


@dataclass
class ServerUnderTest:
    """A server on 127.0.0.1 with a free port, and the URL to reach it.

    It is a program in a process of its own (``program``), or a handler function served in
    this event loop, as a notebook cell does (``program`` is then ``None``, and exceptions
    the handler raised are kept in ``handler_errors``).
    """

    url: str
    program: RunningProgram | None
    handler_errors: list[BaseException] = field(default_factory=list)

    def diagnosis(self) -> str:
        """What the server itself reported, to add to a failure message."""
        if self.program is not None:
            return diagnosis(self.program, "server")
        if self.handler_errors:
            error = self.handler_errors[-1]
            line = traceback.extract_tb(error.__traceback__)[-1].lineno
            return f"Your handler raised {type(error).__name__}: {error} (line {line} of its cell)."
        return ""


@contextlib.asynccontextmanager
async def running_server(command: list[str], path: Path | None) -> AsyncIterator[ServerUnderTest]:
    """Start ``command --host 127.0.0.1 --port 0``, wait for its URL line, stop it after."""
    try:
        program = await start_server_program(
            [*command, "--host", "127.0.0.1", "--port", "0"], path, within=STARTUP_LIMIT
        )
    except ProgramNotReady as not_ready:
        what = "A server should print the URL it listens on, like ws://localhost:8765."
        waited = None if not_ready.ended else not_ready.waited
        raise startup_problem(not_ready.program, what, waited) from None
    try:
        if program.port == DEFAULT_PORT:
            raise ignores_port_option(program, program.url)
        yield ServerUnderTest(program.url, program)
    finally:
        await program.stop()


def ignores_port_option(program: RunningProgram, url: str) -> ProgramProblem:
    """Explain that a server asked for any free port listens on the fixed default one.

    Such a server would clash with every other copy of itself (and with the learner's own
    server running in a terminal), so the checker refuses to check it rather than let its
    result depend on what else runs on the machine.
    """
    name = display_path(program.path) if program.path else "The server"
    return ProgramProblem(
        f"{name} was started with --port 0 (any free port) but listens on {url}, the"
        " default port: it ignores the --port option. Pass the port from the command line on"
        " to serve(), as the starter's main() does, save, and run the check again."
    )


@contextlib.asynccontextmanager
async def serving_handler(handler: Handler) -> AsyncIterator[ServerUnderTest]:
    """Serve a handler function in this event loop on 127.0.0.1, any free port.

    This checks a handler written in a notebook cell. Its exceptions are recorded for the
    report instead of being logged with a traceback into the learner's notebook.
    """
    target = ServerUnderTest("", None)

    async def recording_handler(websocket: ServerConnection) -> None:
        try:
            await handler(websocket)
        except Exception as error:
            target.handler_errors.append(error)
            await websocket.close(CloseCode.INTERNAL_ERROR, "handler error")

    server = await serve(recording_handler, "127.0.0.1", 0)
    target.url = server_url(server, "127.0.0.1")
    try:
        yield target
    finally:
        await close_within(server, 3)


async def stops_cleanly_on_ctrl_c(server: ServerUnderTest) -> None:
    """Ctrl-C closes open connections with 1001, and the server exits 0 without a traceback."""
    if server.program is None:
        raise NotCheckedHere("only a program started from a terminal receives Ctrl-C")
    if on_windows():
        raise NotCheckedHere("Ctrl-C cannot be sent to another program on Windows.")
    async with connect(server.url) as client:
        server.program.press_ctrl_c()
        close_code = await wait_for_close(client)
    if close_code is None:
        raise CheckFailed(
            f"After Ctrl-C, the connected client should be disconnected within {EXIT_LIMIT:g} s;"
            " it stayed connected."
        )
    if close_code != CloseCode.GOING_AWAY:
        raise CheckFailed(
            "After Ctrl-C, the connected client should be closed with code 1001 (going away);"
            f" it got code {close_code}."
        )
    exit_code = await server.program.wait_for_exit()
    if exit_code is None:
        raise CheckFailed(
            f"After Ctrl-C, the server should exit within {EXIT_LIMIT:g} s; it kept running."
        )
    printed_traceback = "Traceback" in server.program.stderr.text()
    if exit_code != 0 or printed_traceback:
        raise CheckFailed(
            f"After Ctrl-C, the server should exit quietly with status 0; it exited with status"
            f" {exit_code}{' and printed a traceback' if printed_traceback else ''}."
        )


async def wait_for_close(client: ClientConnection) -> int | None:
    """Read (and ignore) messages until the connection closes; its close code, or ``None``."""
    try:
        async with asyncio.timeout(EXIT_LIMIT):
            while True:
                await client.recv()
    except ConnectionClosed:
        return client.close_code
    except TimeoutError:
        return None
