"""Explain, for the learner, what went wrong in their program: the file, the line, what to do.

The checker runs a learner's file as a program (:mod:`chatlib.harness`). When it cannot even
start, or when a requirement fails, what the program itself wrote to stderr often says why:
a traceback, or Python's warning that a coroutine was never awaited. These functions turn
that into one line that points into the learner's own file.
"""

import re
from pathlib import Path

from chatlib.checks.core import ProgramProblem
from chatlib.checks.files import display_path
from chatlib.harness import RunningProgram

TRACEBACK_START = "Traceback (most recent call last)"
TRACEBACK_FRAME = re.compile(
    r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?'
)
# Python prints this when a coroutine is called without ``await``: the call did nothing.
NEVER_AWAITED = re.compile(
    r"^(?P<file>.+?):(?P<line>\d+): RuntimeWarning: (?P<warning>coroutine .+ was never awaited)"
)
# What a program prints when the checker stops it with Ctrl-C: not the learner's error.
STOPPED_BY_US = ("KeyboardInterrupt", "asyncio.exceptions.CancelledError")


def error_report(program: RunningProgram) -> str | None:
    """What the program reported on stderr, in one line per problem; ``None`` if nothing."""
    stderr, path = program.stderr.text(), program.path
    found = [
        explain_traceback(stderr, path, skip_interrupts=program.interrupted),
        explain_never_awaited(stderr, path),
    ]
    found = [report for report in found if report]
    return "\n".join(found) if found else None


def explain_traceback(stderr: str, path: Path | None, skip_interrupts: bool = False) -> str | None:
    """Summarise the last traceback in ``stderr`` as "file, line N: ExceptionType: message".

    The line shown is the last one in the learner's own file when the traceback passes
    through it: that is where the learner can act. ``skip_interrupts`` leaves out what the
    Ctrl-C that stopped the program left behind (``KeyboardInterrupt``): not the learner's error.
    """
    tracebacks = [part.splitlines() for part in stderr.split(TRACEBACK_START)[1:]]
    if skip_interrupts:
        tracebacks = [
            lines for lines in tracebacks if not error_line(lines).startswith(STOPPED_BY_US)
        ]
    if not tracebacks:
        return None
    last_traceback = tracebacks[-1]
    frames = [match for line in last_traceback if (match := TRACEBACK_FRAME.match(line))]
    return at_line(error_line(last_traceback), frames, path)


def error_line(traceback: list[str]) -> str:
    """The traceback's last unindented line: "ValueError: bad value"."""
    error_lines = [line for line in traceback if line and not line[0].isspace()]
    return error_lines[-1] if error_lines else "an exception"


def explain_never_awaited(stderr: str, path: Path | None) -> str | None:
    """The first "coroutine ... was never awaited" warning, as "file, line N: RuntimeWarning"."""
    warnings = [match for line in stderr.splitlines() if (match := NEVER_AWAITED.match(line))]
    if not warnings:
        return None
    warning = f"RuntimeWarning: {warnings[0]['warning']} (an `await` is missing)"
    return at_line(warning, warnings[:1], path)


def at_line(error: str, places: list[re.Match], path: Path | None) -> str:
    """``error`` preceded by the last of ``places`` in the learner's file (else the last one)."""
    in_learner_file = [place for place in places if path and same_file(place["file"], path)]
    place = (in_learner_file or places or [None])[-1]
    if place is None:
        return error
    return f"{display_path(Path(place['file']))}, line {place['line']}: {error}"


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
        return ProgramProblem(
            f"{name} stopped with an error before it was ready:\n    {report}\n"
            "Open the file at that line, fix the problem, save, and run the check again."
        )
    return ProgramProblem(
        f"{name} ended (exit code {program.exit_code}) before it was ready. {what}"
    )
