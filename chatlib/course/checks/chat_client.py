"""The chat client's requirements: it talks, it listens while you type, and it ends cleanly.

The assignment asks for the first four and the default URL; leaving cleanly, the options and
a clear line when no server answers are good practice, reported as such.

Each check starts a stand-in server and the client under test, types into the client's
standard input as a user would, and reads what it prints.
"""

import asyncio
from urllib.parse import urlsplit

from chatlib import DEFAULT_PORT, DEFAULT_URL
from chatlib.client_errors import port_of
from chatlib.course.checks.clients import ClientUnderTest
from chatlib.course.checks.core import CheckFailed, NotCheckedHere, Requirements, on_windows
from chatlib.course.harness import EXIT_LIMIT, STARTUP_LIMIT
from chatlib.course.wording import in_quotes, quoted_lines
from chatlib.serving import LOOPBACK, free_port

REQUIREMENTS = Requirements()

# How long the keyboard stays untouched before the room speaks, in the "while you are not
# typing" check: over a second, as a user who reads before answering.
IDLE_TIME = 1.2


async def require_clean_exit(client: ClientUnderTest, action: str) -> None:
    """After ``action``, the client must exit with status 0 and without a traceback."""
    exit_code = await client.program.wait_for_exit()
    if exit_code is None:
        raise CheckFailed(
            f"After {action}, the client should end within {EXIT_LIMIT:g} s; it kept running (is"
            " a thread that waits for the keyboard keeping it alive? A daemon thread would not)."
        )
    if "Traceback" in client.program.stderr.text():
        raise CheckFailed(f"After {action}, the client should end quietly; it printed a traceback.")
    if exit_code != 0:
        raise CheckFailed(
            f"After {action}, the client should exit with status 0; it gave {exit_code}."
        )


@REQUIREMENTS.requirement(
    "The name you type is sent first",
    hint="Connect, read the name from the keyboard (or --name), and send it before anything else.",
)
async def sends_the_name_first(client: ClientUnderTest) -> None:
    await client.sign_in("Alice")


@REQUIREMENTS.requirement(
    "Each line you type is sent as a message",
    hint="Sending is a loop of its own: each time the keyboard gives a line, it goes to the"
    " server as one message, at once, without waiting for an answer (the room may not answer).",
    needs=sends_the_name_first,
)
async def sends_each_typed_line(client: ClientUnderTest) -> None:
    await client.sign_in()
    typed = ["Hello there", "How is everyone?"]
    for line in typed:
        await client.program.type(line + "\n")
    await client.server.wait_for_message(1 + len(typed))
    received = [str(message) for message in client.server.received[1:]]
    if received != typed:
        raise CheckFailed(
            f"After the name, the user typed {quoted_lines(typed)}; the server should receive"
            f" exactly those messages; it received {quoted_lines(received)}."
        )


@REQUIREMENTS.requirement(
    "Messages from the room appear while you are not typing",
    hint="Receiving must not wait for the keyboard, nor for your own sending: run a task that"
    " prints every incoming message, all the time, while another waits for typed lines (read"
    " the keyboard in a thread). A loop that reads only after each Enter misses the room.",
    needs=sends_the_name_first,
)
async def shows_messages_while_idle(client: ClientUnderTest) -> None:
    await client.sign_in()
    await client.server.send("[Bob]: Hello Alice")
    await client.expect_shown("[Bob]: Hello Alice", "Bob wrote just after Alice joined")
    # Then a quiet moment: a client that reads only after each Enter, or only to wait for an
    # answer to what it sent, has stopped reading by now.
    await asyncio.sleep(IDLE_TIME)
    start = len(client.program.stdout.lines)
    await client.server.send("[Bob]: Are you there, Alice?")
    await client.expect_shown(
        "[Bob]: Are you there, Alice?",
        f"Nobody typed anything for {IDLE_TIME:g} s, then Bob wrote",
        start=start,
    )


