"""The chat server under faults: slow readers, shutdown, limits, bad input and dead peers.

Each test starts ``python -m chatlib chat-server`` as a subprocess with the limits it needs
(small ones, so that a timeout takes half a second instead of a minute), commits one fault
with real sockets on 127.0.0.1, and checks three things: what the *other* members see, what
the server logs (one line, never a traceback), and that the room still relays afterwards.

No test sleeps to synchronise: each waits, with a timeout, for a message, a close or a log
line. The two sleeps that remain let a time limit pass on purpose (the flood window).
"""

import asyncio
import signal
import subprocess
import sys
import time

import pytest
from chat_harness import (
    TIMEOUT,
    MiB,
    RawClient,
    closed_with,
    join,
    relays_still,
    resident_memory,
)
from conftest import ServerProcess
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Frame, Opcode

from chatlib.serving import CLOSE_TIMEOUT


@pytest.fixture
def chat_server(start_server_process):
    """Start ``python -m chatlib chat-server OPTIONS``; its log is read as it runs."""

    async def start(*options: str) -> ServerProcess:
        return await start_server_process("chat-server", *options)

    return start


async def stopped_cleanly(server: ServerProcess) -> str:
    """Stop the server with SIGTERM; check it exits 0 without a traceback; return its log."""
    ended = await server.stop()
    assert ended.returncode == 0, ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr
    return ended.stderr


def lines_with(log: str, fragment: str) -> list[str]:
    return [line for line in log.splitlines() if fragment in line]


# --- 1. Slow readers --------------------------------------------------------------------------

EXCHANGE_SECONDS = 10
LARGE_LINE = 60_000  # characters: one large chat line, under the 64 KiB frame limit
# How much longer than its close deadline a shutdown may take before it counts as a hang.
SHUTDOWN_HANG_BOUND = 15
RSS_GROWTH_LIMIT = 5 * MiB


async def test_stalled_reader_is_dropped_and_the_others_receive_everything(chat_server):
    """A client that stops reading is cut at --max-buffer (1 MiB); the room keeps its pace.

    Alice and Bob swap 60 kB lines as fast as they can for 10 s (tens of MB in total: all
    of it would pile up in the server's memory for Stalled if nothing bounded its queue).
    """
    server = await chat_server(
        *("--max-line", str(LARGE_LINE), "--flood-messages", "1000000", "--ping-interval", "60")
    )
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    stalled = await join(server.url, "Stalled", [alice, bob])
    departures_seen = {alice.name: 0, bob.name: 0}

    async def exchange(number: int) -> float:
        """Alice and Bob each send one large line and read the other's; return how long."""
        started = time.monotonic()
        lines = {
            alice: f"{number} from Alice ".ljust(LARGE_LINE, "a"),
            bob: f"{number} from Bob ".ljust(LARGE_LINE, "b"),
        }
        await asyncio.gather(alice.say(lines[alice]), bob.say(lines[bob]))
        for sender, recipient in [(alice, bob), (bob, alice)]:
            received = await recipient.next_line()
            if received == "[Server]: Stalled has left the chat.":
                departures_seen[recipient.name] += 1
                received = await recipient.next_line()
            assert received == f"[{sender.name}]: {lines[sender]}", (
                f"{recipient.name} expected line {number} from {sender.name};"
                f" received {received[:60]!r}..."
            )
        return time.monotonic() - started

    for number in range(20):  # Warm up, so that the baseline includes the working set.
        await exchange(number)
    memory_before = resident_memory(server.pid)

    stalled.websocket.transport.pause_reading()
    durations = []
    started = time.monotonic()
    while time.monotonic() - started < EXCHANGE_SECONDS:
        durations.append(await exchange(20 + len(durations)))
    memory_after = resident_memory(server.pid)

    assert departures_seen == {"Alice": 1, "Bob": 1}
    assert "(too slow: stopped reading;" in await server.log_line("Stalled left the chat")
    await stopped_cleanly(server)
    relayed = len(durations) * 2 * LARGE_LINE
    print(
        f"\n{len(durations)} exchanges ({relayed / MiB:.0f} MiB relayed) in {EXCHANGE_SECONDS} s;"
        f" slowest {max(durations) * 1000:.0f} ms"
    )
    assert max(durations) < 1, f"the slowest exchange took {max(durations):.2f} s"
    if memory_before is None:
        pytest.skip("no /proc on this system: the server's memory cannot be measured")
    # VmHWM is the kernel's record of the process's peak: no need to poll for it.
    growth = memory_after["VmHWM"] - memory_before["VmRSS"]
    print(
        f"server RSS: {memory_before['VmRSS'] / MiB:.1f} MiB before the stall,"
        f" peak {memory_after['VmHWM'] / MiB:.1f} MiB, {memory_after['VmRSS'] / MiB:.1f} MiB after"
    )
    assert growth < RSS_GROWTH_LIMIT, f"the server's memory grew by {growth / MiB:.1f} MiB"


