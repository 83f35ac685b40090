"""The chat client, run as a user runs it: a subprocess talking to a real server.

Most tests run both clients, chatlib's (``python -m chatlib chat-client``) and the minimal
solution (``solutions/chat_client.py``), against a scripted server that records what the
client sends and speaks when the test tells it to. A few run against chatlib's real chat
room, and the last ones put the client in a pseudo-terminal, where Ctrl-C is a key press.

No test sleeps to synchronise: each one waits, with a timeout, for a line of output, a
message at the server or the end of the process.
"""

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatlib.chat_server import ChatServer
from chatlib.course.checks import EXERCISES
from chatlib.course.folders import solution_file
from chatlib.course.harness import STARTUP_LIMIT, ScriptedServer
from chatlib.serving import BackgroundServer

# Pseudo-terminals exist on Linux and macOS only. On Windows this module still collects, and
# the tests that need a real terminal skip, saying why (Windows consoles are simulated in
# tests/test_terminal.py).
if sys.platform != "win32":
    import fcntl
    import pty
    import termios
NO_PTY_HERE = "pseudo-terminals (pty, termios) exist on Linux and macOS only"

ROOT = Path(__file__).resolve().parent.parent
WAIT = 5.0  # seconds: a generous bound for what should take milliseconds
# The first thing a client just started does waits for its start-up too (Python, its imports,
# connecting): on a busy machine that alone can take seconds, so it gets the harness's
# STARTUP_LIMIT; every later wait keeps its own short bound.
PROMPTLY = 1.0  # seconds: how fast a message must reach the screen
# PYTHONFAULTHANDLER: a client that hangs is stopped with SIGABRT before it is killed, and
# prints where each of its threads stands (see screen_of).
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}

CHATLIB_CLIENT = [sys.executable, "-m", "chatlib", "chat-client"]
SOLUTION_CLIENT = [sys.executable, str(solution_file(EXERCISES["chat_client"].file_name))]
BOTH_CLIENTS = pytest.mark.parametrize(
    "client_command",
    [pytest.param(CHATLIB_CLIENT, id="chatlib"), pytest.param(SOLUTION_CLIENT, id="solution")],
)


# --- A scripted server --------------------------------------------------------------------------


@pytest.fixture
async def scripted_server() -> AsyncIterator[ScriptedServer]:
    """chatlib's stand-in server: it records what clients send, says what the test tells it."""
    async with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
async def chat_room_url() -> AsyncIterator[str]:
    """The URL of chatlib's real chat server, running in the test's event loop."""
    async with BackgroundServer(ChatServer().handler) as server:
        yield server.url


# --- The client as a subprocess -----------------------------------------------------------------


async def first_message(server: ScriptedServer) -> str | bytes:
    """The first message from a client just started: wait for it to connect, then to send."""
    assert await server.wait_for_connection(STARTUP_LIMIT), (
        f"no client connected to the scripted server within {STARTUP_LIMIT} s"
    )
    return await server.next_message()


@dataclass
class Exit:
    """How a client process ended, and what it wrote that nobody had read yet."""

    returncode: int
    stdout: str
    stderr: str


class ClientProcess:
    """A chat client running as a subprocess whose standard streams are pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def type(self, line: str) -> None:
        """Write ``line`` to the client's standard input, as if typed and followed by Enter."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    def end_input(self) -> None:
        """Close the client's standard input: the end of a piped file, or Ctrl-D."""
        assert self.process.stdin is not None
        self.process.stdin.close()

    async def next_line(self, within: float = WAIT) -> str:
        """The next line the client prints, waiting at most ``within`` seconds."""
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), within)
        except TimeoutError:
            raise AssertionError(f"the client printed no line within {within} s") from None
        assert line, "the client's output ended (did it exit?)"
        return line.decode().rstrip("\r\n")

    async def exit(self, within: float = WAIT) -> Exit:
        """Wait for the process to end (its input stays open) and collect what it wrote."""
        assert self.process.stdout is not None and self.process.stderr is not None
        try:
            stdout, stderr, returncode = await asyncio.wait_for(
                asyncio.gather(
                    self.process.stdout.read(), self.process.stderr.read(), self.process.wait()
                ),
                within,
            )
        except TimeoutError:
            raise AssertionError(f"the client was still running after {within} s") from None
        return Exit(returncode, stdout.decode(), stderr.decode())


StartClient = Callable[..., Awaitable[ClientProcess]]


