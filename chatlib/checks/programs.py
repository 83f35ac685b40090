"""Run the program under test as a subprocess, collect its output, and explain its errors.

Running the learner's file in a process of its own keeps the checker safe from it: a syntax
error, a crash or an endless loop in the learner's code is reported, never inherited.
"""

import asyncio
import codecs
import contextlib
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

from chatlib.checks.core import ProgramProblem, on_windows

# How long a program may take to start, and to exit once asked to.
STARTUP_LIMIT = 10.0
EXIT_LIMIT = 5.0

# The folder that holds chatlib, exercises/ and solutions/.
REPOSITORY = Path(__file__).resolve().parents[2]

TRACEBACK_FRAME = re.compile(
    r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?'
)


# How much of a program's output the checker keeps: the latest lines only. Every check looks at
# what a program printed recently (after it started, after a message arrived), and a program
# that prints in an endless loop must not fill the checker's memory.
KEPT_LINES = 1_000
KEPT_CHARACTERS = 256 * 1024
# A "line" that never ends is cut into pieces of this length, for the same reason.
LONGEST_LINE = 16 * 1024


class RecentLines(Sequence[str]):
    """The lines a program wrote, numbered from its first, of which only the latest are kept.

    Indexes and ``len()`` count every line ever written, so a check that noted where the
    output stood can ask for what came after it even once older lines have been dropped.
    Dropped lines are simply absent from slices and iteration.
    """

    def __init__(self) -> None:
        self._kept: deque[str] = deque()
        self._kept_characters = 0
        self.dropped = 0  # How many of the oldest lines were let go.

    def append(self, line: str) -> None:
        """Add one line, dropping the oldest ones beyond the limits."""
        self._kept.append(line)
        self._kept_characters += len(line)
        while len(self._kept) > KEPT_LINES or (
            self._kept_characters > KEPT_CHARACTERS and len(self._kept) > 1
        ):
            self._kept_characters -= len(self._kept.popleft())
            self.dropped += 1

    def __len__(self) -> int:
        return self.dropped + len(self._kept)

    def __iter__(self) -> Iterator[str]:
        return iter(self._kept)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            kept = range(start, stop, step)
            return [self._kept[i - self.dropped] for i in kept if i >= self.dropped]
        position = index + len(self) if index < 0 else index
        if not self.dropped <= position < len(self):
            raise IndexError("that line was never written, or is no longer kept")
        return self._kept[position - self.dropped]


class Output:
    """The lines a program writes to one stream, kept as they arrive so a check can wait."""

    def __init__(self) -> None:
        self.lines = RecentLines()
        self.ended = False  # True once the stream is closed: no line will come any more.
        self._changed = asyncio.Event()

    async def collect(self, stream: asyncio.StreamReader) -> None:
        """Read ``stream`` until it ends, recording each line (runs as a background task)."""
        # Read chunks rather than lines: a prompt such as "Your name: " has no newline yet.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while chunk := await stream.read(4096):
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            while len(pending) > LONGEST_LINE:
                complete.append(pending[:LONGEST_LINE])
                pending = pending[LONGEST_LINE:]
            for line in complete:
                self.lines.append(line.rstrip("\r"))
            self._changed.set()
        pending += decoder.decode(b"", final=True)
        if pending:
            self.lines.append(pending)
        self.ended = True
        self._changed.set()

    def text(self) -> str:
        """Everything written so far (the latest part of it, for a very talkative program)."""
        return "\n".join(self.lines)

    async def wait_for(self, pattern: str, timeout: float, start: int = 0) -> re.Match | None:
        """Wait until a line (from index ``start`` on) matches ``pattern``.

        ``None`` when none does within ``timeout``, or when the stream ends (the program
        exited) without one: a program that crashed at start is reported at once.
        """
        compiled = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            for line in self.lines[start:]:
                if match := compiled.search(line):
                    return match
            # Lines up to here are searched: the next round looks only at newer ones.
            start = max(start, len(self.lines))
            remaining = deadline - loop.time()
            if remaining <= 0 or self.ended:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