# --- 2. Shutdown ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stop_signal",
    [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="Ctrl-C")],
)
async def test_shutdown_finishes_in_time_with_a_stalled_client(chat_server, stop_signal):
    """Readers get 1001 at once; the process exits within close_timeout + 1 s regardless."""
    # A buffer bound too high to cut Stalled: it stays, with its queue full, until shutdown.
    server = await chat_server(
        *("--max-line", str(LARGE_LINE), "--flood-messages", "1000000"),
        *("--max-buffer", str(256 * MiB)),
    )
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    stalled = await join(server.url, "Stalled", [alice, bob])
    memory_before = resident_memory(server.pid)
    stalled.websocket.transport.pause_reading()
    # 6 MB for Stalled: more than the kernel's socket buffers hold, so MBs wait in the
    # server's own queue, in front of the close frame that shutdown will add.
    for number in range(50):
        for sender, recipient in [(alice, bob), (bob, alice)]:
            line = f"{number} from {sender.name} ".ljust(LARGE_LINE, ".")
            await sender.say(line)
            assert await recipient.next_line() == f"[{sender.name}]: {line}"
    if memory_before is not None:
        queued = resident_memory(server.pid)["VmRSS"] - memory_before["VmRSS"]
        print(f"\nthe server's memory grew by {queued / MiB:.1f} MiB while Stalled slept")
        assert queued > 1 * MiB, "Stalled's queue in the server should hold megabytes"

    started = time.monotonic()
    server.send_signal(stop_signal)
    for reader in (alice, bob):
        closed = await closed_with(reader.websocket)
        assert isinstance(closed, ConnectionClosedOK), closed
        assert closed.rcvd.code == 1001
    ended = await server.exited()
    elapsed = time.monotonic() - started
    stalled.websocket.transport.abort()

    print(f"shutdown with a stalled client took {elapsed:.2f} s")
    # The deadline was what ended the wait (not luck), and the process did end: a server
    # that waited for Stalled would never exit. The bound is for a hang, not a speed target:
    # a busy machine may take seconds more to tear a process down.
    assert f"Cut 1 connection that did not answer within {CLOSE_TIMEOUT:g} s." in ended.stdout
    assert elapsed < CLOSE_TIMEOUT + SHUTDOWN_HANG_BOUND, f"the server took {elapsed:.2f} s"
    assert ended.returncode == 0, ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr
    assert "Stopping: closing every connection with code 1001" in ended.stdout
    assert "Server stopped." in ended.stdout
    for name in ("Alice", "Bob", "Stalled"):
        assert lines_with(ended.stderr, f"{name} left the chat"), ended.stderr


# --- 3. Limits with clear answers -------------------------------------------------------------