@pytest.fixture
async def start_client() -> AsyncIterator[StartClient]:
    """Start client subprocesses; kill at teardown any that a failed test left running."""
    processes: list[asyncio.subprocess.Process] = []

    async def start(command: list[str], url: str, *options: str) -> ClientProcess:
        process = await asyncio.create_subprocess_exec(
            *command,
            "--url",
            url,
            *options,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=ENV,
        )
        processes.append(process)
        return ClientProcess(process)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


def closed_port_url() -> str:
    """A URL where nothing listens: a port the system just gave us, then closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}"


# --- Sending --------------------------------------------------------------------------------------


@BOTH_CLIENTS
async def test_first_typed_line_is_sent_as_the_name_then_each_line(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url)

    await client.type("Alice")
    await client.type("hello everyone")

    assert await first_message(scripted_server) == "Alice"
    assert await scripted_server.next_message() == "hello everyone"
    await client.type("/quit")
    assert (await client.exit()).returncode == 0


@BOTH_CLIENTS
async def test_name_option_is_sent_before_lines_typed_early(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    await client.type("typed before the connection was even open")

    assert await first_message(scripted_server) == "Alice"
    assert await scripted_server.next_message() == "typed before the connection was even open"
    await client.type("/quit")
    assert (await client.exit()).returncode == 0


# --- Receiving ------------------------------------------------------------------------------------


@BOTH_CLIENTS
async def test_message_from_others_appears_while_idle(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    await scripted_server.send("[Bob]: is anybody here?")

    assert await client.next_line(within=PROMPTLY) == "[Bob]: is anybody here?"
    await scripted_server.send("[Bob]: hello?")
    assert await client.next_line(within=PROMPTLY) == "[Bob]: hello?"
    client.end_input()
    assert (await client.exit()).returncode == 0


async def test_binary_frame_is_shown_as_a_note_and_the_chat_goes_on(scripted_server, start_client):
    client = await start_client(CHATLIB_CLIENT, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    await scripted_server.send(b"\x00\x01\x02")

    assert "binary" in await client.next_line()
    await client.type("still here")
    assert await scripted_server.next_message() == "still here"
    await client.type("/quit")
    assert (await client.exit()).returncode == 0


async def test_control_characters_from_the_server_are_not_printed(scripted_server, start_client):
    client = await start_client(CHATLIB_CLIENT, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    await scripted_server.send("[Eve]: line one\n[Eve]: clear\x1b[2J screen")

    assert await client.next_line() == "[Eve]: line one"
    assert await client.next_line() == "[Eve]: clear [2J screen"
    client.end_input()
    assert (await client.exit()).returncode == 0


# --- Leaving --------------------------------------------------------------------------------------


@BOTH_CLIENTS
async def test_quit_command_closes_the_connection_and_exits_0(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    await client.type("/quit")

    finished = await client.exit()
    assert finished.returncode == 0
    assert await scripted_server.next_close_code() == 1000
    assert scripted_server.received == ["Alice"], "/quit must not be sent to the room"
    assert "Traceback" not in finished.stderr


@BOTH_CLIENTS
async def test_end_of_input_closes_the_connection_and_exits_0(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    client.end_input()

    finished = await client.exit()
    assert finished.returncode == 0
    assert await scripted_server.next_close_code() == 1000
    assert "Traceback" not in finished.stderr


async def test_a_line_of_just_ctrl_d_ends_the_input_and_is_never_sent(
    scripted_server, start_client
):
    """On Windows Ctrl-D types a character; a learner used to Linux presses it, then Enter."""
    client = await start_client(CHATLIB_CLIENT, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    await client.type("\x04")
    await client.type("typed after the end")

    finished = await client.exit()
    assert finished.returncode == 0
    assert await scripted_server.next_close_code() == 1000
    assert scripted_server.received == ["Alice"], "a Ctrl-D line must not reach the room"


@BOTH_CLIENTS
async def test_ctrl_c_closes_the_connection_and_exits_0_without_traceback(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    client.process.send_signal(signal.SIGINT)

    finished = await client.exit()
    assert finished.returncode == 0
    assert "Traceback" not in finished.stderr
    assert await scripted_server.next_close_code() == 1000


# --- When the server is not there, or goes away ---------------------------------------------------


@BOTH_CLIENTS
async def test_no_server_prints_one_line_naming_the_url_and_exits_1(client_command, start_client):
    url = closed_port_url()

    client = await start_client(client_command, url, "--name", "Alice")

    finished = await client.exit()
    lines = (finished.stdout + finished.stderr).strip().splitlines()
    assert finished.returncode == 1
    assert len(lines) == 1, f"expected one line, got: {lines}"
    assert url in lines[0]
    assert "chat-server" in lines[0], "the line should say how to start the server"


@BOTH_CLIENTS
async def test_server_shutdown_is_reported_in_one_line_and_the_client_exits(
    client_command, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    await scripted_server.stop()

    line = await client.next_line()
    assert "closed the connection" in line
    assert "1001" in line
    finished = await client.exit()
    assert finished.returncode == 0
    assert finished.stdout == ""
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize(
    ("client_command", "exit_status"),
    # chatlib's client reports an abnormal end with status 1; the minimal solution keeps 0.
    [
        pytest.param(CHATLIB_CLIENT, 1, id="chatlib"),
        pytest.param(SOLUTION_CLIENT, 0, id="solution"),
    ],
)
async def test_dropped_connection_is_reported_and_the_client_exits(
    client_command, exit_status, scripted_server, start_client
):
    client = await start_client(client_command, scripted_server.url, "--name", "Alice")
    assert await first_message(scripted_server) == "Alice"

    scripted_server.drop_connections()

    assert await client.next_line() == "Lost the connection to the server."
    finished = await client.exit()
    assert finished.returncode == exit_status
    assert "Traceback" not in finished.stderr


# --- With chatlib's chat room ---------------------------------------------------------------------


@BOTH_CLIENTS
async def test_two_clients_chat_through_the_reference_server(
    client_command, chat_room_url, start_client
):
    alice = await start_client(client_command, chat_room_url, "--name", "Alice")
    assert (
        await alice.next_line(within=STARTUP_LIMIT)
        == "[Server]: Welcome, Alice! You are the first one here."
    )
    bob = await start_client(client_command, chat_room_url, "--name", "Bob")
    assert await bob.next_line(within=STARTUP_LIMIT) == "[Server]: Welcome, Bob! Here now: Alice."
    assert await alice.next_line() == "[Server]: Bob has joined the chat."

    await alice.type("Hi Bob")

    assert await bob.next_line(within=PROMPTLY) == "[Alice]: Hi Bob"
    await bob.type("/quit")
    assert (await bob.exit()).returncode == 0
    assert await alice.next_line() == "[Server]: Bob has left the chat."
    alice.end_input()
    assert (await alice.exit()).returncode == 0


@BOTH_CLIENTS
async def test_refused_name_can_be_typed_again(client_command, chat_room_url, start_client):
    alice = await start_client(client_command, chat_room_url, "--name", "Alice")
    assert (await alice.next_line(within=STARTUP_LIMIT)).startswith("[Server]: Welcome, Alice!")
    newcomer = await start_client(client_command, chat_room_url)

    await newcomer.type("Alice")
    assert "already taken" in await newcomer.next_line(within=STARTUP_LIMIT)
    await newcomer.type("Bob")

    assert await newcomer.next_line() == "[Server]: Welcome, Bob! Here now: Alice."
    for client in (alice, newcomer):
        client.end_input()
        assert (await client.exit()).returncode == 0


# --- In a terminal --------------------------------------------------------------------------------


class TerminalScreen:
    """Everything a program wrote to a pseudo-terminal, read from the master side."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.output = b""
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: no program has the terminal open any more.
            data = b""
        if not data:
            self._loop.remove_reader(self.master)
        self.output += data
        self._changed.set()

    async def expect(self, text: str, within: float = WAIT) -> None:
        """Wait until ``text`` has appeared on the terminal, at most ``within`` seconds."""

        async def appeared() -> None:
            while text.encode() not in self.output:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(appeared(), within)
        except TimeoutError:
            raise AssertionError(
                f"{text!r} did not appear on the terminal within {within} s; it shows "
                f"{self.output.decode(errors='replace')!r}"
            ) from None

    def close(self) -> None:
        self._loop.remove_reader(self.master)


