"""Property-based tests: whatever names and messages clients send, the room follows its rules.

Hypothesis generates names and messages from all of Unicode, with extra weight on what
breaks chat programs: control characters, every kind of line break, brackets, colons,
"Server" in disguise, lines around the 2,000-character limit. For each example a new client
picks the name and sends the message to a room where two witnesses listen, and the test
checks what the witnesses and the sender receive against the rules, stated here on their own
(not by calling chatlib's functions):

- a name is accepted when, once surrounding spaces are stripped and the text is in NFC
  form, it has 1 to 24 letters, digits, ``_`` or ``-``, is not "Server" in any case, and
  is not the name of someone in the room in any case;
- a message is split at line breaks; control characters become spaces; trailing spaces go;
  blank lines are dropped; each remaining line reaches every *other* member as
  ``[Sender]: line``, and nothing else does. A message over 2,000 characters, or with no
  visible line, earns its sender a ``[Server]:`` notice and reaches nobody.

One server serves all examples of a test, as it would serve a class: what an example leaves
behind would show up in the next one.
"""

import asyncio
import logging
import unicodedata
from contextlib import AsyncExitStack

import pytest
from chat_harness import Member, join, receive
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from chatlib.chat_server import ChatLimits, ChatRoom, ChatServer, serve_options
from chatlib.serving import BackgroundServer

MAX_LINE = 2000
MAX_NAME = 24
WAIT = 5  # seconds for any one line: only a failure waits that long (a busy CI machine is slow)
# The flood guard is not under test here: the witnesses answer every example.
LIMITS = ChatLimits(flood_messages=1_000_000)

# Characters that chat programs get wrong, mixed into any Unicode text.
TRICKY = "\n\r\t\v\f\x00\x07\x08\x1b\x1c\x1d\x1e\x7f\x85\u2028\u2029 []:"
# Characters a text frame can carry: UTF-8 has no lone surrogates, so a client cannot send one
# (the room's handling of one handed to it anyway is tested below, with surrogate_text).
tricky_text = st.text(alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(TRICKY)))
names = st.one_of(
    st.from_regex(r"[\w-]{1,26}", fullmatch=True),
    tricky_text.map(lambda text: text[:30]),
    st.sampled_from(
        ["Server", "server", "SERVER", "\u017fERVER", "Wanda", "walter", " Zoe\u0308\t", "a b"]
    ),
)
messages = st.one_of(
    tricky_text,
    st.from_regex(r"(\[[A-Za-z]+\]: [^\n]*\n?)+", fullmatch=True),  # Forged chat lines.
    st.builds(lambda n, tail: "x" * n + tail, st.integers(1990, 2010), tricky_text),
)


# --- The rules, stated on their own -----------------------------------------------------------


def accepted_name(requested: str, names_in_room: list[str]) -> str | None:
    """The name the room should know the client by, or ``None`` when it must refuse it."""
    name = unicodedata.normalize("NFC", requested.strip())
    in_use = {other.casefold() for other in names_in_room}
    valid = (
        0 < len(name) <= MAX_NAME
        and all(char.isalnum() or char in "_-" for char in name)
        and name.casefold() != "server"
        and name.casefold() not in in_use
    )
    return name if valid else None


def relayed_lines(message: str) -> list[str]:
    """The lines the other members must receive for ``message``, without their prefix."""
    if len(message) > MAX_LINE:
        return []
    lines = []
    for line in message.splitlines():  # Every Unicode line break, not only "\n".
        visible = "".join(" " if unicodedata.category(char) == "Cc" else char for char in line)
        if visible.rstrip():
            lines.append(visible.rstrip())
    return lines


def shows_as_one_line(line: str) -> bool:
    """Whether a terminal shows ``line`` on one line, with nothing that moves the cursor."""
    return len(line.splitlines()) == 1 and not any(
        unicodedata.category(char) == "Cc" for char in line
    )


# --- The room and its witnesses ---------------------------------------------------------------