async def test_frame_over_max_frame_is_refused_with_1009(chat_server):
    server = await chat_server()  # The default limit: 64 KiB.
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    big = await join(server.url, "Big", [alice, bob])

    await big.say("x" * (64 * 1024 + 1))

    closed = await closed_with(big.websocket)
    assert closed.rcvd is not None and closed.rcvd.code == 1009
    assert await alice.next_line() == "[Server]: Big has left the chat."
    assert await bob.next_line() == "[Server]: Big has left the chat."
    await relays_still(alice, bob)
    log = await stopped_cleanly(server)
    assert "Big left the chat (closed by the server: 1009" in log


async def test_chat_line_over_max_line_gets_a_notice_and_is_not_relayed(chat_server):
    server = await chat_server()  # The default limit: 2,000 characters.
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])

    await alice.say("y" * 2001)
    notice = await alice.next_line()
    await alice.say("z" * 2000)

    assert notice == (
        "[Server]: Your message has 2,001 characters; the limit is 2,000. It was not sent."
    )
    # Bob's next line is the 2,000-character one: the longer line never reached him.
    assert await bob.next_line() == "[Alice]: " + "z" * 2000
    await stopped_cleanly(server)


async def test_flood_gets_one_notice_and_the_extra_messages_are_dropped(chat_server):
    server = await chat_server("--flood-messages", "3", "--flood-window", "60")
    alice = await join(server.url, "Alice")
    flooder = await join(server.url, "Flooder", [alice])

    for number in range(1, 7):
        await flooder.say(f"spam {number}")
    notice = await flooder.next_line()
    # The server reads all of a connection's messages before its close: once Alice reads
    # that Flooder left, she has read every line relayed from Flooder.
    await flooder.websocket.close()

    assert notice.startswith("[Server]: You are sending too fast")
    assert await alice.lines_until("[Server]: Flooder has left the chat.") == [
        "[Flooder]: spam 1",
        "[Flooder]: spam 2",
        "[Flooder]: spam 3",
        "[Server]: Flooder has left the chat.",
    ]
    # One flood is not enough to be disconnected: Flooder left by itself.
    assert "(closed;" in await server.log_line("Flooder left the chat")
    bob = await join(server.url, "Bob", [alice])
    await relays_still(alice, bob)
    await stopped_cleanly(server)


async def test_repeat_flooder_is_disconnected_and_announced(chat_server):
    window = 0.5
    server = await chat_server(
        *("--flood-messages", "2", "--flood-window", str(window), "--flood-strikes", "2")
    )
    alice = await join(server.url, "Alice")
    flooder = await join(server.url, "Flooder", [alice])

    for number in range(3):  # The third message is the first strike: a notice.
        await flooder.say(f"burst one, {number}")
    assert (await flooder.next_line()).startswith("[Server]: You are sending too fast")
    # The notice proves the server counted the burst; once the window has passed, the
    # next burst is accepted again, up to its third message: the second strike.
    await asyncio.sleep(window + 0.1)
    for number in range(3):
        await flooder.say(f"burst two, {number}")

    assert isinstance(await closed_with(flooder.websocket), ConnectionClosedError)
    assert await alice.lines_until("[Server]: Flooder has left the chat.") == [
        "[Flooder]: burst one, 0",
        "[Flooder]: burst one, 1",
        "[Flooder]: burst two, 0",
        "[Flooder]: burst two, 1",
        "[Server]: Flooder has left the chat.",
    ]
    assert "(flooding;" in await server.log_line("Flooder left the chat")
    bob = await join(server.url, "Bob", [alice])
    await relays_still(alice, bob)
    await stopped_cleanly(server)


async def test_client_that_never_names_itself_is_closed_without_announcement(chat_server):
    server = await chat_server("--name-timeout", "0.5")
    alice = await join(server.url, "Alice")
    silent = await connect(server.url, open_timeout=TIMEOUT)

    closed = await closed_with(silent)
    bob = await join(server.url, "Bob", [alice])

    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1008, "no name chosen in time")
    # Alice's only lines are Bob's arrival (read by join) and Bob's message: nothing about
    # the silent client.
    await relays_still(bob, alice)
    assert "sent no valid name within 0.5 s" in await server.log_line("no valid name")
    await stopped_cleanly(server)