def make_it_the_controlling_terminal() -> None:
    """In the child: adopt its standard input as controlling terminal, so that typing Ctrl-C
    there sends SIGINT, as in a real terminal (``start_new_session`` made it a session leader).
    """
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


LINE_MODE_FLAGS = (termios.ECHO | termios.ICANON) if sys.platform != "win32" else 0


@pytest.fixture
async def terminal() -> AsyncIterator[tuple[int, int]]:
    """A pseudo-terminal as (master, slave) file descriptors, closed at teardown."""
    if sys.platform == "win32":
        pytest.skip(NO_PTY_HERE)
    master, slave = pty.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


async def start_in_terminal(command: list[str], slave: int, *args: str):
    return await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=ENV,
        start_new_session=True,
        preexec_fn=make_it_the_controlling_terminal,
    )


@contextlib.asynccontextmanager
async def screen_of(process, master: int) -> AsyncIterator[TerminalScreen]:
    """What ``process`` shows in the terminal whose master side is ``master``, while the block
    runs; at the end, the process is killed if it still runs.

    When the block fails, the failure carries what the terminal showed; if the process still
    runs then (it hangs), that includes where each of its threads stands: SIGABRT makes its
    fault handler print their stacks before it ends.
    """
    screen = TerminalScreen(master)
    try:
        yield screen
    except BaseException as failure:
        if process.returncode is None:
            process.send_signal(signal.SIGABRT)
            with contextlib.suppress(AssertionError):
                await screen.expect("Current thread", within=WAIT)  # The stacks' last part.
        failure.add_note(f"The terminal showed: {screen.output.decode(errors='replace')!r}")
        raise
    finally:
        screen.close()
        if process.returncode is None:
            process.kill()
            await process.wait()


