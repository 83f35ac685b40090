"""The chat server's requirements: the assignment's four, good practice, and the extras.

Each check plays a small scene with scripted participants (Alice, Bob, Carol) against a fresh
server. The first group is the assignment, with the syllabus' common mistakes marked
``good_practice=True`` (a blocked event loop, clients never forgotten); the ones marked
``extra=True`` are the rules of chatlib's fuller reference, checked with
``python -m chatlib check chat_server --extras``.

A blocked event loop is checked first: a server that blocks makes every later check time
out, for reasons that would send the learner the wrong way.
"""

import asyncio
import contextlib

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chatlib.course.checks.core import (
    BLOCKED_LOOP_HINT,
    RESPONSIVE_LIMIT,
    CheckFailed,
    NotCheckedHere,
    Requirements,
    longest_wait_seen_twice,
)
from chatlib.course.checks.servers import (
    OPTIONS_HINT,
    ServerUnderTest,
    stops_cleanly_on_ctrl_c,
    takes_host_and_port_options,
)
from chatlib.course.participants import ARRIVAL_LIMIT, Participant, participants
from chatlib.course.wording import error_text, quoted_lines

REQUIREMENTS = Requirements()

SERVER_PREFIX = "[Server]:"


def chat_lines(lines: list[str]) -> list[str]:
    """The lines that are not server notices (welcome, joined, left...)."""
    return [line for line in lines if not line.startswith(SERVER_PREFIX)]


@REQUIREMENTS.requirement(
    "Others are answered at once while the server relays a burst of messages",
    hint=BLOCKED_LOOP_HINT,
    good_practice=True,
)
async def stays_responsive_while_relaying(server: ServerUnderTest) -> None:
    waited = await longest_wait_seen_twice(lambda: carols_longest_wait(server))
    if waited > RESPONSIVE_LIMIT:
        raise CheckFailed(
            f"While the server relayed a burst of {BURST} messages from Alice, Carol's ping"
            f" waited {waited:.1f} s for its answer, twice; it should be answered within"
            f" {RESPONSIVE_LIMIT:g} s. Something in the handler blocks the whole server (a"
            " short pause for each message adds up over a burst)."
        )


# A burst, as a paste of several lines or a chatty room: a pause of 0.3 s for each message
# (an "anti-spam" time.sleep) is under the limit once, and freezes the room for 3 s here.
BURST = 10


async def carols_longest_wait(server: ServerUnderTest) -> float:
    """Alice sends a burst to Bob and Carol; how long Carol waited for a pong meanwhile (s)."""
    async with participants(server.url, "Alice", "Bob", "Carol") as (alice, bob, carol):
        start = len(bob.received)
        last = f"message {BURST} of {BURST}"
        for number in range(1, BURST + 1):
            await alice.send(f"message {number} of {BURST}")
        # Whether and how the lines reach Bob is for the other requirements: here, only how
        # long Carol waits for the server's attention meanwhile.
        return await carol.longest_ping_wait(
            lambda: not any(last in line for line in bob.received[start:]),
            enough=RESPONSIVE_LIMIT,
            within=2 * ARRIVAL_LIMIT,
        )


# --- What the room does, judged on what arrives whatever its shape ----------------------------


