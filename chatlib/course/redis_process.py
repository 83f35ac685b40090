"""A throw-away Redis: ``redis-server`` on a free port of 127.0.0.1, keeping nothing on disk.

Notebook 06 (``notebook.start_redis``), the scaling-out tests and ``python -m
chatlib.course.bench.scaling`` all need a Redis of their own that they can start, stop (as a
crash would) and start again on the same port. :class:`RedisServer` is the one way they do
it, and it runs ``redis-server`` as the harness runs every program (``RunningProgram``).
"""

import asyncio
import shutil
from pathlib import Path

from chatlib.course.harness import RunningProgram
from chatlib.serving import LOOPBACK, free_port

START_TIMEOUT = 10  # seconds for redis-server to be ready and answer PING
# What redis-server prints once it accepts connections.
READY_LINE = "Ready to accept connections"


class RedisNotStarted(RuntimeError):
    """redis-server is missing, exited at start, or did not answer in time."""


# Why there is no Redis to start: what every caller that skips or refuses says.
REDIS_MISSING = "no redis-server on PATH (apt-get install redis-server, brew install redis)"


def redis_binary() -> str | None:
    """Where ``redis-server`` is on ``PATH``, or ``None`` (see :data:`REDIS_MISSING`).

    The one lookup for every caller: whoever checks that Redis is there starts the binary
    this returns, so a ``redis-server`` taken off ``PATH`` is missing for all of them. (A
    fallback to ``/usr/bin`` once made the notebook start a Redis that its check had not
    found.)
    """
    return shutil.which("redis-server")


def redis_command(binary: str, port: int, folder: str | Path) -> list[str]:
    """The command line of a Redis on 127.0.0.1:``port`` that never writes to disk.

    Without ``--save ''`` and with ``--appendonly no``, a stopped Redis forgets everything,
    as a crashed one without persistence would: what notebook 06 and the tests show.
    """
    return [
        *(binary, "--port", str(port), "--bind", LOOPBACK),
        *("--save", "", "--appendonly", "no", "--dir", str(folder)),
    ]


class RedisServer:
    """One ``redis-server`` subprocess that can be stopped and started again on its port."""

    def __init__(self, folder: str | Path, port: int | None = None) -> None:
        """Prepare a Redis on ``port``, by default one free now (Redis cannot be given port
        0: that turns its TCP listener off); ``folder`` is its working directory (kept empty).
        """
        binary = redis_binary()
        if binary is None:
            raise RedisNotStarted(REDIS_MISSING)
        self.binary = binary
        self.folder = Path(folder)
        self.port = port or free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        self.program: RunningProgram | None = None

    async def start(self) -> None:
        """Start it (saving nothing to disk) and wait until it answers PING.

        It runs in a process group of its own, so that a notebook's interrupt button leaves
        it running; it ends with the process that started it.
        """
        self.program = await RunningProgram.start(
            redis_command(self.binary, self.port, self.folder),
            cwd=self.folder,
            own_process_group=True,
        )
        if await self.program.stdout.wait_for(READY_LINE, START_TIMEOUT) is None:
            exited = self.program.exit_code is not None
            await self.program.kill()
            problem = "exited at start" if exited else f"was not ready within {START_TIMEOUT} s"
            raise RedisNotStarted(f"redis-server {problem}:\n{self.program.stdout.text()}")
        if not await self.answers_ping():
            await self.program.kill()
            raise RedisNotStarted(f"redis-server is ready but does not answer PING on {self.url}")

    async def answers_ping(self) -> bool:
        """True when a PING on a fresh connection gets PONG within :data:`START_TIMEOUT`."""
        try:
            async with asyncio.timeout(START_TIMEOUT):
                reader, writer = await asyncio.open_connection(LOOPBACK, self.port)
                try:
                    writer.write(b"PING\r\n")
                    return await reader.readline() == b"+PONG\r\n"
                finally:
                    writer.close()
        except (OSError, TimeoutError):
            return False

    async def stop(self) -> None:
        """Stop it at once, as a crash or ``kill -9`` would: no goodbye to its clients."""
        if self.program is not None:
            await self.program.kill()
