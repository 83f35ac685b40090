"""A throw-away Redis: ``redis-server`` on a free port of 127.0.0.1, keeping nothing on disk.

The scaling-out tests and ``python -m chatlib.course.bench.scaling`` both need a Redis of their own
that they can start, stop (as a crash would) and start again on the same port. This class
does it once for both.
"""

import asyncio
import shutil
from pathlib import Path

from chatlib.serving import free_port

START_TIMEOUT = 5  # seconds for redis-server to answer PING
STOP_TIMEOUT = 5  # seconds for it to exit once killed


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
        *(binary, "--port", str(port), "--bind", "127.0.0.1"),
        *("--save", "", "--appendonly", "no", "--dir", str(folder)),
    ]


class RedisServer:
    """One ``redis-server`` subprocess that can be stopped and started again on its port."""

    def __init__(self, folder: str | Path) -> None:
        """Prepare a Redis on a free port; ``folder`` is its working directory (kept empty)."""
        binary = redis_binary()
        if binary is None:
            raise RedisNotStarted(REDIS_MISSING)
        self.binary = binary
        self.folder = Path(folder)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None
        self.log_reader: asyncio.Task | None = None

    async def start(self) -> None:
        """Start it (saving nothing to disk) and wait until it answers PING."""
        self.process = await asyncio.create_subprocess_exec(
            *redis_command(self.binary, self.port, self.folder),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        log: list[str] = []
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while b"Ready to accept connections" not in (line := await self.next_log_line()):
                    log.append(line.decode(errors="replace"))
                    if not line:
                        raise RedisNotStarted(f"redis-server exited at start:\n{''.join(log)}")
                if not await self.answers_ping():
                    raise RedisNotStarted("redis-server is ready but does not answer PING")
        except TimeoutError:
            message = f"redis-server was not ready within {START_TIMEOUT} s:\n{''.join(log)}"
            raise RedisNotStarted(message) from None
        # Keep reading its log, so that the pipe never fills up and blocks it.
        self.log_reader = asyncio.create_task(self.read_rest_of_log())

    async def next_log_line(self) -> bytes:
        """The next line redis-server printed (empty once it has exited)."""
        assert self.process is not None and self.process.stdout is not None
        return await self.process.stdout.readline()

    async def read_rest_of_log(self) -> None:
        """Read and forget the log until redis-server exits."""
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
