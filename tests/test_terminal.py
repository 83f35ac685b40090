"""What the clients do with a Windows console, decided here on any system.

A console's output mode is the one thing chatlib reads and sets on Windows. These tests play
it with :class:`SimulatedConsole`, which keeps a mode and accepts or refuses the
virtual-terminal flag the way kernel32's ``SetConsoleMode`` does on each kind of console; the
decisions taken from it (:func:`chatlib.terminal.escape_sequences_enabled`,
:func:`chatlib.terminal.interprets_escape_sequences`) are chatlib's own, unchanged. What the
clients do in a real terminal is tested in ``tests/test_chat_client.py``, in a pseudo-terminal.
"""

from dataclasses import dataclass

import pytest

from chatlib.terminal import (
    ENABLE_VIRTUAL_TERMINAL_PROCESSING,
    escape_sequences_enabled,
    interprets_escape_sequences,
)

# Output modes as GetConsoleMode reports them: the classic console host (conhost) starts with
# ENABLE_PROCESSED_OUTPUT | ENABLE_WRAP_AT_EOL_OUTPUT; a pseudo-console (Windows Terminal,
# JupyterLab's terminal on Windows) starts with the virtual-terminal flag on as well.
CLASSIC_CONSOLE_MODE = 0x0003
PSEUDO_CONSOLE_MODE = CLASSIC_CONSOLE_MODE | ENABLE_VIRTUAL_TERMINAL_PROCESSING


@dataclass
class SimulatedConsole:
    """A console's output mode; ``mode`` is ``None`` when standard output is redirected."""

    mode: int | None
    accepts_escape_sequences: bool = True  # False: a console older than Windows 10
    changes: int = 0

    def output_mode(self) -> int | None:
        return self.mode

    def set_output_mode(self, mode: int) -> bool:
        if self.mode is None:
            return False
        if mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING and not self.accepts_escape_sequences:
            return False
        self.mode = mode
        self.changes += 1
        return True


def test_classic_console_interprets_escape_sequences_while_the_client_runs_then_has_its_mode_back():
    console = SimulatedConsole(CLASSIC_CONSOLE_MODE)
    assert not interprets_escape_sequences(console), "raw characters before the client starts"

    with escape_sequences_enabled(console):
        assert interprets_escape_sequences(console)

    assert console.mode == CLASSIC_CONSOLE_MODE


def test_classic_console_gets_its_mode_back_when_the_client_leaves_with_ctrl_c():
    console = SimulatedConsole(CLASSIC_CONSOLE_MODE)

    with pytest.raises(KeyboardInterrupt), escape_sequences_enabled(console):
        raise KeyboardInterrupt

    assert console.mode == CLASSIC_CONSOLE_MODE


def test_console_that_refuses_escape_sequences_gets_plain_lines_and_keeps_its_mode():
    console = SimulatedConsole(CLASSIC_CONSOLE_MODE, accepts_escape_sequences=False)

    with escape_sequences_enabled(console):
        assert not interprets_escape_sequences(console), "show() must print plain lines"

    assert console.mode == CLASSIC_CONSOLE_MODE
    assert console.changes == 0


def test_pseudo_console_that_interprets_them_already_is_left_alone():
    console = SimulatedConsole(PSEUDO_CONSOLE_MODE)

    with escape_sequences_enabled(console):
        assert interprets_escape_sequences(console)

    assert console.changes == 0


def test_redirected_output_is_no_console_and_gets_plain_lines():
    console = SimulatedConsole(None)

    with escape_sequences_enabled(console):
        assert not interprets_escape_sequences(console)
