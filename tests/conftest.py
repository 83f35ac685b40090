"""Fixtures shared by the tests: real servers on 127.0.0.1, any free port.

- ``serve_locally`` runs a handler in the test's own event loop (for chatlib's servers as
  functions and classes), through chatlib's one way to serve in the background;
- ``start_server_process`` runs a program of ``python -m chatlib`` as a subprocess (for the
  command lines, exactly as a learner starts them), through chatlib's harness, and reads
  its output and log as they come, so a test can wait for a line instead of sleeping;
- ``report_time`` records how long something took next to its target; the run's summary
  prints every such time (a speed target is shown, never asserted: see its docstring).

Both stop what they started at teardown, and fail loudly when something went wrong behind
the test's back: a handler that raised, a process still running after it was asked to stop.
"""

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import InvalidStatus

from chatlib.course.harness import ProgramNotReady, RunningProgram, start_server_program
from chatlib.serving import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 10  # seconds for a subprocess to print the URL it listens on
STOP_TIMEOUT = 5  # seconds for a server to stop once asked

Handler = Callable[[ServerConnection], Awaitable[None]]
TIMEOUT = 2  # seconds to wait for any one message


def pytest_configure(config: pytest.Config) -> None:
    """Let the programs the tests start be stopped with Ctrl-C, however this run was started.

    Many tests press Ctrl-C (send SIGINT) on a client, a server or the checker's watcher. A
    run started in the background (``make test &`` in a script, ``nohup``, some CI runners)
    inherits SIGINT *ignored*, every program it starts inherits that too, and each of those
    tests would fail for a reason that is not in the code. A handler set here is reset to
    the default in every program started from here, as a terminal would have it. (chatlib's
    harness does the same for the programs the checker starts: a learner may run it in the
    background too.)
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup``, stop at once if pytest-xdist lost the groups.

    pytest-xdist says which group a test is in by appending ``@group`` to its node id on the
    worker; where that does not take (pytest 9.2 with pytest-xdist 3.8), the marks are ignored
    without a word: tests that share one costly setup (a JupyterLab, a JupyterHub, one
    notebook's run) are spread over the workers, and each worker makes the setup again, or the
    hub's users log in twice. A loud error here is better than a slow or flaky run later.
    """
    if getattr(config.option, "loadgroup", False):
        lost = [
            item.nodeid
            for item in items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
        ]
        if lost:
            raise pytest.UsageError(
                f"pytest-xdist ignored the xdist_group mark of {len(lost)} tests ({lost[0]}):"
                " this pytest and pytest-xdist do not work together; see pyproject.toml"
            )


# --- Times next to their targets, printed at the end of the run -------------------------------

TIME_PROPERTY = "time_against_target"  # The key of a reported time in a test's user_properties.


@pytest.fixture
def report_time(record_property: Callable[[str, object], None]) -> Callable[..., None]:
    """``report_time(what, subject, seconds, target)``: show a measured time in the summary.

    A test that asserted ``seconds < target`` would fail whenever the machine is busy (other
    workers, a CI neighbour) and pass on a quiet one: it would test the machine, not the code.
    So the time is recorded instead (pytest-xdist carries it from the worker), and the run's
    summary prints every one next to its target, marked where it went over.
    """

    def report(what: str, subject: str, seconds: float, target: float) -> None:
        record_property(TIME_PROPERTY, (what, subject, round(seconds, 1), target))

    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the times that tests reported with ``report_time``, grouped by what was timed."""
    reported = {
        tuple(value)
        for reports in terminalreporter.stats.values()
        for report in reports
        for key, value in getattr(report, "user_properties", ())
        if key == TIME_PROPERTY
    }
    for what in sorted({what for what, *_ in reported}):
        terminalreporter.section(f"{what}: time against target")
        for _, subject, seconds, target in sorted(entry for entry in reported if entry[0] == what):
            over = "  over the target: a slower lesson, or a busy machine"
            terminalreporter.write_line(
                f"{seconds:6.1f} s of {target} s  {subject}{over if seconds > target else ''}"
            )


async def receive(websocket: ClientConnection) -> str | bytes:
    """The next message on ``websocket``; fail the test if none arrives within TIMEOUT."""
    try:
        async with asyncio.timeout(TIMEOUT):
            return await websocket.recv()
    except TimeoutError:
        pytest.fail(f"nothing received within {TIMEOUT} s")


async def refused_origin(url: str, origin: str, **connect_options: Any) -> bytes:
    """Open a WebSocket to ``url`` as a page of ``origin``; require a 403, return its body."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin=origin, **connect_options):
            pass
    assert refused.value.response.status_code == 403
    return refused.value.response.body


# --- Servers in the test's event loop ---------------------------------------------------------