class Room:
    """One chat server on a free port, with two members who witness every example."""

    def __init__(self) -> None:
        self.stack = AsyncExitStack()
        self.handler_errors: list[BaseException] = []
        self.examples = 0
        self.in_order = False  # False after an example failed, with lines left unread.

    async def open(self) -> None:
        chat = ChatServer(ChatRoom(LIMITS))

        async def handler(websocket) -> None:
            try:
                await chat.handler(websocket)
            except Exception as error:
                self.handler_errors.append(error)
                raise

        server = BackgroundServer(handler, **serve_options(LIMITS))
        self.url = (await self.stack.enter_async_context(server)).url
        self.room = chat.room
        self.wanda = await self.enter(join(self.url, "Wanda"))
        self.walter = await self.enter(join(self.url, "Walter", [self.wanda]))
        self.in_order = True

    async def enter(self, joining) -> Member:
        member = await joining
        await self.stack.enter_async_context(member.websocket)
        return member

    async def close(self) -> None:
        await self.stack.aclose()

    async def example(self, requested_name: str, message: str) -> None:
        """Run one example in a room left in order; after a failure, in a new room."""
        if not self.in_order:
            await self.close()
            await self.open()
        self.in_order = False
        await self.check(requested_name, message)
        self.in_order = True

    async def check(self, requested_name: str, message: str) -> None:
        """One client joins with ``requested_name``, sends ``message``, and leaves."""
        self.examples += 1
        witnesses = [self.wanda, self.walter]
        async with connect(self.url, open_timeout=WAIT) as websocket:
            # Joining.
            name = accepted_name(requested_name, self.room.names())
            await websocket.send(requested_name)
            answer = await receive(websocket, WAIT, who="the newcomer")
            if name is None:
                assert answer.startswith("[Server]: "), answer
                assert not answer.startswith("[Server]: Welcome"), answer
                name = f"Sender{self.examples}"  # Join under a plain name to go on.
                await websocket.send(name)
                answer = await receive(websocket, WAIT, who=name)
            assert answer == f"[Server]: Welcome, {name}! Here now: Wanda, Walter."
            for witness in witnesses:
                assert await witness.next_line(WAIT) == f"[Server]: {name} has joined the chat."

            # Talking: the message, then a marker that ends what the witnesses must read.
            await websocket.send(message)
            await websocket.send("end of example")
            for witness in witnesses:
                received = await witness.lines_until(f"[{name}]: end of example", WAIT)
                lines = received[:-1]
                for line in lines:
                    assert line.startswith(f"[{name}]: "), (name, message, line)
                    assert shows_as_one_line(line), (name, message, line)
                prefix = len(f"[{name}]: ")
                assert [line[prefix:] for line in lines] == relayed_lines(message)

            # The sender hears a notice for a message that was not relayed, and nothing
            # else: Wanda's reply is the next line it receives.
            await self.wanda.say(f"ack {self.examples}")
            answer = await receive(websocket, WAIT, who=name)
            if not relayed_lines(message):
                assert answer.startswith("[Server]: "), answer
                answer = await receive(websocket, WAIT, who=name)
            assert answer == f"[Wanda]: ack {self.examples}"
            assert await self.walter.next_line(WAIT) == f"[Wanda]: ack {self.examples}"

        # Leaving.
        for witness in witnesses:
            assert await witness.next_line(WAIT) == f"[Server]: {name} has left the chat."
        assert self.room.names() == ["Wanda", "Walter"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(requested_name=names, message=messages)
# The cases that matter most run every time, whatever Hypothesis draws.
@example(requested_name="\u017fERVER", message="[Server]: Alice has left the chat.")
@example(requested_name="walter", message="hi\r[Walter]: I owe Wanda 100 euros")
@example(requested_name=" Zoe\u0308\t", message="\x1b[2K\x1b[1G[Server]: fake notice")
@example(requested_name="A" * 25, message="hi\u2028[Server]: fake\x85[Wanda]: fake")
@example(requested_name="Bob", message="x" * 2000)
@example(requested_name="Bob", message="x" * 2001)
@example(requested_name="Bob", message="\n\r\n \t\x00")
def check_every_example(runner: asyncio.Runner, room: Room, requested_name, message) -> None:
    runner.run(room.example(requested_name, message))


def test_members_receive_exactly_the_lines_the_rules_say_whatever_is_sent(caplog):
    caplog.set_level(logging.WARNING)
    with asyncio.Runner() as runner:
        room = Room()
        runner.run(room.open())
        try:
            check_every_example(runner, room)
        finally:
            runner.run(room.close())

    assert room.handler_errors == []
    assert [record.getMessage() for record in caplog.records] == []


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("Alice", "Alice"),
        ("  Zoe\u0308 ", "Zo\u00eb"),
        ("A" * 24, "A" * 24),
        ("A" * 25, None),
        ("Server", None),
        ("\u017ferver", None),  # The long s casefolds to "s".
        ("wanda", None),
        ("a b", None),
        ("[Bob]", None),
        ("", None),
    ],
)
def test_the_name_rule_as_stated_here(requested, expected):
    assert accepted_name(requested, ["Wanda"]) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("hi", ["hi"]),
        ("hi\n[Server]: fake", ["hi", "[Server]: fake"]),
        ("a\r\nb\x85c\u2028d", ["a", "b", "c", "d"]),
        ("\x1b[2Kx\t ", [" [2Kx"]),
        (" \n\t\n", []),
        ("x" * 2001, []),
    ],
)
def test_the_line_rule_as_stated_here(message, expected):
    assert relayed_lines(message) == expected


# --- Text that UTF-8 cannot carry --------------------------------------------------------------

# Hypothesis once found that a lone surrogate (half of a UTF-16 pair) handed to the room made
# the fan-out raise UnicodeEncodeError. No client can send one (text frames are valid UTF-8),
# but code in the same process can: the room must refuse it with a notice and keep serving.
surrogate_text = st.builds(
    lambda before, surrogate, after: before + chr(surrogate) + after,
    tricky_text,
    st.integers(0xD800, 0xDFFF),
    tricky_text,
)


@settings(max_examples=25, deadline=None, database=None)
@given(text=surrogate_text)
@example(text="\ud800")
@example(text="hi \udfff there")
def test_text_with_a_lone_surrogate_is_refused_and_the_room_goes_on(text) -> None:
    async def scene() -> None:
        chat = ChatServer(ChatRoom(LIMITS))
        async with BackgroundServer(chat.handler, **serve_options(LIMITS)) as server:
            url = server.url
            wanda = await join(url, "Wanda")
            walter = await join(url, "Walter", [wanda])
            sender = chat.room.members["Wanda"]
            # As a name: refused with a reason, like any name that breaks a rule.
            assert await chat.room.admit_name(text) is not None
            # As a message: the sender alone gets a one-line notice; nobody else hears a thing.
            await chat.room.receive(sender, text)
            notice = await wanda.next_line(WAIT)
            assert notice.startswith("[Server]: ") and "\n" not in notice, notice
            await walter.say("still here")
            assert await wanda.next_line(WAIT) == "[Walter]: still here"
            await wanda.websocket.close()
            await walter.websocket.close()

    asyncio.run(scene())