async def assert_the_shell_gets_what_is_typed_next(screen: TerminalScreen, slave: int) -> None:
    """Once the client has exited, type a command as the user would at their shell's prompt:
    the terminal must echo it, and the next program to read the terminal (the shell) must get
    exactly that line, neither in readline's raw mode nor after leftovers typed in the client.
    """
    os.write(screen.master, b"echo back\r")
    await screen.expect("echo back\r\n")
    loop = asyncio.get_running_loop()
    line_ready = asyncio.Event()
    loop.add_reader(slave, line_ready.set)
    try:
        await asyncio.wait_for(line_ready.wait(), WAIT)
    finally:
        loop.remove_reader(slave)
    assert os.read(slave, 1024) == b"echo back\n"


@BOTH_CLIENTS
async def test_terminal_session_shows_messages_while_idle_and_ctrl_c_leaves_cleanly(
    client_command, scripted_server, terminal
):
    master, slave = terminal
    settings_before = termios.tcgetattr(slave)
    process = await start_in_terminal(client_command, slave, "--url", scripted_server.url)
    async with screen_of(process, master) as screen:
        await screen.expect("Your name: ")
        os.write(master, b"Alice\r")
        assert await first_message(scripted_server) == "Alice"
        os.write(master, b"hello\r")
        assert await scripted_server.next_message() == "hello"

        await scripted_server.send("[Bob]: hi Alice")
        await screen.expect("[Bob]: hi Alice", within=PROMPTLY)

        os.write(master, b"\x03")  # Ctrl-C
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
        assert await scripted_server.next_close_code() == 1000
        assert b"Traceback" not in screen.output
        assert b"Fatal Python error" not in screen.output
        settings_after = termios.tcgetattr(slave)
        assert settings_after[3] & LINE_MODE_FLAGS == settings_before[3] & LINE_MODE_FLAGS
        assert settings_after == settings_before
        await assert_the_shell_gets_what_is_typed_next(screen, slave)


async def test_terminal_is_left_usable_when_the_server_shuts_down(scripted_server, terminal):
    master, slave = terminal
    settings_before = termios.tcgetattr(slave)
    process = await start_in_terminal(
        CHATLIB_CLIENT, slave, "--url", scripted_server.url, "--name", "Alice"
    )
    async with screen_of(process, master) as screen:
        assert await first_message(scripted_server) == "Alice"
        os.write(master, b"half a sen")  # The user is typing when the server goes away.

        await scripted_server.stop()

        await screen.expect("The server closed the connection: 1001 (going away).")
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
        assert b"Traceback" not in screen.output
        assert b"Fatal Python error" not in screen.output
        assert termios.tcgetattr(slave) == settings_before
        await assert_the_shell_gets_what_is_typed_next(screen, slave)