@REQUIREMENTS.requirement(
    "Every other connected client receives each message",
    hint="Keep every named client in a collection (a set or a dict) and send each message to"
    " all of them, not only to the one that connected last; broadcast() sends one line to many"
    " connections.",
)
async def every_other_client_receives_the_message(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob", "Carol") as (alice, bob, carol):
        await bob.say("Hello from Bob")
        await alice.expect_containing("Hello from Bob", 'Bob sent "Hello from Bob"')
        await carol.expect_containing("Hello from Bob", 'Bob sent "Hello from Bob"')


@REQUIREMENTS.requirement(
    "Every message a client sends is relayed, not only the first",
    hint="Relay in a loop over the client's messages (`async for message in websocket`). If"
    " you use broadcast(), call it without `await`: it is a plain function, and awaiting what"
    " it returns (None) raises TypeError right after the first message went out.",
    needs=every_other_client_receives_the_message,
)
async def every_message_is_relayed(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        start = 0
        for text in ("one", "two", "three"):
            await alice.say(f"number {text}")
            sent = f'Alice sent "number {text}" (of "number one", "number two", "number three")'
            start = await bob.expect_containing(f"number {text}", sent, start=start) + 1


@REQUIREMENTS.requirement(
    "The sender does not get its own message back",
    hint="The recipients are the room minus the sender: leave the sender's own connection out"
    " of the collection you send to.",
    needs=every_other_client_receives_the_message,
)
async def sender_does_not_receive_own_message(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        await alice.say("Hi there")
        await bob.expect_containing("Hi there", 'Alice sent "Hi there"')
        # Bob answers after Alice's line went out: if Alice were sent her own line, it would
        # reach her before Bob's answer does.
        await bob.say("Hello Alice")
        answer = await alice.expect_containing("Hello Alice", 'Bob answered "Hello Alice"')
        echoed = [line for line in alice.received[:answer] if "Hi there" in line]
        if echoed:
            raise CheckFailed(
                'Alice sent "Hi there"; only the others should receive it, but she received her'
                f" own message back: {quoted_lines(echoed)}."
            )


@REQUIREMENTS.requirement(
    "The first message is the username; it is not relayed as a chat message",
    hint="The first message is special: read it on its own, before the loop that relays"
    " messages, and keep it as the client's name.",
    needs=every_other_client_receives_the_message,
)
async def first_message_is_the_username(server: ServerUnderTest) -> None:
    async with participants(server.url, "Bob") as (bob,):
        # Whatever Bob was told on his own arrival ("Welcome, Bob!") is not under test.
        start = len(bob.received)
        async with participants(server.url, "Alice") as (alice,):
            await alice.say("Hello everyone!")
            index = await bob.expect_containing(
                "Hello everyone!", 'Alice joined and sent "Hello everyone!"', start=start
            )
    earlier = bob.received[start:index]
    leaked = [line for line in chat_lines(earlier) if is_the_name_relayed(line, "Alice")]
    if leaked:
        raise CheckFailed(
            'Alice sent her name "Alice", then "Hello everyone!"; her name should not reach'
            f" Bob as a chat line, but before her message Bob received {quoted_lines(leaked)}."
        )


def is_the_name_relayed(line: str, name: str) -> bool:
    """True when ``line`` is ``name`` relayed as a message: "Alice", "[Alice]: Alice"..."""
    return line == name or line.endswith((f": {name}", f"] {name}", f"> {name}"))


@REQUIREMENTS.requirement(
    "A client that leaves is announced to the others",
    hint="A client's message loop ends when it leaves: that is the moment to tell the clients"
    " who remain, with a [Server] line naming who left.",
)
async def departure_is_announced(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        start = len(bob.received)
        await alice.leave()
        await bob.expect_containing("Alice", "Alice closed her connection", start=start)


# --- The assignment's exact shapes: requirements of their own ----------------------------------


@REQUIREMENTS.requirement(
    'Messages reach the other clients as "[name]: text"',
    hint="Each relayed line is built from two things you have at hand, the sender's name and"
    " the text, in exactly the shape shown: brackets around the name, a colon and a space.",
    needs=every_other_client_receives_the_message,
)
async def messages_are_relayed_with_the_senders_name(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        await alice.say("Hi Bob")
        await bob.expect("[Alice]: Hi Bob", 'Alice sent "Hi Bob"')


@REQUIREMENTS.requirement(
    'A departure is announced as "[Server]: Alice has left the chat."',
    hint='Announce a departure in exactly the assignment\'s words: the prefix "[Server]: ",'
    ' the name, then " has left the chat" with its full stop.',
    needs=departure_is_announced,
)
async def departure_notice_has_the_assignments_shape(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        await alice.leave()
        await bob.expect("[Server]: Alice has left the chat.", "Alice closed her connection")


# --- Leaving, whatever the way ------------------------------------------------------------------


@REQUIREMENTS.requirement(
    "A client that drops without closing is announced too",
    hint="A dropped connection raises ConnectionClosedError out of the `async for`; code in a"
    " `finally` clause runs in that case too, so announce the departure there.",
    needs=departure_is_announced,
)
async def abrupt_departure_is_announced(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        start = len(bob.received)
        alice.vanish()
        await bob.expect_containing(
            "Alice",
            "Alice's connection dropped without a goodbye (as when a laptop loses Wi-Fi)",
            within=2.0,
            start=start,
        )


@REQUIREMENTS.requirement(
    "The room carries on after someone leaves",
    hint="Remove a client from your collection when it leaves, whatever the reason, so later"
    " messages are not sent to a closed connection.",
    needs=every_other_client_receives_the_message,
)
async def room_carries_on_after_a_departure(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob", "Carol") as (alice, bob, carol):
        start = len(bob.received)
        alice.vanish()
        # Told or not (that is another requirement), Alice is gone once her socket is.
        await alice.gone()
        await bob.wait_until(lambda line: "Alice" in line, within=2.0, start=start)
        await bob.say("Still here?")
        await carol.expect_containing(
            "Still here?", 'After Alice dropped out, Bob sent "Still here?"'
        )


LEAVERS = ("Alice", "Bob", "Carol", "Dave")
STAYERS = ("Erin", "Frank")


@REQUIREMENTS.requirement(
    "When several clients leave at the same moment, every departure is announced",
    hint="A client that just left may still be in your collection while you announce another"
    " departure: sending to it in a loop (`await ws.send(...)`) raises ConnectionClosed and"
    " stops the loop, so the others never hear. broadcast() skips closed connections; and"
    " never remove members from a collection while you loop over it.",
    good_practice=True,
    needs=departure_is_announced,
)
async def simultaneous_departures_are_announced(server: ServerUnderTest) -> None:
    if server.program is not None and not server.program.can_be_paused():
        # Unpaused, how fast the server runs would decide whether the departures overlap:
        # a verdict either way would be luck, so none is given.
        raise NotCheckedHere("this system cannot pause a program (no SIGSTOP on Windows)")
    async with participants(server.url, *LEAVERS, *STAYERS) as everyone:
        # The ones who stay joined last: a loop over the room reaches them last.
        leavers, stayers = everyone[: len(LEAVERS)], everyone[len(LEAVERS) :]
        heard_before = {stayer.name: len(stayer.received) for stayer in stayers}
        # "At the same moment" for the server: it learns of every departure before its first
        # handler announces one. A server in a process of its own is paused while they drop
        # out, else how fast it runs would decide whether they overlap; a handler served here
        # shares our event loop, which drops them all before it serves the handler again.
        with server.program.paused() if server.program else contextlib.nullcontext():
            for leaver in leavers:
                leaver.vanish()
            for leaver in leavers:
                await leaver.gone()
        for stayer in stayers:
            for name in LEAVERS:
                await stayer.expect_containing(
                    f"{name} ",
                    f"{', '.join(LEAVERS[:-1])} and {LEAVERS[-1]} dropped out at the same moment",
                    within=2.0,
                    start=heard_before[stayer.name],
                )


# Clients that come and go before the server is measured, then while it is: after the first
# hundred, a server that forgets who left stays within a few hundred KiB (measured: 0.1 to
# 0.3 MiB for 300 more), while one that keeps every departed connection grows by about
# 11 KiB for each (3.3 MiB for 300).
WARM_UP_VISITS = 100
MEASURED_VISITS = 300
MEMORY_GROWTH_LIMIT = 1.5 * 1024 * 1024
# The 400 visits are work the checker and the server do as fast as they can: about a second
# alone, but six at once on two cores (grade's parallel jobs, a busy machine) took over the
# usual 15 s. Each visit is bounded by itself (open_timeout), so a server that stops answering
# still fails within seconds; this limit only ends a server that answers, but ever so slowly.
MEMORY_CHECK_TIME_LIMIT = 90.0


@REQUIREMENTS.requirement(
    "Clients who left are forgotten: memory stays flat as clients come and go",
    hint="Remove a client from your collection when it leaves, whatever the reason (in a"
    " `finally` clause): a server that keeps every connection it ever had grows until it runs"
    " out of memory.",
    good_practice=True,
    needs=departure_is_announced,
    time_limit=MEMORY_CHECK_TIME_LIMIT,
)
async def departed_clients_are_forgotten(server: ServerUnderTest) -> None:
    if server.program is None:
        raise NotCheckedHere("only a server running as a program of its own can be measured")
    if server.program.memory_in_use() is None:
        raise NotCheckedHere("this system does not let the checker read a program's memory")
    await visits(server.url, WARM_UP_VISITS)
    before = server.program.memory_in_use()
    await visits(server.url, MEASURED_VISITS)
    after = server.program.memory_in_use()
    if before is None or after is None:
        raise CheckFailed("The server ended while clients came and went.")
    grown = after - before
    if grown > MEMORY_GROWTH_LIMIT:
        mib = 1024 * 1024
        raise CheckFailed(
            f"{MEASURED_VISITS} clients joined and left one after the other; the server's memory"
            f" should stay about the same (within {MEMORY_GROWTH_LIMIT / mib:g} MiB); it grew by"
            f" {grown / mib:.1f} MiB ({grown / MEASURED_VISITS / 1024:.0f} KiB for each client"
            " who left): it keeps something of every client that ever came."
        )


async def visits(url: str, count: int, at_once: int = 25) -> None:
    """``count`` clients join (each sends its name) and leave cleanly, ``at_once`` at a time."""
    for first in range(0, count, at_once):
        await asyncio.gather(
            *(visit(url, f"Visitor{number}") for number in range(first, first + at_once))
        )


async def visit(url: str, name: str) -> None:
    """One client joins as ``name`` and leaves at once.

    Without compression: its buffers would blur the measure (zlib's memory is not given
    back to the system at once), and learners' servers accept either.
    """
    try:
        async with connect(url, compression=None, open_timeout=5) as websocket:
            await websocket.send(name)
    except (OSError, TimeoutError, ConnectionClosed) as error:
        raise CheckFailed(f"{name} could not join and leave ({error_text(error)}).") from None


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


# --- The reference's extra rules ------------------------------------------------------------


@REQUIREMENTS.requirement(
    "Arrivals are announced to the others",
    hint="When a name is accepted, tell the others who arrived, the way departures are told.",
    extra=True,
)
async def arrivals_are_announced(server: ServerUnderTest) -> None:
    async with participants(server.url, "Bob", "Alice") as (bob, _alice):
        await bob.expect("[Server]: Alice has joined the chat.", "Alice joined")


@REQUIREMENTS.requirement(
    "A newcomer is welcomed with the names of who is here",
    hint="Send the newcomer a [Server] line listing the names already in the room.",
    extra=True,
)
async def newcomer_is_welcomed_with_who_is_here(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob", "Carol") as (alice, _bob, carol):
        await alice.say("marker")
        earlier = await carol.expect("[Alice]: marker", 'After Carol joined, Alice sent "marker"')
        notices = [line for line in earlier if line.startswith(SERVER_PREFIX)]
        if not any("Alice" in line and "Bob" in line for line in notices):
            raise CheckFailed(
                "Carol joined after Alice and Bob; she should get a [Server] line naming both;"
                f" she received {quoted_lines(earlier)}."
            )


@REQUIREMENTS.requirement(
    "A client that leaves before choosing a name is not announced",
    hint="Only clients that have chosen a name are members; announce departures of members only.",
    extra=True,
)
async def leaving_before_naming_is_not_announced(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        nameless = await Participant.connect(server.url, "A nameless client")
        await nameless.leave()
        await alice.say("marker")
        earlier = await bob.expect("[Alice]: marker", 'Then Alice sent "marker"')
        departures = [line for line in earlier if "left" in line]
        if departures:
            raise CheckFailed(
                "A client connected and left without sending a name; nobody should hear of it,"
                f" but Bob received {quoted_lines(departures)}."
            )


INVALID_NAMES = {
    "": "an empty name",
    "two words": "a name with a space",
    "x" * 25: "a 25-character name",
    "server": 'the reserved name "server"',
    "ALICE": 'a name already taken, in other case ("ALICE" when Alice is here)',
}


@REQUIREMENTS.requirement(
    "Names that break a rule are refused with a reason, and the client may try again",
    hint="Check a name before accepting it; when it breaks a rule, tell the client which rule in"
    " a [Server] line and wait for its next message.",
    extra=True,
)
async def invalid_names_are_refused_with_a_reason(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice") as (alice,):
        for name, description in INVALID_NAMES.items():
            newcomer = await Participant.connect(server.url, "A newcomer")
            try:
                await try_invalid_name_then_a_valid_one(newcomer, name, description, alice)
            finally:
                await newcomer.close()
            await alice.expect("[Server]: Dora has left the chat.", "Dora left")
            alice.received.clear()  # Dora comes back in the next round.


async def try_invalid_name_then_a_valid_one(
    newcomer: Participant, name: str, description: str, witness: Participant
) -> None:
    """``newcomer`` sends an invalid name, must be told why, then joins as Dora."""
    await newcomer.send(name)
    if await newcomer.wait_until(lambda line: line.startswith(SERVER_PREFIX)) is None:
        raise CheckFailed(
            f"A newcomer sent {description}; it should get a [Server] line saying which rule"
            f" it breaks; it received {quoted_lines(newcomer.received)}."
        )
    await newcomer.send("Dora")
    await newcomer.say("hello")
    await witness.expect(
        "[Dora]: hello", f'A newcomer refused for {description} then chose "Dora" and said "hello"'
    )


@REQUIREMENTS.requirement(
    "Names may use letters of any language",
    hint="Python's string methods and regular expressions know the letters of every alphabet;"
    " a rule written for a to z only turns away most of the world.",
    extra=True,
)
async def names_may_use_any_alphabet(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Zoë", "李雷") as (alice, zoe, li):
        await zoe.say("Salut")
        await li.say("你好")
        await alice.expect("[Zoë]: Salut", 'Zoë joined and sent "Salut"')
        await alice.expect("[李雷]: 你好", '李雷 joined and sent "你好"')


@REQUIREMENTS.requirement(
    "No message can pass for a line from the server or from someone else",
    hint="A newline or a control character inside a message can draw a line on screen that"
    " looks like someone else's. Make sure every line a recipient sees carries the sender's name.",
    extra=True,
)
async def messages_cannot_forge_lines(server: ServerUnderTest) -> None:
    forged = "hi\n[Server]: Bob has left the chat.\r[Carol]: fake\x1b[2K"
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        # Everything Bob sees between Alice's "start" and "end" comes from her message.
        await alice.say("start")
        await bob.expect("[Alice]: start", 'Alice sent "start"')
        start = bob.received.index("[Alice]: start") + 1
        await alice.say(forged)
        await alice.say("end")
        earlier = await bob.expect("[Alice]: end", 'Alice sent a message, then "end"', start=start)
        suspicious = [
            line
            for line in earlier
            if not line.startswith("[Alice]: ") or any(char in line for char in "\r\x1b")
        ]
        if suspicious:
            raise CheckFailed(
                f"Alice sent {forged!r}; every line Bob sees from her should start with"
                f' "[Alice]: " and hold no control characters; Bob received'
                f" {quoted_lines(earlier)}."
            )


@REQUIREMENTS.requirement(
    "Binary and empty messages get an explanation; the others see nothing",
    hint="Check the type and content of each message; answer the sender alone with a [Server]"
    " line instead of relaying.",
    extra=True,
)
async def binary_and_empty_messages_are_explained(server: ServerUnderTest) -> None:
    async with participants(server.url, "Alice", "Bob") as (alice, bob):
        await alice.say(b"\x00\x01")
        await alice.say("   ")
        await alice.say("end")
        earlier = await bob.expect(
            "[Alice]: end", 'Alice sent a binary message, a blank one, then "end"'
        )
        if chat_lines(earlier):
            raise CheckFailed(
                "Alice sent a binary message and a blank one; Bob should see neither, but he"
                f" received {quoted_lines(earlier)}."
            )
        # Bob answers after the server handled Alice's three messages, so the server's
        # answers to the first two reach Alice just before Bob's line.
        await bob.say("marker")
        answers = (await alice.expect("[Bob]: marker", 'Then Bob sent "marker"'))[-2:]
        if len(answers) < 2 or chat_lines(answers):
            raise CheckFailed(
                "Alice sent a binary message and a blank one; she should get a [Server] line"
                f" for each; she received {quoted_lines(alice.received)}."
            )