async def test_dead_peer_is_found_by_ping_and_announced_as_gone(chat_server):
    server = await chat_server("--ping-interval", "0.2", "--ping-timeout", "0.2")
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    ghost = await join(server.url, "Ghost", [alice, bob])

    # The laptop lid closes: Ghost's connection stays open, but nothing answers the pings.
    ghost.websocket.transport.pause_reading()
    # The server gives up after the ping timeout plus its close timeout (2 s).
    wait = 0.2 + 0.2 + CLOSE_TIMEOUT + TIMEOUT

    assert await alice.next_line(timeout=wait) == "[Server]: Ghost has left the chat."
    assert await bob.next_line() == "[Server]: Ghost has left the chat."
    ghost.websocket.transport.abort()
    assert "(timed out: no answer to ping;" in await server.log_line("Ghost left the chat")
    # Alice and Bob answered every ping meanwhile: they are still here and still talking.
    await relays_still(alice, bob)
    await stopped_cleanly(server)


# --- 4. Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("named", [True, False], ids=["member", "before-choosing-a-name"])
async def test_invalid_utf8_closes_that_client_with_1007_and_logs_one_line(chat_server, named):
    server = await chat_server()
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    if named:
        mojibake = (await join(server.url, "Mojibake", [alice, bob])).websocket
    else:
        mojibake = await connect(server.url, open_timeout=TIMEOUT)

    # A text frame must hold UTF-8; b"\xff" never appears in UTF-8.
    mojibake.protocol.send_frame(Frame(Opcode.TEXT, b"\xff"))
    mojibake.send_data()

    closed = await closed_with(mojibake)
    assert closed.rcvd is not None and closed.rcvd.code == 1007
    if named:
        assert await alice.next_line() == "[Server]: Mojibake has left the chat."
        assert await bob.next_line() == "[Server]: Mojibake has left the chat."
    await relays_still(alice, bob)
    log = await stopped_cleanly(server)
    assert len(lines_with(log, "1007")) == 1, log


async def test_garbage_instead_of_a_handshake_is_logged_in_one_line(chat_server):
    server = await chat_server()
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    garbage = await RawClient.connect(server.port)
    peer = "127.0.0.1:{}".format(garbage.writer.get_extra_info("sockname")[1])

    garbage.writer.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")

    async with asyncio.timeout(TIMEOUT):
        assert await garbage.reader.read() == b""  # The server hung up.
    garbage.close()
    await relays_still(alice, bob)
    log = await stopped_cleanly(server)
    assert lines_with(log, peer) == lines_with(log, "failed the opening handshake"), log
    assert len(lines_with(log, peer)) == 1, log


async def test_half_open_connection_is_dropped_after_the_handshake_timeout(chat_server):
    server = await chat_server("--handshake-timeout", "0.5")
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])

    # A TCP connection that never says a word: no HTTP request, no close.
    mute = await RawClient.connect(server.port)
    peer = "127.0.0.1:{}".format(mute.writer.get_extra_info("sockname")[1])

    async with asyncio.timeout(0.5 + TIMEOUT):
        assert await mute.reader.read() == b""
    mute.close()
    assert "never completed the opening handshake" in await server.log_line(peer)
    await relays_still(alice, bob)
    log = await stopped_cleanly(server)
    assert len(lines_with(log, peer)) == 1, log


