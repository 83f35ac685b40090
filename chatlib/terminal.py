"""Terminal input and output for the clients, without ever blocking the event loop.

Reading the keyboard is a blocking call: ``input()`` inside a coroutine would freeze every
other task (no messages would arrive while the user thinks). :class:`KeyboardLines` reads in a
daemon thread instead and hands each line to the event loop. A daemon thread does not keep
the program alive, so the client can exit while the thread still waits for a key press.

When a message arrives while the user is typing, :func:`show` prints it on a new line *above*
the one being typed, so the half-typed text stays where it was.
"""

import asyncio
import codecs
import contextlib
import itertools
import os
import sys
import threading
from collections.abc import Iterator

# ANSI escape sequences, understood by terminals on Linux, macOS and Windows 10 and newer.
SAVE_CURSOR = "\x1b7"
RESTORE_CURSOR = "\x1b8"
CURSOR_UP = "\x1b[A"
CURSOR_DOWN = "\x1b[B"
INSERT_LINE = "\x1b[L"


def is_interactive() -> bool:
    """True when a person types on a terminal (not when input comes from a pipe or file)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def show(text: str) -> None:
    """Print ``text`` as a line of its own, above whatever the user is typing."""
    if is_interactive():
        # Make room below the cursor, then insert a blank line above the input line, print
        # into it, and put the cursor back where the user was typing.
        sys.stdout.write(
            f"{SAVE_CURSOR}\n{CURSOR_UP}{INSERT_LINE}{text}\n{RESTORE_CURSOR}{CURSOR_DOWN}"
        )
    else:
        sys.stdout.write(text + "\n")
    sys.stdout.flush()


class KeyboardLines:
    """The lines the user types, delivered to asyncio code one at a time.

    Create it inside a running event loop, then ``await keyboard.next_line()``; it returns
    ``None`` once input has ended (Ctrl-D, or the end of a piped file).
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
        for line in itertools.chain(lines, [None]):  # None says that input has ended.
            try:
                self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            except RuntimeError:
                return  # The event loop has closed: the program is exiting.


def typed_lines() -> Iterator[str]:
    """Lines typed on a terminal, read with ``input()``: with line editing and history.

    Importing ``readline`` (absent on Windows, where the console edits lines itself) gives
    ``input()`` the arrow keys and the history of earlier lines.
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
    """Put the terminal back as it was when the program leaves, however it leaves.

    Line editing switches the terminal to a special mode while a line is being read. A
    program that exits in the middle of that (Ctrl-C, the server going away) would leave the
    user's shell without echo; restoring the saved settings prevents that.
    """
    try:
        import termios
    except ImportError:  # pragma: no cover - Windows has no termios, and needs none.
        yield
        return
    if not sys.stdin.isatty():
        yield
        return
    saved = termios.tcgetattr(sys.stdin)
    try:
        yield
    finally:
        # Drop what was typed but not sent: otherwise the shell would run it as a command.
        termios.tcflush(sys.stdin, termios.TCIFLUSH)
        termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
