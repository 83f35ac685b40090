"""Start a server under test, and what every server shares: a clean Ctrl-C, address options."""

import asyncio
import contextlib
import re
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from chatlib.course.checks.core import CheckFailed, NotCheckedHere, ProgramProblem, on_windows
from chatlib.course.checks.diagnosis import diagnosis, error_report, fatal_problem, startup_problem
from chatlib.course.harness import (
    EXIT_LIMIT,
    STARTUP_LIMIT,
    ProgramNotReady,
    RunningProgram,
    start_launched_server,
)
from chatlib.course.wording import quoted_lines
from chatlib.serving import LOOPBACK, BackgroundServer, Handler, free_port


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

    def fatal_problem(self) -> ProgramProblem | None:
        """A mistake that fails every check alike, found in what the server reported."""
        return fatal_problem(self.program, "server") if self.program is not None else None

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
async def running_server(
    command: list[str], path: Path | None, environment: dict[str, str] | None = None
) -> AsyncIterator[ServerUnderTest]:
    """Launch ``command`` as it is (with ``environment`` added to its variables), wait until
    it serves, stop it after.

    The launcher (:mod:`chatlib.course.harness.launcher`) makes it listen on a free port of
    127.0.0.1 whatever address it asks for (a fixed ``localhost:8765``, ``--port``, its own
    way of reading ``sys.argv``), so no option is passed that the program might not expect,
    and no check ever competes for a port with another one or with the learner's own server.
    """
    try:
        program = await start_launched_server(command, path, STARTUP_LIMIT, environment)
    except ProgramNotReady as not_ready:
        what = "A server should start serving (`async with serve(...)`) as soon as it starts."
        waited = None if not_ready.ended else not_ready.waited
        raise startup_problem(not_ready.program, what, waited) from None
    try:
        yield ServerUnderTest(program.url, program)
    finally:
        await program.stop()


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

    async with BackgroundServer(recording_handler) as server:
        target.url = server.url
        yield target


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


OPTIONS_HINT = (
    "Read --host and --port with argparse (defaults localhost and 8765), pass them on to"
    " serve(), and print the URL the server listens on, as the starter's main() does: the"
    " same file then runs beside another server, and whoever starts it knows where to connect."
)


async def takes_host_and_port_options(server: ServerUnderTest) -> None:
    """Started with ``--host 127.0.0.1 --port P``, it asks to serve there and prints its URL.

    The launcher still makes the copy listen on a free port: ``P`` is only what it should ask
    for, so the check never depends on ``P`` being free.
    """
    if server.program is None:
        raise NotCheckedHere("a handler served from a notebook cell has no command line")
    port = free_port()
    options = ["--host", LOOPBACK, "--port", str(port)]
    started = f"Started with `{' '.join(options)}`"
    try:
        program = await start_launched_server(
            [*server.program.command, *options], server.program.path
        )
    except ProgramNotReady as not_ready:
        program = not_ready.program
        said = error_report(program) or quoted_lines(
            program.stderr.lines[-3:] or program.stdout.lines[-3:]
        )
        raise CheckFailed(f"{started}, the server did not start serving; it said {said}.") from None
    try:
        asked_host, asked_port = program.asked
        if asked_port != str(port):
            raise CheckFailed(
                f"{started}, the server should listen on port {port}; it asked for"
                f" {asked_host}:{asked_port} instead."
            )
        # Either port is right: the one asked for, or the real one read from the server.
        printed = rf"ws://\S+:({port}|{program.port})\b"
        # A log line on stderr (logging's default) says it as well as a print; it has
        # arrived by the time the wait for a printed one is over.
        in_print = await program.stdout.wait_for(printed, 1.0) is not None
        if not in_print and not any(re.search(printed, line) for line in program.stderr.lines):
            raise CheckFailed(
                f"{started}, the server should print the URL it listens on (ws://...:{port});"
                f" it printed {quoted_lines(program.stdout.lines[-3:])}."
            )
    finally:
        await program.stop()
