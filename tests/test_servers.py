"""The first three servers of the course, in the test's event loop: echo, uppercase, broadcast."""

import pytest
from conftest import receive
from websockets.asyncio.client import connect

from chatlib.broadcast import BroadcastRoom
from chatlib.echo import echo
from chatlib.uppercase import shout

# --- Echo -------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["Hello, echo!", b"\x00\x01binary\xff"], ids=["text", "bytes"])
async def test_echo_replies_with_exactly_what_was_sent(serve_locally, message):
    server = await serve_locally(echo)
    async with connect(server.url) as client:
        await client.send(message)

        assert await receive(client) == message


async def test_echo_replies_only_to_the_sender(serve_locally):
    server = await serve_locally(echo)
    async with connect(server.url) as alice, connect(server.url) as bob:
        await alice.send("from Alice")
        assert await receive(alice) == "from Alice"

        # Had Alice's message gone to Bob as well, it would arrive before Bob's own reply.
        await bob.send("from Bob")
        assert await receive(bob) == "from Bob"
        await alice.send("Alice again")
        assert await receive(alice) == "Alice again"


# --- Uppercase --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("hello", "HELLO", id="ascii"),
        pytest.param("straße", "STRASSE", id="sharp-s"),
        pytest.param("Zoë said: 42 is fine!", "ZOË SAID: 42 IS FINE!", id="mixed"),
    ],
)
async def test_uppercase_replies_with_the_message_in_capitals(serve_locally, message, reply):
    server = await serve_locally(shout)
    async with connect(server.url) as client:
        await client.send(message)

        assert await receive(client) == reply == message.upper()


async def test_uppercase_answers_several_messages_on_one_connection(serve_locally):
    server = await serve_locally(shout)
    async with connect(server.url) as client:
        for message in ["one", "two", "three"]:
            await client.send(message)

        assert [await receive(client) for _ in range(3)] == ["ONE", "TWO", "THREE"]


async def test_uppercase_explains_binary_messages_and_stays_open(serve_locally):
    server = await serve_locally(shout)
    async with connect(server.url) as client:
        await client.send(b"\x01\x02")
        explanation = await receive(client)
        await client.send("still open?")

        assert isinstance(explanation, str)
        assert "text" in explanation
        assert await receive(client) == "STILL OPEN?"


# --- Broadcast --------------------------------------------------------------------------------


async def test_broadcast_sends_each_message_to_every_client_sender_included(serve_locally):
    server = await serve_locally(BroadcastRoom().handler)
    async with (
        connect(server.url) as alice,
        connect(server.url) as bob,
        connect(server.url) as carol,
    ):
        await alice.send("Hi from Alice")
        assert [await receive(client) for client in (alice, bob, carol)] == ["Hi from Alice"] * 3

        await carol.send("Hi from Carol")
        assert [await receive(client) for client in (alice, bob, carol)] == ["Hi from Carol"] * 3


@pytest.mark.parametrize("departure", ["clean close", "abrupt disconnect"])
async def test_broadcast_forgets_a_client_that_left_and_keeps_serving_the_others(
    serve_locally, departure
):
    room = BroadcastRoom()
    server = await serve_locally(room.handler)
    async with (
        connect(server.url) as alice,
        connect(server.url) as bob,
        connect(server.url) as carol,
    ):
        assert len(room.clients) == 3

        if departure == "clean close":
            await carol.close()
        else:
            carol.transport.abort()  # The network vanished: no closing handshake.
        await server.handler_returned()
        await alice.send("Still here?")

        assert len(room.clients) == 2
        assert await receive(alice) == "Still here?"
        assert await receive(bob) == "Still here?"
