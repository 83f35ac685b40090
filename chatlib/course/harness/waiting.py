"""Wait until something has happened, within a deadline, without polling.

Every wait of the harness and the checks is one of these: a line a program prints, a
message a scripted server receives, a line a chat participant receives. Each holder keeps
a :class:`Changes` that it pokes after every change; whoever waits looks again only then,
and never longer than its deadline.
"""

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

Found = TypeVar("Found")


def never() -> bool:
    """The default for ``over``: more changes may always come."""
    return False


class Changes:
    """Tells waiters that something they watch has changed, so they look again."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Call after every change (a line read, a message received, a stream that ended)."""
        self._changed.set()

    async def wait_until(
        self,
        condition: Callable[[], Found | None],
        within: float,
        over: Callable[[], bool] = never,
    ) -> Found | None:
        """Wait until ``condition()`` finds something; what it found, or ``None``.

        ``condition()`` returns what was waited for (a line, an index, ``True``), or ``None``
        (or ``False``) while it is not there yet. The wait ends after ``within`` seconds, or
        as soon as ``over()`` says nothing more can change (the program exited, the
        connection closed): a program that crashed is reported at once, not at the deadline.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            self._changed.clear()
            # Asked before the condition: what ends the stream arrives with its last data.
            finished = over()
            found = condition()
            if found is not None and found is not False:
                return found
            remaining = deadline - loop.time()
            if finished or remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
