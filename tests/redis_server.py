"""A real Redis for the tests (:class:`chatlib.course.redis_process.RedisServer`), one per test.

The fixture ``redis_server`` starts one on a free port of 127.0.0.1 in the test's temporary
folder, waits until it answers PING, and stops it after the test. Without a ``redis-server``
binary the test is skipped with the reason, except in CI (``CI`` is set), where ``.ci/run``
installs it: there a missing binary is a failure.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatlib.course.redis_process import REDIS_MISSING, RedisNotStarted, RedisServer, redis_binary


def require_redis() -> None:
    """Skip the test when redis-server is missing; in CI, fail instead."""
    if redis_binary() is not None:
        return
    reason = f"{REDIS_MISSING}: install it to run this"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; in CI, .ci/run installs it")
    pytest.skip(reason)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A fresh Redis for one test, stopped after it."""
    require_redis()
    server = RedisServer(tmp_path)
    try:
        await server.start()
    except RedisNotStarted as error:
        pytest.fail(str(error))
    try:
        yield server
    finally:
        await server.stop()
