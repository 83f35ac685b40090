"""Run a program as a subprocess, collect what it prints as it prints it, and stop it.

A program in a process of its own cannot harm whoever runs it: a syntax error, a crash or an
endless loop is something to report, never something inherited. :class:`RunningProgram` is
the course's one way to start a program: the checker runs learners' files with it, the
notebook helpers run servers, clients and Redis from a cell, the grader runs one checker per
file, and the tests run ``python -m chatlib`` exactly as a learner types it.
"""

import asyncio
import atexit
import codecs
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import psutil

from chatlib.course.harness import launcher
from chatlib.course.harness.waiting import Changes

# How long a program may take to start, and to exit once asked to.
STARTUP_LIMIT = 10.0
EXIT_LIMIT = 5.0

# What a server prints once it listens: every server of the course prints its ws:// URL, or
# its wss:// URL when it speaks TLS (chat-server --certfile).
LISTENING_LINE = r"wss?://[^\s]+:\d+"
# The program that runs a learner's file at the checker's addresses (run by path).
LAUNCHER = Path(launcher.__file__)
# What the launcher reports once a server listens: the host and port asked, the real port,
# and the id of the process that serves.
SERVING_REPORT = r"^serving (?P<host>\S+) (?P<port>\S+) (?P<real_port>\d+) (?P<pid>\d+)$"

# How much of a program's output is kept by default: the latest lines only. Whoever reads it
# looks at what the program printed recently (after it started, after a message arrived), and
# a program that prints in an endless loop must not fill the reader's memory.
KEPT_LINES = 1_000
KEPT_CHARACTERS = 256 * 1024
# A "line" that never ends is cut into pieces of this length, for the same reason (unless
# every line is kept: the grader reads the checker's result, one long JSON line).
LONGEST_LINE = 16 * 1024


def on_windows() -> bool:
    """True on Windows, where a program cannot be sent Ctrl-C from another process."""
    return sys.platform == "win32"


