"""A real Redis for the tests: ``redis-server`` on a free port of 127.0.0.1, in a temp dir.

The fixture ``redis_server`` starts one, waits until it answers PING, and stops it after the
test. Without a ``redis-server`` binary the test is skipped with the reason, except in CI
(``CI`` is set), where ``.ci/run`` installs it: there a missing binary is a failure.
"""

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

START_TIMEOUT = 5  # seconds for redis-server to answer PING
STOP_TIMEOUT = 5  # seconds for it to exit once asked


def free_port() -> int:
    """A port that nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One ``redis-server`` subprocess that can be stopped and started again on its port."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None
        self.log_reader: asyncio.Task | None = None

    async def start(self) -> None:
        """Start it (without saving anything to disk) and wait until it answers PING."""
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        log: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while b"Ready to accept connections" not in (line := await self.next_log_line()):
                    log.append(line.decode(errors="replace"))
                    if not line:
                        pytest.fail(f"redis-server exited at start:\n{''.join(log)}")
                assert await self.answers_ping(), "redis-server is ready but does not answer PING"
        except TimeoutError:
            pytest.fail(f"redis-server was not ready within {START_TIMEOUT} s:\n{''.join(log)}")
        # Keep reading its log, so that the pipe never fills up and blocks it.
        self.log_reader = asyncio.create_task(self.read_rest_of_log())

    async def next_log_line(self) -> bytes:
        assert self.process is not None and self.process.stdout is not None
        return await self.process.stdout.readline()

    async def read_rest_of_log(self) -> None:
        while await self.next_log_line():
            pass

    async def answers_ping(self) -> bool:
        """True when a PING on a fresh connection gets PONG."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(b"PING\r\n")
            return await reader.readline() == b"+PONG\r\n"
        finally:
            writer.close()

    async def stop(self) -> None:
        """Stop it at once, as a crash or ``kill -9`` would: no goodbye to its clients."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.kill()
        async with asyncio.timeout(STOP_TIMEOUT):
            await self.process.wait()
            if self.log_reader is not None:
                await self.log_reader


def redis_binary() -> str:
    """Where ``redis-server`` is; skip (fail in CI) when it is nowhere."""
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if binary is None:
        reason = "no redis-server found: install it (apt-get install redis-server) to run this"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; in CI, .ci/run installs it")
        pytest.skip(reason)
    return binary


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A fresh Redis for one test, stopped after it."""
    server = RedisServer(redis_binary(), tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
