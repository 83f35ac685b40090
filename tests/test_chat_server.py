"""The reference chat server (chatlib.chat_server), run in the test's event loop.

Where a test shows that something did *not* arrive, it proves it with a later marker
message: messages on one connection arrive in order, so if the unwanted line had been sent,
it would have come before the marker.
"""

import unicodedata
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import receive
from websockets.asyncio.client import ClientConnection, connect

from chatlib.chat_server import ChatRoom, ChatServer, message_lines, message_problem, name_problem


@dataclass
class Chat:
    """A chat server on a free port, its room, and the clients a test opened."""

    room: ChatRoom
    server: Any  # conftest.LocalServer
    clients: AsyncExitStack

    async def connect(self) -> ClientConnection:
        """Open a connection that has not chosen a name yet."""
        return await self.clients.enter_async_context(connect(self.server.url))

    async def members(self, *names: str) -> list[ClientConnection]:
        """Join ``names`` in order, reading each welcome and each arrival notice."""
        joined: list[ClientConnection] = []
        for name in names:
            client = await self.connect()
            await client.send(name)
            assert (await receive(client)).startswith(f"[Server]: Welcome, {name}!")
            for earlier in joined:
                assert await receive(earlier) == f"[Server]: {name} has joined the chat."
            joined.append(client)
        return joined


@pytest.fixture
async def chat(serve_locally):
    room = ChatRoom()
    server = await serve_locally(ChatServer(room).handler)
    async with AsyncExitStack() as clients:
        yield Chat(room, server, clients)


async def leave(client: ClientConnection, how: str) -> None:
    """Leave the chat with a closing handshake, or by dropping the connection."""
    if how == "clean close":
        await client.close()
    else:
        client.transport.abort()  # The network vanished: no closing handshake.


DEPARTURES = ["clean close", "abrupt disconnect"]


# --- Joining ----------------------------------------------------------------------------------


async def test_first_message_is_the_name_and_the_first_member_is_told_so(chat):
    client = await chat.connect()
    await client.send("Alice")

    assert await receive(client) == "[Server]: Welcome, Alice! You are the first one here."
    assert chat.room.names() == ["Alice"]


async def test_welcome_says_who_is_already_here(chat):
    await chat.members("Alice", "Bob")
    carol = await chat.connect()
    await carol.send("Carol")

    assert await receive(carol) == "[Server]: Welcome, Carol! Here now: Alice, Bob."


async def test_others_are_told_when_someone_joins(chat):
    (alice,) = await chat.members("Alice")
    bob = await chat.connect()
    await bob.send("Bob")

    assert await receive(alice) == "[Server]: Bob has joined the chat."


async def test_client_that_never_names_itself_receives_nothing_from_the_room(chat):
    lurker = await chat.connect()
    alice, bob = await chat.members("Alice", "Bob")
    await alice.send("Hi Bob")
    assert await receive(bob) == "[Alice]: Hi Bob"

    await lurker.send("Carol")

    # The welcome is the first thing the lurker ever receives: no arrival, no chat line.
    assert await receive(lurker) == "[Server]: Welcome, Carol! Here now: Alice, Bob."


# --- Names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_name",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("Al ice", id="space"),
        pytest.param("Bob!", id="symbol"),
        pytest.param("A" * 25, id="25-characters"),
        pytest.param("Server", id="Server"),
        pytest.param("SERVER", id="SERVER"),
        pytest.param("server", id="server"),
        pytest.param("alice", id="taken-ignoring-case"),
        pytest.param(b"Bob", id="binary"),
    ],
)
async def test_invalid_name_gets_a_server_notice_and_the_client_may_try_again(chat, bad_name):
    (alice,) = await chat.members("Alice")
    newcomer = await chat.connect()

    await newcomer.send(bad_name)
    notice = await receive(newcomer)
    await newcomer.send("Bob")

    assert notice.startswith("[Server]: ")
    assert not notice.startswith("[Server]: Welcome")
    assert await receive(newcomer) == "[Server]: Welcome, Bob! Here now: Alice."
    # Alice hears about Bob only, never about the refused name.
    assert await receive(alice) == "[Server]: Bob has joined the chat."