async def wait_for_line_editing(slave: int) -> None:
    """Wait until readline has switched the terminal to its own mode to read a line.

    A key typed before that is handled by the terminal's own line discipline: a Ctrl-D there
    is an end-of-file mark that readline, switching modes, then reads as a plain character.
    Nothing is written when readline is ready, so this watches the terminal's state.
    """
    deadline = asyncio.get_running_loop().time() + WAIT
    while termios.tcgetattr(slave)[3] & termios.ICANON:
        assert asyncio.get_running_loop().time() < deadline, (
            f"readline did not start reading within {WAIT} s"
        )
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(b"\x04", id="ctrl-d"),
        pytest.param(b"/quit\r", id="quit"),
        pytest.param(b"half a sen\x03", id="ctrl-c-while-a-line-is-half-typed"),
    ],
)
async def test_terminal_is_left_as_found_when_the_user_leaves(keys, scripted_server, terminal):
    master, slave = terminal
    settings_before = termios.tcgetattr(slave)
    process = await start_in_terminal(
        CHATLIB_CLIENT, slave, "--url", scripted_server.url, "--name", "Alice"
    )
    async with screen_of(process, master) as screen:
        assert await first_message(scripted_server) == "Alice"
        await wait_for_line_editing(slave)

        os.write(master, keys)

        assert await asyncio.wait_for(process.wait(), WAIT) == 0
        assert await scripted_server.next_close_code() == 1000
        assert b"Traceback" not in screen.output
        assert termios.tcgetattr(slave) == settings_before
        await assert_the_shell_gets_what_is_typed_next(screen, slave)


# A keyboard read that starts after the client has left: chatlib's client run through this
# launcher. Read number HELD_READ of the keyboard thread waits until the exit handlers run,
# that is, after the client has left and put the terminal back; then it goes on, and the
# process ends only once that read has set its terminal up (readline's pre-input hook) or
# given up. This is a schedule a busy machine can produce by chance: the keyboard thread is
# not given the processor until the client has left.
HELD_READ_NOTE = "(this keyboard read waits until the client has left)"
LATE_READ_LAUNCHER = f"""
import atexit, builtins, sys, threading
import readline
from chatlib.course.cli import main

HELD_READ = int(sys.argv.pop(1))
reads = 0
client_left = threading.Event()
read_settled = threading.Event()
typed_input = builtins.input


def held_input(prompt=""):
    global reads
    reads += 1
    if reads < HELD_READ:
        return typed_input(prompt)
    print({HELD_READ_NOTE!r}, flush=True)
    client_left.wait()
    try:
        return typed_input(prompt)
    finally:
        read_settled.set()


def let_the_held_read_start():
    client_left.set()
    read_settled.wait({WAIT})


def settled_once_held_read_set_up():
    if reads >= HELD_READ:
        read_settled.set()


builtins.input = held_input
readline.set_pre_input_hook(settled_once_held_read_set_up)
atexit.register(let_the_held_read_start)
raise SystemExit(main(["chat-client", *sys.argv[1:]]))
"""


async def server_goes_away_while_a_line_is_half_typed(master: int, server: ScriptedServer) -> None:
    os.write(master, b"half a sen")
    await server.stop()


async def ctrl_c(master: int, server: ScriptedServer) -> None:
    os.write(master, b"\x03")


async def quit_command(master: int, server: ScriptedServer) -> None:
    os.write(master, b"/quit\r")


@pytest.mark.parametrize(
    ("leave", "held_read"),
    [
        # The first read: the keyboard thread had not started reading when the client left.
        pytest.param(server_goes_away_while_a_line_is_half_typed, 1, id="server-goes-away"),
        pytest.param(ctrl_c, 1, id="ctrl-c"),
        # The second read: the thread passed on "/quit" and went straight back to reading.
        pytest.param(quit_command, 2, id="quit"),
    ],
)
async def test_a_keyboard_read_that_starts_after_leaving_leaves_the_terminal_as_found(
    leave, held_read, scripted_server, terminal
):
    master, slave = terminal
    settings_before = termios.tcgetattr(slave)
    process = await start_in_terminal(
        [sys.executable, "-c", LATE_READ_LAUNCHER, str(held_read)],
        slave,
        "--url",
        scripted_server.url,
        "--name",
        "Alice",
    )
    async with screen_of(process, master) as screen:
        assert await first_message(scripted_server) == "Alice"

        await leave(master, scripted_server)

        assert await asyncio.wait_for(process.wait(), WAIT) == 0
        assert HELD_READ_NOTE.encode() in screen.output, "the late read did not happen"
        assert b"Traceback" not in screen.output
        settings_after = termios.tcgetattr(slave)
        assert settings_after[3] & LINE_MODE_FLAGS == settings_before[3] & LINE_MODE_FLAGS, (
            "the terminal was left without echo or line editing"
        )
        assert settings_after == settings_before
        await assert_the_shell_gets_what_is_typed_next(screen, slave)