@dataclass
class LocalServer:
    """A server running in the test's event loop, and the connections whose handler returned."""

    url: str
    server: Server
    finished: asyncio.Queue[ServerConnection] = field(default_factory=asyncio.Queue)
    errors: list[BaseException] = field(default_factory=list)

    async def handler_returned(self, timeout: float = 2) -> ServerConnection:
        """Wait until one more connection's handler has returned, and return that connection.

        This is how a test knows the server has finished with a client that left (its
        ``finally`` clauses have run) without sleeping.
        """
        try:
            async with asyncio.timeout(timeout):
                return await self.finished.get()
        except TimeoutError:
            pytest.fail(f"no connection handler returned within {timeout} s")


@pytest.fixture
async def serve_locally() -> AsyncIterator[Callable[..., Awaitable[LocalServer]]]:
    """Serve handlers as chatlib serves in the background; stop every one after the test.

    ``start(handler, **options)`` serves on 127.0.0.1, any free port, through
    :class:`chatlib.serving.BackgroundServer` (``options`` go to websockets' ``serve()``).
    """
    started: list[tuple[BackgroundServer, LocalServer]] = []

    async def start(handler: Handler, **serve_options: Any) -> LocalServer:
        async def tracked_handler(websocket: ServerConnection) -> None:
            try:
                await handler(websocket)
            except Exception as error:
                local.errors.append(error)
                raise
            finally:
                local.finished.put_nowait(websocket)

        running = await BackgroundServer(tracked_handler, **serve_options).start()
        local = LocalServer(url=running.url, server=running.server)
        started.append((running, local))
        return local

    yield start

    for running, _ in started:
        await running.stop()
    errors = [error for _, local in started for error in local.errors]
    assert not errors, f"a connection handler raised: {errors!r}"


# --- Servers as command lines -----------------------------------------------------------------


@dataclass
class ProcessExit:
    """How a subprocess ended: its exit status and everything it wrote."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class ServerProcess:
    """A ``python -m chatlib ...-server`` subprocess that said where it listens.

    Everything it prints is kept (``program.stdout``, and its log in ``program.stderr``).
    """

    program: RunningProgram
    stop_requested: bool = False

    @property
    def url(self) -> str:
        return self.program.url

    @property
    def port(self) -> int:
        return self.program.port

    @property
    def pid(self) -> int:
        return self.program.process.pid

    @property
    def log(self) -> str:
        """Everything the server logged so far."""
        return self.program.stderr.text()

    async def log_line(self, fragment: str, timeout: float = STOP_TIMEOUT) -> str:
        """Wait until the server has logged a line containing ``fragment``; return that line."""
        found = await self.program.stderr.wait_for(re.escape(fragment), timeout)
        if found is None:
            pytest.fail(
                f"the server logged no line with {fragment!r} within {timeout} s;"
                f" its log so far:\n{self.log}"
            )
        return found.string

    def send_signal(self, stop_signal: signal.Signals) -> None:
        """Ask the server to stop; from now on it is expected to exit."""
        self.stop_requested = True
        self.program.process.send_signal(stop_signal)

    async def exited(self, timeout: float = STOP_TIMEOUT) -> ProcessExit:
        """Wait (at most ``timeout`` seconds) for the process to exit; everything it wrote."""
        returncode = await self.program.wait_for_exit(timeout)
        if returncode is None:
            command = " ".join(self.program.command)
            pytest.fail(f"{command} was still running {timeout} s after the signal")
        return ProcessExit(returncode, self.program.stdout.text(), self.program.stderr.text())

    async def stop(self, stop_signal: signal.Signals = signal.SIGTERM) -> ProcessExit:
        """Send ``stop_signal`` (SIGTERM: as ``kill`` does) and wait for the exit."""
        self.send_signal(stop_signal)
        return await self.exited()


def chatlib_command(*args: str) -> list[str]:
    """The command line ``python -m chatlib ARGS`` with the interpreter running the tests."""
    return [sys.executable, "-m", "chatlib", *args]


@pytest.fixture
async def start_server_process() -> AsyncIterator[Callable[..., Awaitable[ServerProcess]]]:
    """Start ``python -m chatlib PROGRAM --host 127.0.0.1 --port 0`` and wait for its URL.

    At teardown, a process still running is killed; if the test had asked it to stop, that
    is a failure of its own.
    """
    servers: list[ServerProcess] = []

    async def start(program: str, *extra_args: str) -> ServerProcess:
        command = chatlib_command(program, "--host", "127.0.0.1", "--port", "0", *extra_args)
        try:
            running = await start_server_program(
                command, cwd=ROOT, within=STARTUP_TIMEOUT, keep_all_output=True
            )
        except ProgramNotReady as not_ready:
            pytest.fail(str(not_ready))
        servers.append(ServerProcess(running))
        return servers[-1]

    yield start

    left_running = []
    for server in servers:
        if server.program.exit_code is None and server.stop_requested:
            left_running.append(server.pid)
        await server.program.kill()
    assert not left_running, (
        f"killed server processes still running after a stop signal: {left_running}"
    )
