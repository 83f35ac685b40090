"""Terminal input and output for the clients, without ever blocking the event loop.

Reading the keyboard is a blocking call: ``input()`` inside a coroutine would freeze every
other task (no messages would arrive while the user thinks). :class:`KeyboardLines` reads in a
daemon thread instead and hands each line to the event loop. A daemon thread does not keep
the program alive, so the client can exit while the thread still waits for a key press.

When a message arrives while the user is typing, :func:`show` prints it on a new line *above*
the one being typed, so the half-typed text stays where it was. Text from the network goes
through :func:`visible` first: no control character of it reaches the terminal (the chat
server relays every line through it too).

Whatever happens, the user gets their terminal back as it was: :func:`terminal_settings_restored`
wraps the whole client (see there why saving and restoring the settings is not enough).
"""

import asyncio
import codecs
import contextlib
import functools
import itertools
import os
import sys
import threading
import unicodedata
from collections.abc import Iterator
from typing import Protocol

# ANSI escape sequences, understood by the terminals of Linux and macOS, by xterm.js (JupyterLab's
# terminal), by Windows Terminal, and by Windows' classic console once they are turned on.
SAVE_CURSOR = "\x1b7"
RESTORE_CURSOR = "\x1b8"
CURSOR_UP = "\x1b[A"
CURSOR_DOWN = "\x1b[B"
INSERT_LINE = "\x1b[L"

# The key that ends input, as the clients and the lessons name it: Ctrl-D in the terminals of
# Linux and macOS; on Windows, Ctrl-Z then Enter (Ctrl-D there types a character, "\x04").
END_OF_INPUT_KEY = "Ctrl-Z then Enter" if sys.platform == "win32" else "Ctrl-D"
# A line that holds only that character: someone pressed Ctrl-D, then Enter, on Windows.
TYPED_CTRL_D = "\x04"


def is_interactive() -> bool:
    """True when a person types on a terminal (not when input comes from a pipe or file)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def show(text: str) -> None:
    """Print ``text`` as a line of its own, above whatever the user is typing."""
    sys.stdout.write(line_above_input(text) if escape_sequences_work() else text + "\n")
    sys.stdout.flush()


def visible(line: str) -> str:
    """``line`` with every control character (a tab, an escape, a carriage return) as a space.

    Printed raw, ``"\x1b[2K"`` would wipe a line of the screen and ``"\r"`` write over it:
    text from the network must not steer the terminal that shows it. The server relays every
    line through this, and the client prints every line it receives through it too.
    """
    # Every control character is unprintable, so a printable line has none to replace.
    # isprintable() checks the whole line in C, about ten times faster than asking for each
    # character's category in Python (profiled: the room's costliest step at 10 clients).
    # Most lines are printable; only the others take the slow path.
    if line.isprintable():
        return line
    return "".join(" " if unicodedata.category(char) == "Cc" else char for char in line)


def line_above_input(text: str) -> str:
    """What to write so that ``text`` appears above the line being typed, which stays as it is.

    Make room below the cursor, then insert a blank line above the input line, print into
    it, and put the cursor back where the user was typing.
    """
    return f"{SAVE_CURSOR}\n{CURSOR_UP}{INSERT_LINE}{text}\n{RESTORE_CURSOR}{CURSOR_DOWN}"


def escape_sequences_work() -> bool:
    """True when standard output is a terminal that will act on :func:`show`'s escape sequences.

    Not for a pipe or a file: there a script reads one message per line, without escape
    sequences. On Windows, only when the console has them turned on (see
    :func:`escape_sequences_enabled`); a console that refused gets plain lines.
    """
    if not is_interactive():
        return False
    return sys.platform != "win32" or interprets_escape_sequences(windows_console())


class KeyboardLines:
    """The lines the user types, delivered to asyncio code one at a time.

    Create it inside a running event loop, then ``await keyboard.next_line()``; it returns
    ``None`` once input has ended (Ctrl-D, Ctrl-Z then Enter on Windows, a line of just
    Ctrl-D typed there out of habit, or the end of a piped file).
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read_forever, name="keyboard", daemon=True).start()

    async def next_line(self) -> str | None:
        """Wait for the next typed line, without its newline; ``None`` at end of input."""
        return await self._lines.get()

    def _read_forever(self) -> None:
        """Runs in the thread: read lines until end of input and pass each to the loop."""
        lines = typed_lines() if is_interactive() else piped_lines()
        # A line of just Ctrl-D is the end of input too: never a name or a message to send.
        lines = itertools.takewhile(lambda line: line != TYPED_CTRL_D, lines)
        for line in itertools.chain(lines, [None]):  # None says that input has ended.
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:
                return  # The event loop has closed: the program is exiting.