@pytest.mark.parametrize("named", [True, False], ids=["member", "before-choosing-a-name"])
async def test_reset_in_the_middle_of_a_message_is_logged_in_one_line(chat_server, named):
    server = await chat_server()
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    mallory = await RawClient.connect(server.port)
    await mallory.open_handshake()
    if named:
        mallory.send_text("Mallory")
        assert (await mallory.receive_text()).startswith("[Server]: Welcome, Mallory!")
        assert await alice.next_line() == "[Server]: Mallory has joined the chat."
        assert await bob.next_line() == "[Server]: Mallory has joined the chat."

    mallory.send_half_a_text_frame("this message is cut in the middle " * 10)
    await mallory.writer.drain()
    mallory.reset()

    if named:
        assert await alice.next_line() == "[Server]: Mallory has left the chat."
        assert await bob.next_line() == "[Server]: Mallory has left the chat."
        departure = "Mallory left the chat (connection reset;"
    else:
        departure = "A client left before choosing a name (connection reset)."
    await server.log_line(departure)
    await relays_still(alice, bob)
    log = await stopped_cleanly(server)
    assert len(lines_with(log, "connection reset")) == 1, log


# --- 5. Logging -------------------------------------------------------------------------------


async def test_log_has_one_line_per_arrival_and_departure_with_the_reason(chat_server):
    server = await chat_server()
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    carol = await join(server.url, "Carol", [alice, bob])

    await bob.websocket.close()
    assert await alice.next_line() == "[Server]: Bob has left the chat."
    carol.websocket.transport.abort()
    assert await alice.next_line() == "[Server]: Carol has left the chat."
    ended = await server.stop()

    assert ended.returncode == 0
    lines = ended.stderr.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "Alice joined the chat (1 in the room).",
        "Bob joined the chat (2 in the room).",
        "Carol joined the chat (3 in the room).",
        "Bob left the chat (closed; 2 in the room).",
        "Carol left the chat (connection reset; 1 in the room).",
        "Alice left the chat (server shutting down; 0 in the room).",
    ]
    assert all(line.split(" ", 2)[1] == "INFO" for line in lines), lines
    assert ended.stdout.splitlines()[-2:] == [
        "Stopping: closing every connection with code 1001 (going away).",
        "Server stopped.",
    ]


async def test_log_level_warning_leaves_out_arrivals_and_departures(chat_server):
    server = await chat_server("--log-level", "WARNING")
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    bob.websocket.transport.abort()
    assert await alice.next_line() == "[Server]: Bob has left the chat."

    log = await stopped_cleanly(server)

    assert log == ""


@pytest.mark.parametrize("program", ["echo-server", "uppercase-server"])
async def test_client_closing_right_after_a_message_leaves_no_error_in_the_log(
    start_server_process, program
):
    # The message and the close frame arrive together: the close is processed while the
    # reply is on its way, and sending the reply raises ConnectionClosedOK.
    server = await start_server_process(program)
    client = await RawClient.connect(server.port)
    await client.open_handshake()
    close = Frame(Opcode.CLOSE, (1000).to_bytes(2, "big")).serialize(mask=True)
    client.writer.write(Frame(Opcode.TEXT, b"bye").serialize(mask=True) + close)
    async with asyncio.timeout(TIMEOUT):
        await client.reader.read()  # Whatever the server answers, until it hangs up.
    client.close()
    ended = await server.stop()

    assert ended.returncode == 0
    assert " ERROR " not in ended.stderr, ended.stderr
    assert "Traceback" not in ended.stderr, ended.stderr


def test_library_errors_are_logged_in_one_line():
    # websockets logs on "websockets.server" and "websockets.client", never on "websockets"
    # itself; an error with a traceback there must still become one line.
    program = (
        "import dataclasses, logging, sys\n"
        "from chatlib.course import cli\n"
        "def run(args):\n"
        "    try:\n"
        "        raise ValueError('boom')\n"
        "    except ValueError:\n"
        "        logging.getLogger('websockets.server').exception('connection handler failed')\n"
        "    return 0\n"
        "cli.COMMANDS['echo-server'] = dataclasses.replace(cli.COMMANDS['echo-server'], run=run)\n"
        "sys.exit(cli.main(['echo-server']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=TIMEOUT
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.rstrip().endswith("ERROR connection handler failed (ValueError: boom)"), (
        result.stderr
    )
