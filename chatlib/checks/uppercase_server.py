"""The uppercase server's requirements (the quick exercise)."""

import contextlib

from chatlib.checks.core import ARRIVAL_LIMIT, CheckFailed, Requirements
from chatlib.checks.participants import Participant
from chatlib.checks.servers import ServerUnderTest, stops_cleanly_on_ctrl_c

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
    expected = sent.upper()
    start = len(client.received)
    await client.send(sent)
    index = await client.wait_until(lambda line: True, start=start)
    if index is None:
        raise CheckFailed(
            f'{client.name} sent "{sent}"; it should receive "{expected}" within'
            f" {ARRIVAL_LIMIT:g} s; it received nothing."
        )
    if client.received[index] != expected:
        raise CheckFailed(
            f'{client.name} sent "{sent}"; it should receive "{expected}"; it received'
            f' "{client.received[index]}".'
        )


@REQUIREMENTS.requirement(
    "The reply is the message in upper case",
    hint="Python strings have a method that returns an upper-case copy: try help(str).",
)
async def replies_in_upper_case(server: ServerUnderTest) -> None:
    async with client_of(server) as client:
        await expect_reply(client, "hello, websockets")


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
        await expect_reply(second, "second")
        await expect_reply(first, "first")


REQUIREMENTS.requirement(
    "Ctrl-C stops the server cleanly (clients get code 1001, exit status 0)",
    hint="Leave the `async with serve(...)` block when Ctrl-C arrives: it closes every"
    " connection with 1001. The starter's main() already does this; keep it.",
)(stops_cleanly_on_ctrl_c)