@REQUIREMENTS.requirement(
    "Messages appear even while you are in the middle of typing a line",
    hint="input() blocks whatever thread calls it: call it in a thread of its own so the event"
    " loop keeps receiving.",
    needs=sends_the_name_first,
)
async def shows_messages_while_typing(client: ClientUnderTest) -> None:
    await client.sign_in()
    await client.program.type("half a sen")
    await client.server.send("[Bob]: quick question")
    await client.expect_shown("[Bob]: quick question", "Bob wrote while Alice was typing a line")
    await client.program.type("tence\n")
    await client.server.wait_for_message(2)
    if client.server.received[1:2] != ["half a sentence"]:
        raise CheckFailed(
            'Alice typed "half a sen", Bob\'s line arrived, then she finished "tence" and pressed'
            ' Enter; the server should receive "half a sentence"; it received'
            f" {quoted_lines([str(m) for m in client.server.received[1:]])}."
        )


@REQUIREMENTS.requirement(
    "/quit leaves the chat cleanly",
    hint="/quit is a command for the client, not a message for the room: recognise it before"
    " sending, and end the conversation the way the end of input does.",
    good_practice=True,
    needs=sends_the_name_first,
)
async def quit_command_leaves_cleanly(client: ClientUnderTest) -> None:
    await client.sign_in()
    await client.program.type("/quit\n")
    await require_clean_exit(client, "typing /quit")
    if "/quit" in client.server.received:
        raise CheckFailed("The user typed /quit; it should not be sent to the room as a message.")


@REQUIREMENTS.requirement(
    "End of input (Ctrl-D) leaves the chat cleanly",
    hint="At the end of input, input() raises EOFError (sys.stdin.readline() returns ''):"
    " treat it like /quit.",
    good_practice=True,
    needs=sends_the_name_first,
)
async def end_of_input_leaves_cleanly(client: ClientUnderTest) -> None:
    await client.sign_in()
    client.program.end_input()
    await require_clean_exit(client, "the end of input (Ctrl-D)")


@REQUIREMENTS.requirement(
    "Ctrl-C leaves the chat cleanly, without a traceback",
    hint="asyncio.run() raises KeyboardInterrupt on Ctrl-C: catch it around asyncio.run().",
    good_practice=True,
    needs=sends_the_name_first,
)
async def ctrl_c_leaves_cleanly(client: ClientUnderTest) -> None:
    if on_windows():
        raise NotCheckedHere("Ctrl-C cannot be sent to another program on Windows.")
    await client.sign_in()
    client.program.press_ctrl_c()
    await require_clean_exit(client, "Ctrl-C")


@REQUIREMENTS.requirement(
    "When the server goes away, the client says so and ends",
    hint="The receiving loop ends when the connection closes: print a line, then make the"
    " whole client stop (a daemon thread for the keyboard will not keep it alive).",
    good_practice=True,
    needs=sends_the_name_first,
)
async def server_going_away_is_reported(client: ClientUnderTest) -> None:
    await client.sign_in()
    printed_before = len(client.program.stdout.text())
    await client.server.stop()
    exit_code = await client.program.wait_for_exit()
    if exit_code is None:
        raise CheckFailed(
            "The server shut down; the client should say so and end within"
            f" {EXIT_LIMIT:g} s; it kept running (is a thread blocked in input() keeping it"
            " alive?)."
        )
    if "Traceback" in client.program.stderr.text():
        raise CheckFailed(
            "The server shut down; the client should end quietly; it printed a traceback."
        )
    if len(client.program.stdout.text()) <= printed_before:
        raise CheckFailed("The server shut down; the client ended without saying why.")


