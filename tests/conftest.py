"""Fixtures shared by the tests: real servers on 127.0.0.1, any free port.

- ``serve_locally`` runs a handler in the test's own event loop (for chatlib's servers as
  functions and classes);
- ``start_server_process`` runs a program of ``python -m chatlib`` as a subprocess (for the
  command lines, exactly as a learner starts them).

Both stop what they started at teardown, and fail loudly when something went wrong behind
the test's back: a handler that raised, a process still running after it was asked to stop.
"""

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import Server, ServerConnection, serve

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 10  # seconds for a subprocess to print the URL it listens on
STOP_TIMEOUT = 5  # seconds for a server to stop once asked
URL_PATTERN = re.compile(r"ws://\S+:(\d+)")

Handler = Callable[[ServerConnection], Awaitable[None]]
TIMEOUT = 2  # seconds to wait for any one message


async def receive(websocket: ClientConnection) -> str | bytes:
    """The next message on ``websocket``; fail the test if none arrives within TIMEOUT."""
    try:
        async with asyncio.timeout(TIMEOUT):
            return await websocket.recv()
    except TimeoutError:
        pytest.fail(f"nothing received within {TIMEOUT} s")


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
    """Start ``serve(handler, "127.0.0.1", 0, **options)``; close every such server after."""
    started: list[LocalServer] = []

    async def start(handler: Handler, **serve_options: Any) -> LocalServer:
        async def tracked_handler(websocket: ServerConnection) -> None:
            try:
                await handler(websocket)
            except Exception as error:
                local.errors.append(error)
                raise
            finally:
                local.finished.put_nowait(websocket)

        server = await serve(tracked_handler, "127.0.0.1", 0, **serve_options)
        port = server.sockets[0].getsockname()[1]
        local = LocalServer(url=f"ws://127.0.0.1:{port}", server=server)
        started.append(local)
        return local

    yield start

    for local in started:
        local.server.close()
        async with asyncio.timeout(STOP_TIMEOUT):
            await local.server.wait_closed()
    errors = [error for local in started for error in local.errors]
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
    """A ``python -m chatlib ...-server`` subprocess that said where it listens."""

    process: asyncio.subprocess.Process
    command: list[str]
    url: str
    port: int
    first_lines: list[str]
    stop_requested: bool = False

    def send_signal(self, stop_signal: signal.Signals) -> None:
        """Ask the server to stop; from now on it is expected to exit."""
        self.stop_requested = True
        self.process.send_signal(stop_signal)

    async def exited(self, timeout: float = STOP_TIMEOUT) -> ProcessExit:
        """Wait (at most ``timeout`` seconds) for the process to exit, and read its output."""
        try:
            async with asyncio.timeout(timeout):
                stdout, stderr = await self.process.communicate()
        except TimeoutError:
            pytest.fail(f"{' '.join(self.command)} was still running {timeout} s after the signal")
        assert self.process.returncode is not None
        return ProcessExit(
            self.process.returncode,
            "".join(self.first_lines) + stdout.decode(errors="replace"),
            stderr.decode(errors="replace"),
        )


def chatlib_command(*args: str) -> list[str]:
    """The command line ``python -m chatlib ARGS`` with the interpreter running the tests."""
    return [sys.executable, "-m", "chatlib", *args]


@pytest.fixture
async def start_server_process() -> AsyncIterator[Callable[..., Awaitable[ServerProcess]]]:
    """Start ``python -m chatlib PROGRAM --host 127.0.0.1 --port 0`` and wait for its URL.

    At teardown, a process still running is killed; if the test had asked it to stop, that
    is a failure of its own.
    """
    processes: list[asyncio.subprocess.Process] = []
    servers: list[ServerProcess] = []

    async def start(program: str, *extra_args: str) -> ServerProcess:
        command = chatlib_command(program, "--host", "127.0.0.1", "--port", "0", *extra_args)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        processes.append(process)
        lines: list[str] = []
        match = None
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT):
                while match is None:
                    line = await process.stdout.readline()
                    if not line:
                        _, stderr = await process.communicate()
                        pytest.fail(
                            f"{' '.join(command)} exited ({process.returncode}) before printing"
                            f" its URL.\nstdout: {''.join(lines)!r}\nstderr: {stderr.decode()!r}"
                        )
                    lines.append(line.decode())
                    match = URL_PATTERN.search(lines[-1])
        except TimeoutError:
            pytest.fail(
                f"{' '.join(command)} printed no ws:// URL within {STARTUP_TIMEOUT} s;"
                f" stdout so far: {''.join(lines)!r}"
            )
        server = ServerProcess(process, command, match.group(0), int(match.group(1)), lines)
        servers.append(server)
        return server

    yield start

    stop_requested = {id(server.process) for server in servers if server.stop_requested}
    left_running = []
    for process in processes:
        if process.returncode is None:
            process.kill()
            if id(process) in stop_requested:
                left_running.append(process.pid)
        async with asyncio.timeout(STOP_TIMEOUT):
            await process.communicate()
    assert not left_running, (
        f"killed server processes still running after a stop signal: {left_running}"
    )