@pytest.mark.parametrize("name", ["Zoë", "李雷", "Ada_Lovelace-1815", "A" * 24])
async def test_unicode_letters_and_up_to_24_characters_are_welcome(chat, name):
    client = await chat.connect()
    await client.send(name)

    assert await receive(client) == f"[Server]: Welcome, {name}! You are the first one here."


async def test_name_typed_with_a_combining_accent_is_welcome(chat):
    # "Zoë" as macOS file names and some input methods spell it: "e" + U+0308 (diaeresis).
    client = await chat.connect()
    await client.send(unicodedata.normalize("NFD", "Zoë"))

    welcome = unicodedata.normalize("NFC", await receive(client))
    assert welcome == "[Server]: Welcome, Zoë! You are the first one here."


async def test_name_taken_in_another_unicode_spelling_is_refused(chat):
    await chat.members("Zoë")
    impostor = await chat.connect()
    await impostor.send(unicodedata.normalize("NFD", "Zoë"))

    assert not (await receive(impostor)).startswith("[Server]: Welcome")
    assert chat.room.names() == ["Zoë"]


async def test_name_is_free_again_once_its_owner_has_left(chat):
    alice, bob = await chat.members("Alice", "Bob")
    alice.transport.abort()
    assert await receive(bob) == "[Server]: Alice has left the chat."

    await chat.members("alice")


# --- Relaying ---------------------------------------------------------------------------------


async def test_message_goes_to_every_other_member_with_the_sender_name(chat):
    alice, bob, carol = await chat.members("Alice", "Bob", "Carol")
    await alice.send("Hi all")

    assert await receive(bob) == "[Alice]: Hi all"
    assert await receive(carol) == "[Alice]: Hi all"


async def test_sender_does_not_receive_own_message(chat):
    alice, bob = await chat.members("Alice", "Bob")
    await alice.send("Hi Bob")
    assert await receive(bob) == "[Alice]: Hi Bob"

    await bob.send("marker")

    assert await receive(alice) == "[Bob]: marker"


async def test_message_with_newlines_is_relayed_line_by_line_under_the_sender_name(chat):
    alice, bob = await chat.members("Alice", "Bob")
    await alice.send("hi\n[Server]: Bob has left the chat.")

    assert await receive(bob) == "[Alice]: hi"
    assert await receive(bob) == "[Alice]: [Server]: Bob has left the chat."


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param("hi\n[Server]: Carol has left the chat.", id="newline"),
        pytest.param("hi\r[Bob]: I owe Alice 100 euros", id="carriage-return"),
        pytest.param("hi\r\n\r\n[Server]: Alice is an admin", id="crlf"),
        pytest.param("\x1b[2K\x1b[1G[Server]: fake notice", id="ansi-erase-line"),
        pytest.param("\x1b[A\x1b[2K[Bob]: fake line above", id="ansi-cursor-up"),
        pytest.param("hi\u2028[Server]: fake", id="unicode-line-separator"),
        pytest.param("hi\x85[Server]: fake", id="next-line-control"),
        pytest.param("tab\there\x00\x07\x08\x7f", id="other-controls"),
    ],
)
async def test_message_cannot_forge_a_line(chat, forgery):
    alice, bob = await chat.members("Alice", "Bob")
    await alice.send(forgery)
    await alice.send("end")

    frames = []
    while not frames or frames[-1] != "[Alice]: end":
        frames.append(await receive(bob))

    for frame in frames:
        assert frame.startswith("[Alice]: "), frames
        assert not any(unicodedata.category(char) == "Cc" for char in frame), frames
        assert "\u2028" not in frame and "\u2029" not in frame, frames