def typed_lines() -> Iterator[str]:
    """Lines typed on a terminal, read with ``input()``: with line editing and history.

    Importing ``readline`` (absent on Windows, where the console edits lines itself) gives
    ``input()`` the arrow keys and the history of earlier lines. readline changes the
    terminal's mode while it reads a line; :func:`terminal_settings_restored` makes sure the
    user gets the terminal back as it was anyway.
    """
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
    while True:
        try:
            yield input()
        except (EOFError, OSError, ValueError):
            return  # Ctrl-D, or stdin closed under us.


def piped_lines() -> Iterator[str]:
    """Lines from a pipe or a file, read straight from file descriptor 0.

    Not through ``sys.stdin``: a daemon thread blocked inside ``sys.stdin``'s buffered reader
    holds its lock, and an interpreter that exits meanwhile may need that lock and abort with
    "Fatal Python error: _enter_buffered_busy".
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    try:
        while chunk := os.read(sys.stdin.fileno(), 4096):
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            yield from (line.rstrip("\r") for line in complete)
    except (OSError, ValueError):
        return  # stdin was closed under us.
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


@contextlib.contextmanager
def terminal_settings_restored() -> Iterator[None]:
    """Give the terminal back exactly as it was found when the program leaves, however it leaves.

    Wrap the whole client in it: the server going away, Ctrl-C, Ctrl-D and ``/quit`` all pass
    through its end. On Windows it also lets the console interpret :func:`show`'s escape
    sequences while the client runs (see :func:`escape_sequences_enabled`).
    """
    if sys.platform == "win32":
        with escape_sequences_enabled(windows_console()):
            yield
    else:
        with tty_settings_restored():
            yield


@contextlib.contextmanager
def tty_settings_restored() -> Iterator[None]:
    """Save the settings of the terminal that standard input reads, and put them back at the end.

    Line editing (``readline``) switches the terminal to a mode of its own, without echo or
    line buffering, each time it starts reading a line, and switches it back when the line is
    done. It does so in the keyboard thread, whenever that thread gets the processor, and
    the thread is still reading when the program leaves. Writing the saved settings back is
    therefore not enough: on a busy machine the thread may start its next read just *after*
    that, and the program would exit with the terminal in readline's mode, leaving the shell
    showing nothing the user types.

    So leaving first takes the keyboard away from that thread: standard input becomes a
    spare terminal that nobody types on (:func:`stop_reading_the_keyboard`). A read that
    starts from then on sets up that spare terminal and waits there until the process is
    gone. Only then are the saved settings written back, through a copy of the real
    terminal's descriptor kept for the purpose. (The one schedule this cannot rule out is a
    mode switch already inside the kernel at the very instant of the swap: one system call,
    whose end only readline itself could report.)
    """
    import termios

    if not sys.stdin.isatty():
        yield  # A pipe or a file: no terminal settings to keep.
        return
    keyboard = os.dup(sys.stdin.fileno())
    saved = termios.tcgetattr(keyboard)
    try:
        yield
    finally:
        # Only line editing changes the terminal's mode, and the keyboard is read with it only
        # when is_interactive() (typed_lines). The plain reads of piped_lines are left alone:
        # on macOS, replacing a descriptor under a blocked read() may wait for that read.
        if is_interactive():
            stop_reading_the_keyboard()
        # Drop what was typed but not sent: otherwise the shell would run it as a command.
        termios.tcflush(keyboard, termios.TCIFLUSH)
        termios.tcsetattr(keyboard, termios.TCSADRAIN, saved)
        os.close(keyboard)


def stop_reading_the_keyboard() -> None:
    """Point standard input at a spare pseudo-terminal that nobody types on, for good.

    Any read of standard input that starts afterwards, whichever thread starts it, waits
    forever without touching the user's terminal; a read already waiting goes on waiting,
    which changes nothing. It stays a terminal on purpose: ``input()`` then still reads
    through readline, which holds no lock of Python's own, whereas reading from a file such
    as ``/dev/null`` goes through ``sys.stdin``'s buffer, and a daemon thread stopped at exit
    while holding that buffer's lock makes Python abort with "Fatal Python error:
    _enter_buffered_busy".
    """
    try:
        # The controlling side stays open (never closed: the process is leaving), so that a
        # read on the spare terminal waits instead of failing at once.
        _, spare_terminal = os.openpty()
    except OSError:  # No pseudo-terminal left: /dev/null at least never reaches the user's.
        spare_terminal = os.open(os.devnull, os.O_RDONLY)
    os.dup2(spare_terminal, sys.stdin.fileno())
    os.close(spare_terminal)


# --- Windows consoles -----------------------------------------------------------------------------

# The console mode flag that makes a Windows console interpret escape sequences; consoles of
# Windows 10 and newer accept it, older ones refuse it.
ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004


class Console(Protocol):
    """A Windows console's output mode: what :func:`escape_sequences_enabled` reads and sets."""

    def output_mode(self) -> int | None:
        """The current mode, or ``None`` when standard output is not a console (redirected)."""

    def set_output_mode(self, mode: int) -> bool:
        """Set the mode; ``False`` when the console refuses it."""