class RunningProgram:
    """A program running as a subprocess, with its output collected as it arrives."""

    def __init__(self, process: asyncio.subprocess.Process, path: Path | None) -> None:
        self.process = process
        self.path = path
        self.stdout = Output()
        self.stderr = Output()
        self._collectors = [
            asyncio.create_task(self.stdout.collect(process.stdout)),
            asyncio.create_task(self.stderr.collect(process.stderr)),
        ]

    @classmethod
    async def start(
        cls, command: list[str], path: Path | None = None, cwd: Path | None = None
    ) -> "RunningProgram":
        """Start ``command`` (in folder ``cwd``) with pipes for stdin, stdout and stderr.

        ``path`` is the learner's file, when there is one, so errors can point into it.
        """
        environment = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            cwd=cwd,
        )
        return cls(process, path)

    @property
    def exit_code(self) -> int | None:
        """The exit status once the program has ended, else ``None``."""
        return self.process.returncode

    async def type(self, text: str) -> None:
        """Write ``text`` to the program's standard input, as if typed."""
        self.process.stdin.write(text.encode())
        with contextlib.suppress(ConnectionError):
            await self.process.stdin.drain()

    def end_input(self) -> None:
        """Close standard input: what Ctrl-D does in a terminal."""
        self.process.stdin.close()

    def press_ctrl_c(self) -> None:
        """Send SIGINT, which is what pressing Ctrl-C in the program's terminal does."""
        self.process.send_signal(signal.SIGINT)

    async def wait_for_exit(self, timeout: float = EXIT_LIMIT) -> int | None:
        """Wait until the program ends and its output is read; its exit code or ``None``."""
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            return None
        await asyncio.wait(self._collectors, timeout=1.0)
        return self.process.returncode

    async def stop(self) -> None:
        """End the program: politely (Ctrl-C) first, then by force."""
        if self.exit_code is None:
            with contextlib.suppress(ProcessLookupError):
                if on_windows():
                    self.process.terminate()
                else:
                    self.press_ctrl_c()
            if await self.wait_for_exit(3.0) is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.wait_for_exit(3.0)
        for collector in self._collectors:
            collector.cancel()

    def diagnosis(self, role: str) -> str:
        """What the program itself reported (an exception, an early exit), for a failure message.

        ``role`` names the program for the learner: "server" or "client".
        """
        report = self.error_report()
        if report:
            return f"Your {role} reported an error: {report}"
        if self.exit_code is None:
            return ""
        last_words = next((line for line in self.stderr.lines if line.strip()), "")
        said = f", saying: {last_words}" if last_words else ""
        return f"Your {role} ended (exit code {self.exit_code}){said}."

    def error_report(self) -> str | None:
        """Where and why the program raised an exception, from its stderr; ``None`` if it didn't."""
        return explain_traceback(self.stderr.text(), self.path)


def explain_traceback(stderr: str, path: Path | None) -> str | None:
    """Summarise the last traceback in ``stderr`` as "file, line N: ExceptionType: message".

    The line shown is the last one in the learner's own file when the traceback passes
    through it: that is where the learner can act.
    """
    if "Traceback (most recent call last)" not in stderr:
        return None
    last_traceback = stderr.rsplit("Traceback (most recent call last)", 1)[1].splitlines()
    frames = [match for line in last_traceback if (match := TRACEBACK_FRAME.match(line))]
    error_lines = [line for line in last_traceback if line and not line[0].isspace()]
    error = error_lines[-1] if error_lines else "an exception"
    in_learner_file = [frame for frame in frames if path and same_file(frame["file"], path)]
    frame = (in_learner_file or frames or [None])[-1]
    if frame is None:
        return error
    return f"{display_path(Path(frame['file']))}, line {frame['line']}: {error}"


def same_file(name: str, path: Path) -> bool:
    """True when the file named in a traceback is ``path``."""
    try:
        return Path(name).resolve() == path.resolve()
    except OSError:
        return False


def display_path(path: Path) -> str:
    """``path`` as a learner would type it: relative to the current folder when inside it,
    else relative to the repository (``exercises/chat_server.py`` from the notebooks folder)."""
    resolved = path.resolve()
    for base in (Path.cwd(), REPOSITORY):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(path)


def python_problem(path: Path) -> str | None:
    """A friendly paragraph when ``path`` is missing or is not valid Python; else ``None``."""
    if not path.is_file():
        return (
            f"There is no file {display_path(path)}. Check the name, or pass the file to"
            " check with --path."
        )
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        compile(source, str(path), "exec")
    except SyntaxError as error:
        where = f"line {error.lineno}" if error.lineno else "somewhere"
        shown = f"\n    {error.text.rstrip()}" if error.text else ""
        return (
            f"Python cannot read {display_path(path)}: {error.msg} ({where}).{shown}\n"
            f"Fix {where} (or the line just before it: a missing bracket or colon often shows"
            " up one line later), save the file, and run the check again."
        )
    return None


def python_command(path: Path) -> list[str]:
    """The command that runs the Python file ``path`` with this interpreter."""
    return [sys.executable, str(path)]


def startup_problem(
    program: RunningProgram, what: str, waited: float = STARTUP_LIMIT
) -> ProgramProblem:
    """Explain why ``program`` did not get ready, in one paragraph; ``what`` says what ready is."""
    name = display_path(program.path) if program.path else "The program"
    report = program.error_report()
    if report:
        return ProgramProblem(
            f"{name} stopped with an error before it was ready:\n    {report}\n"
            "Open the file at that line, fix the problem, save, and run the check again."
        )
    if program.exit_code is not None:
        return ProgramProblem(
            f"{name} ended (exit code {program.exit_code}) before it was ready. {what}"
        )
    return ProgramProblem(
        f"{name} was not ready within {waited:g} s. {what} Is it waiting for"
        " something (input(), a sleep, a loop) before it starts serving?"
    )