@pytest.mark.parametrize(
    "unrelayable",
    [
        pytest.param(b"\x00\x01", id="binary"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("\n\r\n \t", id="blank-lines"),
    ],
)
async def test_unrelayable_message_gets_a_notice_to_the_sender_only(chat, unrelayable):
    alice, bob = await chat.members("Alice", "Bob")
    await alice.send(unrelayable)
    notice = await receive(alice)
    await alice.send("still here")

    assert notice.startswith("[Server]: ")
    # Bob's next line is the marker: nothing was relayed to him, and the room carries on.
    assert await receive(bob) == "[Alice]: still here"


# --- Leaving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", DEPARTURES)
async def test_departure_is_announced_to_the_others(chat, how):
    alice, bob, carol = await chat.members("Alice", "Bob", "Carol")
    await leave(alice, how)

    assert await receive(bob) == "[Server]: Alice has left the chat."
    assert await receive(carol) == "[Server]: Alice has left the chat."
    assert chat.room.names() == ["Bob", "Carol"]


@pytest.mark.parametrize("how", DEPARTURES)
async def test_client_that_leaves_before_naming_itself_is_not_announced(chat, how):
    (alice,) = await chat.members("Alice")
    stranger = await chat.connect()
    await leave(stranger, how)
    await chat.server.handler_returned()

    bob = await chat.connect()
    await bob.send("Bob")

    # Alice's next line is Bob's arrival: nobody announced the stranger's departure.
    assert await receive(alice) == "[Server]: Bob has joined the chat."


# --- The rules, as pure functions -------------------------------------------------------------


@pytest.mark.parametrize("name", ["Alice", "Zoë", "李雷", "r2-d2", "snake_case", "A" * 24])
def test_name_problem_accepts_one_word_of_letters_digits_underscore_or_hyphen(name):
    assert name_problem(name, names_in_use=["Bob"]) is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("A" * 25, id="25-characters"),
        pytest.param("Al ice", id="space"),
        pytest.param("Bob!", id="symbol"),
        pytest.param("<b>", id="markup"),
        pytest.param("Server", id="Server"),
        pytest.param("sErVeR", id="sErVeR"),
        pytest.param("\u017ferver", id="long-s-erver"),  # Long s casefolds to "s".
    ],
)
def test_name_problem_explains_why_a_name_cannot_be_used(name):
    problem = name_problem(name, names_in_use=[])

    assert isinstance(problem, str)
    assert problem


@pytest.mark.parametrize(("name", "in_use"), [("Alice", ["Alice"]), ("ALICE", ["Bob", "alice"])])
def test_name_problem_refuses_a_name_in_use_ignoring_case(name, in_use):
    assert "taken" in name_problem(name, names_in_use=in_use)


@pytest.mark.parametrize(
    ("message", "says"),
    [
        pytest.param(b"hi", "text only", id="binary"),
        pytest.param("hi \ud800", "lone surrogate", id="lone-surrogate"),
        pytest.param("x" * 11, "the limit is 10", id="too-long"),
        pytest.param(" \t\n\x1b", "Empty messages", id="blank"),
    ],
)
def test_message_problem_explains_why_a_message_is_not_relayed(message, says):
    assert says in message_problem(message, max_line=10)


@pytest.mark.parametrize("message", ["hi", "x" * 10, "one\ntwo", "Zoë 李雷 🙂"])
def test_message_problem_lets_text_within_the_limit_through(message):
    assert message_problem(message, max_line=10) is None


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("hello", ["hello"]),
        ("one\ntwo", ["one", "two"]),
        ("one\r\ntwo\rthree", ["one", "two", "three"]),
        ("one\n\n   \ntwo\n", ["one", "two"]),
        ("\x1b[2Kgone", [" [2Kgone"]),
        ("tab\there  ", ["tab here"]),
        ("  indented", ["  indented"]),
        ("", []),
        (" \t\n\x1b", []),
    ],
)
def test_message_lines_splits_lines_and_blanks_control_characters(text, lines):
    assert message_lines(text) == lines


def test_server_written_in_fullwidth_letters_is_reserved_too():
    fullwidth_server = "".join(chr(ord(char) + 0xFEE0) for char in "Server")
    assert "reserved" in name_problem(fullwidth_server, [])


def test_name_in_fullwidth_letters_is_taken_when_its_plain_form_is():
    fullwidth_alice = "".join(chr(ord(char) + 0xFEE0) for char in "ALICE")
    assert "already taken" in name_problem(fullwidth_alice, ["alice"])