@contextlib.contextmanager
def escape_sequences_enabled(console: Console) -> Iterator[None]:
    """Let ``console`` interpret escape sequences in the ``with`` block, then put its mode back.

    Windows Terminal and the terminals built on ConPTY interpret them already and are left
    alone. The classic console (``conhost``, where ``cmd.exe`` and PowerShell open by default
    on older Windows) shows them as raw characters until its mode has the
    virtual-terminal flag; where the console refuses that flag, nothing changes and
    :func:`show` prints plain lines (it checks the mode, see :func:`interprets_escape_sequences`).
    websockets' own client turns the flag on with ``os.system("")``, a side effect of
    ``cmd.exe`` that is never undone; setting it directly lets the console get its mode back.
    """
    mode = console.output_mode()
    if (
        mode is None
        or mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING
        or not console.set_output_mode(mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING)
    ):
        yield
        return
    try:
        yield
    finally:
        console.set_output_mode(mode)


def interprets_escape_sequences(console: Console) -> bool:
    """True when ``console`` shows escape sequences' effect rather than their characters."""
    mode = console.output_mode()
    return mode is not None and bool(mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING)


class WindowsConsole:
    """The console that standard output writes to, reached through ``kernel32`` (Windows only)."""

    STD_OUTPUT_HANDLE = -11

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        # Declared types: the default (a C int) would cut a 64-bit handle in half.
        kernel32.GetStdHandle.argtypes = [wintypes.DWORD]
        kernel32.GetStdHandle.restype = wintypes.HANDLE
        kernel32.GetConsoleMode.argtypes = [wintypes.HANDLE, wintypes.LPDWORD]
        kernel32.GetConsoleMode.restype = wintypes.BOOL
        kernel32.SetConsoleMode.argtypes = [wintypes.HANDLE, wintypes.DWORD]
        kernel32.SetConsoleMode.restype = wintypes.BOOL
        self._kernel32 = kernel32
        self._handle = kernel32.GetStdHandle(wintypes.DWORD(self.STD_OUTPUT_HANDLE))

    def output_mode(self) -> int | None:
        """The console's output mode, or ``None`` when standard output is not a console."""
        import ctypes
        from ctypes import wintypes

        mode = wintypes.DWORD()
        if not self._kernel32.GetConsoleMode(self._handle, ctypes.byref(mode)):
            return None
        return mode.value

    def set_output_mode(self, mode: int) -> bool:
        """Set the console's output mode; ``False`` when the console refuses it."""
        return bool(self._kernel32.SetConsoleMode(self._handle, mode))


@functools.cache
def windows_console() -> WindowsConsole:
    """Standard output's console, looked up once (Windows only)."""
    return WindowsConsole()
