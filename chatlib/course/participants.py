"""Chat users played by code: each drives a websockets client and remembers what it receives.

The checks play their scenes with them (Alice, Bob, Carol against the server under test), the
notebook helpers play scripted conversations, and notebook 06 talks across two servers. A
participant knows nothing of the checker: when it cannot do its part (connect, send, receive
a line it expects) it raises :class:`ConversationFailed`, whose message says what happened;
the checker reports that as a requirement not met.
"""

import asyncio
import contextlib
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import CLOSE_CODE_EXPLANATIONS

from chatlib.course.harness import Changes
from chatlib.course.wording import error_text, in_quotes, quoted_lines
from chatlib.websockets_internals import abort

# How long a chat line may take to arrive. On one machine a line arrives in well under a
# millisecond; a second leaves room for a slow laptop without hiding a line that never comes.
ARRIVAL_LIMIT = 1.0


class ConversationFailed(Exception):
    """A participant could not do its part: connect, send, or receive a line it expects.

    The message says what happened, for the person who reads it (a learner, in a report).
    """


class Participant:
    """A chat user played by code: it connects, talks, and records every line.

    A background task reads every message as it arrives, so a check can ask afterwards
    what this participant saw, and in which order.
    """

    def __init__(self, name: str, websocket: ClientConnection) -> None:
        self.name = name
        self.websocket = websocket
        self.received: list[str] = []
        self.changes = Changes()
        self._reader = asyncio.create_task(self._read_everything())

    @classmethod
    async def connect(cls, url: str, name: str) -> "Participant":
        """Open a connection without sending anything yet."""
        try:
            websocket = await connect(url, open_timeout=5)
        except (OSError, TimeoutError) as error:
            raise ConversationFailed(
                f"{name} could not connect to {url} ({error_text(error)})."
            ) from None
        return cls(name, websocket)

    @classmethod
    async def join(cls, url: str, name: str) -> "Participant":
        """Connect and send ``name`` as the first message, as the assignment says."""
        participant = await cls.connect(url, name)
        await participant.send(name)
        await participant.settle()
        return participant

    async def _read_everything(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.websocket:
                if isinstance(message, bytes):
                    message = f"(binary message: {message!r})"
                # A server may pack several lines into one message; count each line.
                self.received.extend(message.split("\n"))
                self.changes.notify()
        self.changes.notify()

    async def send(self, message: str | bytes) -> None:
        """Send one message; a closed connection is a :class:`ConversationFailed`, not a crash."""
        try:
            await self.websocket.send(message)
        except ConnectionClosed:
            raise ConversationFailed(
                f"{self.name} tried to send {message!r}, but the server had already closed the"
                f" connection ({self.describe_close()})."
            ) from None

    async def say(self, text: str) -> None:
        """Send a chat message and wait until the server has read it."""
        await self.send(text)
        await self.settle()

    async def settle(self) -> None:
        """Wait until the server has read everything sent so far.

        A ping is answered after the frames sent before it have been read, so once the pong
        is back, the server has our earlier messages. This orders events across connections
        (Bob's name is known before Alice talks) without sleeping.
        """
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            pong = await self.websocket.ping()
            await asyncio.wait_for(pong, ARRIVAL_LIMIT)

    async def longest_ping_wait(
        self, busy: Callable[[], bool], enough: float, within: float = 3.0
    ) -> float:
        """Ping the server again and again while ``busy()``; the longest wait for a pong (s).

        websockets answers a ping as soon as the event loop reads it, whatever the handlers
        are doing, unless something blocks the loop itself. At least two pings are sent:
        the first may be answered before the server starts the work that blocks it. The
        pinging stops at the first wait over ``enough`` (s), after ``within``, or when the
        connection closes.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        longest, pings = 0.0, 0
        while (busy() or pings < 2) and loop.time() < deadline:
            sent = loop.time()
            try:
                pong = await self.websocket.ping()
                await asyncio.wait_for(pong, within)
            except ConnectionClosed:
                break  # Why the server closed it is for the other requirements to say.
            except TimeoutError:
                pass
            longest, pings = max(longest, loop.time() - sent), pings + 1
            if longest > enough:
                break
        return longest

    async def leave(self) -> None:
        """Close the connection cleanly, as a client that quits does."""
        await self.websocket.close()

    def vanish(self) -> None:
        """Drop the connection without a goodbye, as a crashed client or lost network does."""
        abort(self.websocket)

    async def gone(self, within: float = ARRIVAL_LIMIT) -> None:
        """Wait (at most ``within`` s) until ``vanish`` has shut this side's socket."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.websocket.wait_closed(), within)

    async def wait_until(
        self, matches: Callable[[str], bool], within: float = ARRIVAL_LIMIT, start: int = 0
    ) -> int | None:
        """Wait for a line (from index ``start`` on) that ``matches``; its index, or ``None``."""

        def matching_index() -> int | None:
            found = (i for i in range(start, len(self.received)) if matches(self.received[i]))
            return next(found, None)

        return await self.changes.wait_until(matching_index, within, over=self._reader.done)

    async def wait_for(
        self, expected: str, within: float = ARRIVAL_LIMIT, start: int = 0
    ) -> list[str] | None:
        """Wait until the line ``expected`` arrives; the lines from ``start`` up to it, or None."""
        index = await self.wait_until(lambda line: line == expected, within, start)
        return None if index is None else self.received[start:index]

    async def expect(
        self, expected: str, after: str, within: float = ARRIVAL_LIMIT, start: int = 0
    ) -> list[str]:
        """Require that ``expected`` arrives; ``after`` says what should have caused it.

        Returns the lines received before it (from index ``start`` on). The failure message
        follows one pattern: what happened, what this participant should have received, and
        what it did receive.
        """
        earlier = await self.wait_for(expected, within, start)
        if earlier is None:
            closed = f" (the server closed the connection: {self.describe_close()})"
            raise ConversationFailed(
                f"{after}; {self.name} should receive {in_quotes(expected)} within {within:g} s;"
                f" {self.name} received {quoted_lines(self.received)}"
                f"{closed if self._reader.done() else ''}."
            )
        return earlier

    async def expect_containing(
        self, text: str, after: str, within: float = ARRIVAL_LIMIT, start: int = 0
    ) -> int:
        """Require a line that contains ``text``, whatever its shape; its index.

        For the requirements judged on what arrives (a message reaches Bob, a departure is
        told), not on its exact wording: those are requirements of their own.
        """
        index = await self.wait_until(lambda line: text in line, within, start)
        if index is None:
            closed = f" (the server closed the connection: {self.describe_close()})"
            raise ConversationFailed(
                f"{after}; {self.name} should receive a line with {in_quotes(text)} in it (in"
                f" any shape) within {within:g} s; {self.name} received"
                f" {quoted_lines(self.received[start:])}{closed if self._reader.done() else ''}."
            )
        return index

    def describe_close(self) -> str:
        """The close code and reason, in words."""
        code = self.websocket.close_code
        if code is None:
            return "still open"
        reason = self.websocket.close_reason or CLOSE_CODE_EXPLANATIONS.get(code, "")
        return f"code {code}{', ' + reason if reason else ''}"

    async def close(self) -> None:
        """Release the connection at the end of a check, whatever state it is in."""
        self._reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(), 2)


@contextlib.asynccontextmanager
async def participants(url: str, *names: str):
    """Join the named participants one after the other; close them all at the end."""
    joined: list[Participant] = []
    try:
        for name in names:
            joined.append(await Participant.join(url, name))
        yield joined
    finally:
        for participant in joined:
            await participant.close()
