"""The uppercase server's requirements (the quick exercise).

The first one is the syllabus' first common mistake, a blocked event loop: checked first,
because a server that blocks makes every later check time out for reasons that send the
learner the wrong way.
"""

import contextlib

from chatlib.course.checks.core import (
    BLOCKED_LOOP_HINT,
    RESPONSIVE_LIMIT,
    CheckFailed,
    Requirements,
    longest_wait_seen_twice,
)
from chatlib.course.checks.servers import (
    OPTIONS_HINT,
    ServerUnderTest,
    stops_cleanly_on_ctrl_c,
    takes_host_and_port_options,
)
from chatlib.course.participants import ARRIVAL_LIMIT, Participant
from chatlib.course.wording import in_quotes

REQUIREMENTS = Requirements()


@contextlib.asynccontextmanager
async def client_of(server: ServerUnderTest, name: str = "The client"):
    """A connection to the server, closed at the end of the check."""
    client = await Participant.connect(server.url, name)
    try:
        yield client
    finally:
        await client.close()


async def expect_reply(client: Participant, sent: str) -> None:
    """``client`` sends ``sent`` and must receive ``sent.upper()`` as its next message."""
    start = len(client.received)
    await client.send(sent)
    await expect_reply_after(client, sent, start)


async def expect_reply_after(client: Participant, sent: str, start: int) -> None:
    """The next message ``client`` receives from index ``start`` on must be ``sent.upper()``."""
    expected = sent.upper()
    index = await client.wait_until(lambda line: True, start=start)
    if index is None:
        raise CheckFailed(
            f"{client.name} sent {in_quotes(sent)}; it should receive {in_quotes(expected)}"
            f" within {ARRIVAL_LIMIT:g} s; it received nothing."
        )
    if client.received[index] != expected:
        raise CheckFailed(
            f"{client.name} sent {in_quotes(sent)}; it should receive {in_quotes(expected)};"
            f" it received {in_quotes(client.received[index])}."
        )


@REQUIREMENTS.requirement(
    "A client is answered at once while another one's request is being served",
    hint=BLOCKED_LOOP_HINT,
    good_practice=True,
)
async def stays_responsive_while_serving(server: ServerUnderTest) -> None:
    waited = await longest_wait_seen_twice(lambda: second_clients_longest_wait(server))
    if waited > RESPONSIVE_LIMIT:
        raise CheckFailed(
            "While the server was answering the first client, the second client's ping"
            f" waited {waited:.1f} s for its answer, twice; it should be answered within"
            f" {RESPONSIVE_LIMIT:g} s. Something in the handler blocks the whole server."
        )


async def second_clients_longest_wait(server: ServerUnderTest) -> float:
    """Two clients send requests that overlap; how long the second waited for a pong (s)."""
    async with (
        client_of(server, "The first client") as first,
        client_of(server, "The second client") as second,
    ):
        # The second request is sent before the first is answered. What the replies say is
        # checked by the other requirements: here, only how long the second client waits for
        # the server's attention.
        await first.send("first request")
        await second.send("second request")
        return await second.longest_ping_wait(
            lambda: not (first.received and second.received),
            enough=RESPONSIVE_LIMIT,
            within=2 * ARRIVAL_LIMIT,
        )


@REQUIREMENTS.requirement(
    "The reply is the message in upper case",
    hint="Python strings have a method that returns an upper-case copy: try help(str).",
)
async def replies_in_upper_case(server: ServerUnderTest) -> None:
    async with client_of(server) as client:
        # Mixed case: swapping the case of each letter is not upper-casing.
        await expect_reply(client, "Hello, WebSockets")


@REQUIREMENTS.requirement(
    "Every message on a connection gets its own reply",
    hint="Keep reading in a loop (`async for message in websocket`) instead of answering once.",
    needs=replies_in_upper_case,
)
async def answers_every_message(server: ServerUnderTest) -> None:
    async with client_of(server) as client:
        for message in ("one", "two", "three"):
            await expect_reply(client, message)


@REQUIREMENTS.requirement(
    "Letters beyond English are raised too",
    hint="Python's own upper-casing knows every alphabet: rely on it rather than on a table"
    " of letters, and make sure nothing else changes the text.",
    needs=replies_in_upper_case,
)
async def handles_every_alphabet(server: ServerUnderTest) -> None:
    async with client_of(server) as client:
        await expect_reply(client, "straße, café, привет")


@REQUIREMENTS.requirement(
    "Several clients are served at the same time",
    hint="Do not block inside the handler (no time.sleep, no input()): each client's handler"
    " must give way to the others at every await.",
    needs=replies_in_upper_case,
)
async def serves_several_clients_at_once(server: ServerUnderTest) -> None:
    async with (
        client_of(server, "The first client") as first,
        client_of(server, "The second client") as second,
    ):
        # The requests overlap: the second is sent before the first one's reply is read.
        first_start = len(first.received)
        await first.send("first")
        await expect_reply(second, "second")
        await expect_reply_after(first, "first", first_start)


REQUIREMENTS.requirement(
    "Ctrl-C stops the server cleanly (clients get code 1001, exit status 0)",
    hint="Leave the `async with serve(...)` block when Ctrl-C arrives: it closes every"
    " connection with 1001. The starter's main() already does this; keep it.",
    good_practice=True,
)(stops_cleanly_on_ctrl_c)


REQUIREMENTS.requirement(
    "--host and --port choose where it listens, and it prints its URL",
    hint=OPTIONS_HINT,
    good_practice=True,
)(takes_host_and_port_options)