def ctrl_c_as_in_a_terminal() -> None:
    """In the new program, before it starts: let Ctrl-C (SIGINT) interrupt it, as in a terminal.

    A program started in the background by a shell script (``cmd &``), by ``nohup`` or by
    some CI runners inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt
    handler: the checks that press Ctrl-C would find every program deaf to it. Only
    ``signal.signal`` runs here, between fork and exec, which is safe.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# Linux's prctl(PR_SET_PDEATHSIG): the kernel sends the child this signal when its parent dies.
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def in_a_group_of_its_own_ending_with_its_parent() -> None:
    """In the new program, before it starts: as :func:`ctrl_c_as_in_a_terminal`, and, on
    Linux, ask to be ended when the program that started it dies.

    A program in a process group of its own is out of reach of a signal to its parent's group
    (what it is for), so it would outlive a parent that is killed outright (a kernel killed
    without a chance to clean up). On macOS and Windows only an orderly exit ends it (atexit).
    """
    ctrl_c_as_in_a_terminal()
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def options_for_a_group_of_its_own() -> dict:
    """What :func:`asyncio.create_subprocess_exec` needs to start a program in a group of its
    own, per system.

    Linux and macOS: a new session (and so a new process group, whose id is the program's
    pid), and the set-up of :func:`in_a_group_of_its_own_ending_with_its_parent`. Windows: a
    new process group, so that a console Ctrl-C of ours does not reach it either.
    """
    if on_windows():
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {
        "start_new_session": True,
        "preexec_fn": in_a_group_of_its_own_ending_with_its_parent,
    }


def kill_group_now(process: asyncio.subprocess.Process) -> None:
    """Kill the running ``process`` and every process it started, at once.

    On Linux and macOS they share its process group (see
    :func:`options_for_a_group_of_its_own`), which one signal ends; Windows has no such
    signal, and ``taskkill /T`` ends the tree of processes it started instead. Synchronous,
    so that it works at exit, when the event loop may be gone.
    """
    if on_windows():
        command = ["taskkill", "/F", "/T", "/PID", str(process.pid)]
        subprocess.run(command, capture_output=True, check=False)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


# The programs started in a group of their own that may still run: nothing else ends them
# when this process exits (no signal to our group reaches them), so its exit does.
_ending_with_this_process: set["RunningProgram"] = set()


@atexit.register
def _end_programs_in_groups_of_their_own() -> None:
    for program in list(_ending_with_this_process):
        if program.exit_code is None:
            kill_group_now(program.process)


class RecentLines(Sequence[str]):
    """The lines a program wrote, numbered from its first, of which only the latest are kept.

    Indexes and ``len()`` count every line ever written, so a reader that noted where the
    output stood can ask for what came after it even once older lines have been dropped.
    Dropped lines are simply absent from slices and iteration. ``bounded=False`` keeps every
    line: for the tests, which read a server's whole log.
    """

    def __init__(self, bounded: bool = True) -> None:
        self.bounded = bounded
        self._kept: deque[str] = deque()
        self._kept_characters = 0
        self.dropped = 0  # How many of the oldest lines were let go.

    def append(self, line: str) -> None:
        """Add one line, dropping the oldest ones beyond the limits."""
        self._kept.append(line)
        self._kept_characters += len(line)
        while self.bounded and (
            len(self._kept) > KEPT_LINES
            or (self._kept_characters > KEPT_CHARACTERS and len(self._kept) > 1)
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
    """The lines a program writes to one stream, kept as they arrive so a reader can wait."""

    def __init__(self, bounded: bool = True) -> None:
        self.lines = RecentLines(bounded)
        self.ended = False  # True once the stream is closed: no line will come any more.
        self.changes = Changes()

    async def collect(self, stream: asyncio.StreamReader) -> None:
        """Read ``stream`` until it ends, recording each line (runs as a background task)."""
        # Read chunks rather than lines: a prompt such as "Your name: " has no newline yet.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while chunk := await stream.read(4096):
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            while self.lines.bounded and len(pending) > LONGEST_LINE:
                complete.append(pending[:LONGEST_LINE])
                pending = pending[LONGEST_LINE:]
            for line in complete:
                self.lines.append(line.rstrip("\r"))
            self.changes.notify()
        pending += decoder.decode(b"", final=True)
        if pending:
            self.lines.append(pending)
        self.ended = True
        self.changes.notify()

    def text(self) -> str:
        """Everything written so far (the latest part of it, for a very talkative program)."""
        return "\n".join(self.lines)

    async def wait_for(self, pattern: str, timeout: float, start: int = 0) -> re.Match | None:
        """Wait until a line (from index ``start`` on) matches ``pattern``; the match.

        ``None`` when none does within ``timeout``, or when the stream ends (the program
        exited) without one. ``match.string`` is the whole line.
        """
        compiled = re.compile(pattern)
        searched = start

        def matching_line() -> re.Match | None:
            nonlocal searched
            lines = self.lines[searched:]
            # Lines up to here are searched: the next look is only at newer ones.
            searched = max(searched, len(self.lines))
            return next(filter(None, map(compiled.search, lines)), None)

        return await self.changes.wait_until(matching_line, timeout, over=lambda: self.ended)


class RunningProgram:
    """A program running as a subprocess, with its output collected as it arrives."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        command: list[str],
        path: Path | None = None,
        bounded_output: bool = True,
        own_process_group: bool = False,
    ) -> None:
        self.process = process
        self.command = command
        # In a group of its own: killed as a whole, and ended when this process exits.
        self.own_process_group = own_process_group
        if own_process_group:
            _ending_with_this_process.add(self)
        self.path = path  # The Python file it runs, when there is one: its errors point there.
        # The process that runs the program: the one started, unless the launcher reports
        # another (on Windows, a venv's python.exe runs the real interpreter as a child).
        self.pid = process.pid
        self.url: str | None = None  # Where it listens, once start_server_program has seen it.
        # The (host, port) it asked to listen on, once start_launched_server has seen it.
        self.asked: tuple[str, str] | None = None
        # True once it was sent Ctrl-C or stopped: from then on, its end is no news of its own.
        self.interrupted = False
        self.stdout = Output(bounded_output)
        self.stderr = Output(bounded_output)
        # What the launcher reports (where it serves, where it connects), when launched by it.
        self.reports = Output()
        self._report_server: asyncio.Server | None = None
        self._collectors = [
            asyncio.create_task(self.stdout.collect(process.stdout)),
            asyncio.create_task(self.stderr.collect(process.stderr)),
        ]

    @classmethod
    async def start(
        cls,
        command: list[str],
        path: Path | None = None,
        cwd: Path | None = None,
        keep_all_output: bool = False,
        environment: dict[str, str] | None = None,
        own_process_group: bool = False,
    ) -> "RunningProgram":
        """Start ``command`` (in folder ``cwd``) with pipes for stdin, stdout and stderr.

        ``path`` is the Python file it runs, if any. Only the latest output is kept unless
        ``keep_all_output`` (a test that reads a server's whole log, the grader that reads
        the checker's result). ``environment`` adds variables to this process's own.

        ``own_process_group`` starts it in a process group of its own (see
        :func:`options_for_a_group_of_its_own`), for a program that must outlive a signal to
        ours (Jupyter's interrupt button sends SIGINT to the kernel's whole group) or be
        ended with everything it started (the grader's checker and the learner's programs
        it runs). Such a program is then ours to end: :meth:`kill` kills its whole group,
        and it ends when this process does, at an orderly exit or, on Linux, when this
        process is killed outright. Its own Ctrl-C (:meth:`press_ctrl_c`) still reaches it.
        """
        environment = dict(
            os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", **(environment or {})
        )
        if own_process_group:
            options = options_for_a_group_of_its_own()
        else:
            options = {} if on_windows() else {"preexec_fn": ctrl_c_as_in_a_terminal}
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            cwd=cwd,
            **options,
        )
        return cls(process, command, path, not keep_all_output, own_process_group)

    @property
    def exit_code(self) -> int | None:
        """The exit status once the program has ended, else ``None``."""
        return self.process.returncode

    @property
    def port(self) -> int | None:
        """The port it listens on, once known."""
        return int(self.url.rsplit(":", 1)[1]) if self.url else None

    def memory_in_use(self) -> int | None:
        """The resident memory of the process that runs the program (:attr:`pid`), in bytes;
        ``None`` once it has ended, or where the system refuses to say.

        psutil asks each system the same question: Linux's ``/proc/PID/statm`` (the figure of
        ``VmRSS`` in ``/proc/PID/status``), macOS' task info, Windows' working set. The
        program under test cannot tell it is being measured.
        """
        try:
            return psutil.Process(self.pid).memory_info().rss
        except psutil.Error:
            return None

    @staticmethod
    def can_be_paused() -> bool:
        """True where a program can be frozen and let go on (SIGSTOP: Linux, macOS)."""
        return hasattr(signal, "SIGSTOP")

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the program for the ``with`` block (SIGSTOP), then let it go on (SIGCONT).

        What reaches it meanwhile (connections closing, messages) waits in the kernel, so the
        program notices it all at once when it goes on, as a server that was busy does. Where
        a program cannot be paused (Windows) it just runs on.
        """
        can_pause = self.can_be_paused() and self.exit_code is None
        if can_pause:
            self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            if can_pause:
                with contextlib.suppress(ProcessLookupError):
                    self.process.send_signal(signal.SIGCONT)

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
        self.interrupted = True
        self.process.send_signal(signal.SIGINT)

    async def wait_for_exit(self, timeout: float = EXIT_LIMIT) -> int | None:
        """Wait until the program ends and its output is read; its exit code or ``None``."""
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            return None
        _ending_with_this_process.discard(self)
        await asyncio.wait(self._collectors, timeout=1.0)
        return self.process.returncode

    async def stop(self) -> None:
        """End the program: politely (end of input, Ctrl-C) first, then by force; its output
        is all read.

        The end of input comes first: a thread blocked in ``input()`` (``asyncio.to_thread``)
        would otherwise keep the program alive after Ctrl-C until it is killed.
        """
        if self.exit_code is None:
            with contextlib.suppress(OSError, RuntimeError):
                self.end_input()
            with contextlib.suppress(ProcessLookupError):
                if on_windows():
                    self.interrupted = True
                    self.process.terminate()
                else:
                    self.press_ctrl_c()
            if await self.wait_for_exit(3.0) is None:
                await self.kill()
        self._stop_collecting()

    async def kill(self) -> None:
        """End the program at once, without a chance to clean up, and read what is left.

        A program in a group of its own is killed with the whole group: whatever it started
        goes with it.
        """
        self.interrupted = self.interrupted or self.exit_code is None
        if self.own_process_group and self.exit_code is None:
            kill_group_now(self.process)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.wait_for_exit(3.0)
        self._stop_collecting()

    def _stop_collecting(self) -> None:
        _ending_with_this_process.discard(self)
        for collector in self._collectors:
            collector.cancel()
        if self._report_server is not None:
            self._report_server.close()

    @classmethod
    async def launch(
        cls,
        command: list[str],
        path: Path | None = None,
        connect_to: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> "RunningProgram":
        """Start the Python ``command`` under :mod:`chatlib.course.harness.launcher`.

        ``command`` is ``[python, FILE, ARGS...]`` or ``[python, "-m", MODULE, ARGS...]``, as
        it would be typed. Whatever address its servers ask for, they listen on 127.0.0.1,
        any free port; its clients connect to ``connect_to`` (when given) whatever URL they
        ask for. :attr:`reports` receives one line for each: ``serving HOST PORT REAL_PORT PID``
        and ``connecting URL``. ``environment`` adds variables to this process's own.
        """
        reports = Output()

        async def collect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reports.collect(reader)
            writer.close()

        report_server = await asyncio.start_server(collect, "127.0.0.1", 0)
        report_port = report_server.sockets[0].getsockname()[1]
        environment = {**(environment or {}), launcher.REPORT_TO: f"127.0.0.1:{report_port}"}
        if connect_to:
            environment[launcher.CONNECT_TO] = connect_to
        launched = [command[0], str(LAUNCHER), *command[1:]]
        try:
            program = await cls.start(launched, path, environment=environment)
        except BaseException:
            report_server.close()
            raise
        program.command = command
        program.reports, program._report_server = reports, report_server
        return program

    def asked_urls(self) -> list[str]:
        """The URLs the program's clients asked to connect to, in order (when launched)."""
        return [
            line.split(" ", 1)[1] for line in self.reports.lines if line.startswith("connecting ")
        ]