@REQUIREMENTS.requirement(
    "With no server to talk to, it prints one clear line and exits with status 1",
    hint="When nothing listens, connect() raises an OSError: turn it into one line that names"
    " the URL, and an exit status that says the client failed.",
    good_practice=True,
)
async def unreachable_server_is_reported(client: ClientUnderTest) -> None:
    url = f"ws://{LOOPBACK}:{free_port()}"
    program = await client.start_another(connect_to=url)
    # A client may ask for the name before it connects: it gets one, as a user would type it.
    await program.type("Alice\n")
    try:
        # The client was just started: it may still be starting Python and importing its
        # modules (seconds on a busy machine) before it even tries to connect.
        exit_code = await program.wait_for_exit(STARTUP_LIMIT + EXIT_LIMIT)
        said = program.stdout.text() + program.stderr.text()
        if exit_code is None:
            raise CheckFailed(
                "With no server to talk to, the client should end; it was still running"
                f" {STARTUP_LIMIT + EXIT_LIMIT:g} s after it started."
            )
        if "Traceback" in said:
            raise CheckFailed(
                "With no server to talk to, the client should explain in one line; it printed"
                " a traceback."
            )
        # The URL it tried is the one it asked for (the launcher sent it to ``url``).
        tried = [*program.asked_urls(), url]
        if exit_code != 1 or not any(address in said for address in tried):
            raise CheckFailed(
                "With no server to talk to, the client should print a line naming the URL it"
                f" tried and exit with status 1; it printed {quoted_lines(said.splitlines())} and"
                f" exited with status {exit_code}."
            )
    finally:
        await program.stop()


@REQUIREMENTS.requirement(
    "--name NAME is sent as the name, without asking",
    hint="When --name is given, send it as the first message as soon as you are connected,"
    " and treat every typed line as a message.",
    good_practice=True,
    needs=sends_the_name_first,
)
async def name_option_is_sent_first(client: ClientUnderTest) -> None:
    async with client.another("--name", "Zoë") as named:
        connected = await named.server.wait_for_connection(STARTUP_LIMIT)
        if not connected or not await named.server.wait_for_message(1):
            raise CheckFailed(
                'Started with --name Zoë and nothing typed, the client should send "Zoë" to the'
                f" server; it {'connected but sent nothing' if connected else 'did not connect'}."
            )
        first = str(named.server.received[0])
        if first != "Zoë":
            raise CheckFailed(
                'Started with --name Zoë and nothing typed, the client should send "Zoë" as its'
                f" first message; it sent {in_quotes(first)}."
            )


def is_the_default_url(url: str) -> bool:
    """True for the assignment's server URL, however it is spelled (localhost or 127.0.0.1)."""
    parsed = urlsplit(url)
    return (
        parsed.scheme == "ws"
        and parsed.hostname in ("localhost", LOOPBACK)
        and port_of(url) == DEFAULT_PORT  # None for a port that is not one ("ws://h:abc").
        and parsed.path in ("", "/")
    )


@REQUIREMENTS.requirement(
    f"Started without options, it connects to {DEFAULT_URL}",
    hint=f"The assignment's server listens at {DEFAULT_URL}: connect there by default.",
    needs=sends_the_name_first,
)
async def default_url_is_used(client: ClientUnderTest) -> None:
    # The launcher sent the client to the stand-in, and said which URL it asked for.
    await client.sign_in()
    asked = client.program.asked_urls()
    if not asked or not is_the_default_url(asked[0]):
        raise CheckFailed(
            f"Started without options, the client should connect to {DEFAULT_URL}; it asked"
            f" for {in_quotes(asked[0]) if asked else 'nothing'}."
        )


@REQUIREMENTS.requirement(
    "--url URL chooses the server",
    hint="Read --url with argparse (default ws://localhost:8765) and connect to it: the same"
    " client then reaches a server anywhere.",
    good_practice=True,
    needs=sends_the_name_first,
)
async def url_option_is_used(client: ClientUnderTest) -> None:
    wanted = f"ws://{LOOPBACK}:{free_port()}"
    async with client.another("--url", wanted) as another:
        # A client may ask for the name before it connects: it gets one, as a user types it.
        await another.program.type("Alice\n")
        connected = await another.server.wait_for_connection(STARTUP_LIMIT)
        asked = another.program.asked_urls()
        if not connected or not asked or asked[0].rstrip("/") != wanted:
            said = quoted_lines(
                another.program.stderr.lines[-2:] or another.program.stdout.lines[-2:]
            )
            raise CheckFailed(
                f"Started with --url {wanted}, the client should connect there; it asked for"
                f" {in_quotes(asked[0]) if asked else 'nothing'} and printed {said}."
            )
