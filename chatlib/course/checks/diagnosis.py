"""Explain, for the learner, what went wrong in their program: the file, the line, what to do.

The checker runs a learner's file as a program (:mod:`chatlib.course.harness`). When it cannot even
start, or when a requirement fails, what the program itself wrote to stderr often says why:
a traceback, or Python's warning that a coroutine was never awaited. These functions turn
that into one line that points into the learner's own file.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from chatlib.course.checks.core import ProgramProblem
from chatlib.course.folders import display_path
from chatlib.course.harness import RunningProgram

TRACEBACK_START = "Traceback (most recent call last)"
TRACEBACK_FRAME = re.compile(
    r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?'
)
# Python prints this when a coroutine is called without ``await``: the call did nothing.
NEVER_AWAITED = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): RuntimeWarning: (?P<warning>coroutine .+ was never awaited)"
)
# What a program prints when the checker stops it with Ctrl-C: not the learner's error.
STOPPED_BY_US = ("KeyboardInterrupt", "asyncio.exceptions.CancelledError", "CancelledError")
# Python prints this when a program imports websockets' legacy (pre-13) implementation.
LEGACY_WARNING = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): DeprecationWarning: (?P<name>websockets\.\S+) is deprecated"
)
# websockets' upgrade guide: "The new implementation is found in the websockets.asyncio
# package. The original implementation was moved to the websockets.legacy package."
LEGACY_FIX = (
    "It is websockets' original implementation, deprecated and to be removed by 2030: the"
    " new one is found in the websockets.asyncio package. Import serve (and broadcast) from"
    " websockets.asyncio.server and connect from websockets.asyncio.client."
)
# Known causes that fail every check alike: the check stops at the first, with its fix.
FATAL_CAUSES = (
    r"missing 1 required positional argument: 'path'",
    r"'websockets' is not a package|module 'websockets' has no attribute",
    r"No module named '",
)
# Errors whose cause is known, found from the exception line (with where it happened), and
# the fix, in the words of websockets' upgrade guide where it has them. The first match wins.
KNOWN_CAUSES = [
    (
        r"missing 1 required positional argument: 'path'",
        "Your handler takes two arguments, (websocket, path): the path argument of connection"
        " handlers was deprecated in websockets 13.0, and the new implementation calls a"
        " handler with one, the connection. Write `async def handler(websocket):`; if you"
        " need the path, read `websocket.request.path`.",
    ),
    (
        r"RuntimeError: no running event loop|There is no current event loop",
        "serve() (or connect()) was called outside a running event loop: at module level, then"
        " run with get_event_loop().run_until_complete() and run_forever(), as tutorials for"
        " older websockets do. Start it inside a coroutine, `async def main(): async with"
        " serve(handler, host, port): await asyncio.Future()`, and run that with"
        " `asyncio.run(main())`.",
    ),
    (
        r"object NoneType can't be used in 'await' expression",
        "If that line awaits broadcast(): broadcast() is a plain function (it returns None),"
        " so call it without `await`.",
    ),
    (
        r"Passing coroutines is forbidden, use tasks explicitly",
        "asyncio.wait() takes tasks, not coroutines, since Python 3.11: wrap each one with"
        " asyncio.create_task(...) first (or use asyncio.gather()).",
    ),
    (
        r"object has no attribute '(?P<name>open|closed)'",
        "websocket.{name} is gone from websockets' new implementation: compare"
        " `websocket.state` with `State.OPEN` or `State.CLOSED` (from websockets.protocol"
        " import State), or let `async for message in websocket` end when the connection closes.",
    ),
    (
        r"object has no attribute 'path'",
        "websocket.path is gone from websockets' new implementation: read"
        " `websocket.request.path`.",
    ),
    (
        r"'websockets' is not a package|module 'websockets' has no attribute"
        r"|from 'websockets' \((?P<file>[^)]*)\)|partially initialized module 'websockets'",
        "A file named websockets.py (or a folder named websockets) next to your program hides"
        " the library: `import websockets` finds it first. Rename it, and delete the"
        " __pycache__ folder beside it.",
    ),
    (
        r"No module named '(?P<module>(?!websockets)[^'.]+)",
        "The module {module} is not installed for the Python that runs your program. The"
        " exercises need only websockets and the standard library: remove the import, or"
        " install {module} into this environment (python -m pip install {module}).",
    ),
    (
        r"EOFError: EOF when reading a line",
        "input() met the end of input (Ctrl-D): catch EOFError and leave the chat cleanly.",
    ),
]


def error_report(program: RunningProgram) -> str | None:
    """What the program reported on stderr, in one line per problem; ``None`` if nothing.

    Each problem is followed, when its cause is a known one, by that cause and its fix.
    """
    stderr, path = program.stderr.text(), program.path
    found = [
        explain_traceback(stderr, path, skip_interrupts=program.interrupted),
        explain_never_awaited(stderr, path),
        explain_legacy_import(stderr, path),
    ]
    found = [report for report in found if report]
    return "\n".join(found) if found else None


# Python's lines between two tracebacks of one chain: never the error itself.
CHAIN_SEPARATORS = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)
# What a program prints as it shuts down, whoever is at fault: never the learner's error.
SHUTDOWN_NOISE = ("RuntimeError: Event loop is closed",)


@dataclass(frozen=True)
class PrintedTraceback:
    """One traceback as Python printed it: its frames and its exception line."""

    frames: list[re.Match]
    error: str


def printed_tracebacks(stderr: str) -> list[PrintedTraceback]:
    """Every traceback in ``stderr``, in order (each exception of a chain is one of them)."""
    return [
        PrintedTraceback(frames_of(lines), exception_line(lines))
        for lines in (part.splitlines() for part in stderr.split(TRACEBACK_START)[1:])
    ]


def frames_of(lines: list[str]) -> list[re.Match]:
    """The ``File "...", line N, in f`` lines of one traceback."""
    return [match for line in lines if (match := TRACEBACK_FRAME.match(line))]


def exception_line(lines: list[str]) -> str:
    """The exception of one traceback: "ValueError: bad value".

    It is the first unindented line after the last frame (the frames' code lines are
    indented); what follows it (a log line, Python's "During handling of the above
    exception..." between two tracebacks of a chain) is not part of it.
    """
    last_frame = max((i for i, line in enumerate(lines) if TRACEBACK_FRAME.match(line)), default=0)
    after = [line for line in lines[last_frame + 1 :] if line and not line[0].isspace()]
    after = [line for line in after if not line.startswith(CHAIN_SEPARATORS)]
    return after[0] if after else "an exception"


def explain_traceback(stderr: str, path: Path | None, skip_interrupts: bool = False) -> str | None:
    """Summarise the traceback that matters in ``stderr`` as "file, line N: Type: message".

    The one that matters is the last one whose cause is known, else the last one, once what
    is nobody's error is left out: what the Ctrl-C that stopped the program left behind
    (``KeyboardInterrupt``, a cancelled task) when ``skip_interrupts``, and the noise of a
    shutdown. The line shown is the last one in
    the learner's own file that the exception passed through: that is where the learner can
    act. A known cause is followed by its fix (:data:`KNOWN_CAUSES`).
    """
    tracebacks = [
        traceback
        for traceback in printed_tracebacks(stderr)
        if not traceback.error.startswith(SHUTDOWN_NOISE)
        and not (skip_interrupts and stopped_by_us(traceback.error))
    ]
    if not tracebacks:
        return None
    reports = [with_cause(at_line(t.error, t.frames, path)) for t in tracebacks]
    # A known cause is what matters most: in a chain, the error that failed the handler
    # comes first, and what its `finally` then met (a closed connection) only after it.
    known = [report for report in reports if "\n" in report]
    return (known or reports)[-1]


def fatal_problem(program: RunningProgram, role: str) -> ProgramProblem | None:
    """A mistake that fails every check the same way (a handler websockets cannot call, a
    library hidden by a file), as the problem that ends the check; else ``None``.

    Reporting it once, with its fix, beats a dozen failed requirements whose hints are about
    something else.
    """
    report = explain_traceback(program.stderr.text(), program.path, program.interrupted)
    if not report or not any(re.search(pattern, report) for pattern in FATAL_CAUSES):
        return None
    name = display_path(program.path) if program.path else f"The {role}"
    report = report.replace("\n", "\n    ")
    return ProgramProblem(
        f"{name} failed on the first connection, and would fail on every one:\n    {report}\n"
        "Fix it, save, and run the check again."
    )


def stopped_by_us(error: str) -> bool:
    """True for what the checker's Ctrl-C left behind: the interrupt, a cancelled task, a
    connection the shutting-down server closed (1001, going away) under a handler, or one the
    interrupted program closed itself on its way out (it sent 1011)."""
    return error.startswith(STOPPED_BY_US) or any(
        words in error for words in ("1001 (going away)", "sent 1011 (internal error)")
    )


def explain_never_awaited(stderr: str, path: Path | None) -> str | None:
    """The first "coroutine ... was never awaited" warning, as "file, line N: RuntimeWarning"."""
    warnings = [match for line in stderr.splitlines() if (match := NEVER_AWAITED.match(line))]
    if not warnings:
        return None
    warning = f"RuntimeWarning: {warnings[0]['warning']} (an `await` is missing)"
    return at_line(warning, warnings[:1], path)


def explain_legacy_import(stderr: str, path: Path | None) -> str | None:
    """Python's warning that the program uses websockets' legacy implementation, with the fix."""
    warnings = [match for line in stderr.splitlines() if (match := LEGACY_WARNING.match(line))]
    if not warnings:
        return None
    return at_line(f"{warnings[0]['name']} is deprecated. {LEGACY_FIX}", warnings[:1], path)


def at_line(error: str, places: list[re.Match], path: Path | None) -> str:
    """``error`` preceded by the last of ``places`` in the learner's file.

    An error that never passed through the learner's file (the library called a handler
    with the wrong arguments) is shown without a place: a library's file is nowhere the
    learner should edit.
    """
    in_learner_file = [place for place in places if path and same_file(place["file"], path)]
    if path is not None and not in_learner_file:
        return error
    place = (in_learner_file or places or [None])[-1]
    if place is None:
        return error
    return f"{display_path(Path(place['file']))}, line {place['line']}: {error}"


def with_cause(report: str) -> str:
    """``report`` followed by the cause and fix of its error, when it is a known one."""
    for pattern, fix in KNOWN_CAUSES:
        if match := re.search(pattern, report):
            return f"{report}\n{fix.format(**match.groupdict())}"
    return report


def same_file(name: str, path: Path) -> bool:
    """True when the file named in a traceback is ``path``."""
    try:
        return Path(name).resolve() == path.resolve()
    except OSError:
        return False


def diagnosis(program: RunningProgram, role: str) -> str:
    """What the program itself reported (an exception, an early exit), for a failure message.

    ``role`` names the program for the learner: "server" or "client". Read it once the
    program is stopped: only then is everything it wrote to stderr read.
    """
    report = error_report(program)
    if report:
        return f"Your {role} reported an error: {report}"
    if program.exit_code is None or program.interrupted:
        return ""
    last_words = next((line for line in program.stderr.lines if line.strip()), "")
    said = f", saying: {last_words}" if last_words else ""
    return f"Your {role} ended (exit code {program.exit_code}){said}."


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


def startup_problem(
    program: RunningProgram, what: str, waited: float | None = None
) -> ProgramProblem:
    """Explain why ``program`` did not get ready, in one paragraph; ``what`` says what ready is.

    ``waited`` is how long it was given when it was stopped for taking too long; ``None``
    when it ended by itself.
    """
    name = display_path(program.path) if program.path else "The program"
    if waited is not None:
        return ProgramProblem(
            f"{name} was not ready within {waited:g} s. {what} Is it waiting for"
            " something (input(), a sleep, a loop) before it starts serving?"
        )
    report = error_report(program)
    if report:
        report = report.replace("\n", "\n    ")
        return ProgramProblem(
            f"{name} stopped with an error before it was ready:\n    {report}\n"
            "Fix the problem at that line, save, and run the check again."
        )
    return ProgramProblem(
        f"{name} ended (exit code {program.exit_code}) before it was ready. {what}"
    )