class ProgramNotReady(RuntimeError):
    """A server did not print its ws:// URL: it ended first, or it took too long.

    ``program`` has stopped and all it printed is read; ``ended`` is True when it ended by
    itself (a crash: its stderr says why) rather than being stopped after ``waited`` seconds.
    """

    def __init__(self, program: RunningProgram, name: str, waited: float, ended: bool) -> None:
        self.program = program
        self.waited = waited
        self.ended = ended
        if ended:
            said = "\n".join(program.stderr.lines[-20:])
            problem = f"ended (exit code {program.exit_code}) before printing its ws:// URL"
            super().__init__(f"{name} {problem}{':' if said else '.'}\n{said}".rstrip())
        else:
            said = program.stdout.text()[-2000:]
            problem = f"printed no ws:// URL within {waited:g} s"
            super().__init__(f"{name} {problem}; it printed: {said!r}")


async def start_server_program(
    command: list[str],
    path: Path | None = None,
    cwd: Path | None = None,
    within: float = STARTUP_LIMIT,
    name: str | None = None,
    keep_all_output: bool = False,
    own_process_group: bool = False,
) -> RunningProgram:
    """Start the server ``command`` and wait until it prints the ``ws://host:port`` it listens on.

    Returns the running program, its ``url`` set. Raises :class:`ProgramNotReady` (naming it
    ``name``, by default its command line) when it ends first or prints no URL ``within``
    seconds; the program is stopped by then, and the error carries what it printed.
    ``own_process_group`` is as for :meth:`RunningProgram.start`.
    """
    program = await RunningProgram.start(
        command, path, cwd, keep_all_output, own_process_group=own_process_group
    )
    found = await program.stdout.wait_for(LISTENING_LINE, within)
    if found is None:
        ended = await program.wait_for_exit(0.5) is not None  # A crash finishes its traceback.
        await program.kill()  # Not Ctrl-C: a traceback of ours would hide the program's own.
        raise ProgramNotReady(program, name or " ".join(command), within, ended)
    program.url = found.group(0)
    return program


async def start_launched_server(
    command: list[str],
    path: Path | None = None,
    within: float = STARTUP_LIMIT,
    environment: dict[str, str] | None = None,
) -> RunningProgram:
    """Launch the server ``command`` (see :meth:`RunningProgram.launch`, ``environment``
    added to its variables); wait until it serves.

    Returns the running program, its ``url`` set to where it really listens and ``asked``
    to the ``(host, port)`` it asked for (``"-"`` for what it left out). Raises
    :class:`ProgramNotReady` when it ends first or serves nothing ``within`` seconds; the
    program is stopped by then, and the error carries what it printed.
    """
    program = await RunningProgram.launch(command, path, environment=environment)
    found = await program.reports.wait_for(SERVING_REPORT, within)
    if found is None:
        ended = await program.wait_for_exit(0.5) is not None  # A crash finishes its traceback.
        await program.kill()  # Not Ctrl-C: a traceback of ours would hide the program's own.
        raise ProgramNotReady(program, " ".join(command), within, ended)
    program.url = f"ws://127.0.0.1:{found['real_port']}"
    program.pid = int(found["pid"])
    program.asked = (found["host"], found["port"])
    return program
