"""``python -m chatlib grade FOLDER``: check a whole class's files, for the instructor.

FOLDER holds each learner's exercise files (``NAME.py`` for each exercise of the catalogue),
in a folder per learner or in the flat layout of a learning platform's download (see
:mod:`chatlib.course.tooling.submissions`); a missing file is simply "not handed in". Every file is
checked by a ``python -m chatlib check EXERCISE --path FILE --json`` process of its own,
several at once (as many as the machine has processors), each within a time limit.

Why a process per file: the checker already runs each learner program in a process of its
own, so a crash or a syntax error spoils one result only. The grader adds the rest. Each
checker runs in a process group of its own (the harness's ``RunningProgram``) that holds it
and the programs it starts, so when a file reaches its time limit the whole group is killed
(the whole process tree, on Windows): a hang costs the time limit and nothing more. The
checker keeps only the latest output of a program that prints without end, and runs every
program under its launcher, which puts a server that asks for the fixed port 8765 on a free
one, so such files cannot disturb the others either.
"""

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from chatlib.course.checks.catalogue import Exercise
from chatlib.course.checks.core import Requirement
from chatlib.course.checks.renderers import outcome_text
from chatlib.course.checks.results import CheckResult
from chatlib.course.harness import RunningProgram

TIME_LIMIT = 90.0  # seconds for checking one file, whatever it does


@dataclass(frozen=True)
class Submission:
    """One learner's file for one exercise (``None``, or a path that does not exist: not
    handed in)."""

    learner: str
    exercise: Exercise
    file: Path | None

    @property
    def handed_in(self) -> bool:
        """True when there is a file to check."""
        return self.file is not None and self.file.is_file()


# An exercise's status in the gradebook, from best to worst.
COMPLETE, INCOMPLETE, NOT_CHECKED = "complete", "incomplete", "not checked"
CRASHED, TIMED_OUT, NO_FILE = "crashed", "timed out", "no file"


@dataclass
class Grade:
    """What checking a submission found; ``result`` is ``None`` when there was no file."""

    submission: Submission
    result: CheckResult | None
    seconds: float = 0.0
    timed_out: bool = False  # The checks were stopped at the grader's time limit.

    @property
    def status(self) -> str:
        """The exercise's status in a word: complete, incomplete, no file, crashed, timed out,
        or "not checked: REASON" when no requirement could be checked on this system."""
        result = self.result
        if result is None:
            return NO_FILE
        if self.timed_out:
            return TIMED_OUT
        if result.problem is not None:
            return CRASHED  # It would not start, is not valid Python, or stopped the checker.
        if result.outcomes and not result.checked:
            return f"{NOT_CHECKED}: {result.not_checked[0].detail}"
        return COMPLETE if result.all_met else INCOMPLETE

    def describe(self) -> str:
        """The result in a few words, for the line printed as each file is graded."""
        result = self.result
        if result is None:
            return "no file"
        if result.problem is not None:
            problem = " ".join(result.problem.split())
            return f"cannot be checked: {problem[:160]}{'…' if len(problem) > 160 else ''}"
        points = f"{points_text(result.points)} of {self.submission.exercise.points} points"
        return f"{result.met} of {result.total} requirements met ({points})"


@dataclass(frozen=True)
class Scored:
    """One requirement's share of its exercise's points, as every grading platform gets it."""

    requirement: Requirement
    met: bool | None  # None: not checked on this system (worth nothing then).
    words: str  # The checker's words: the requirement's line, and what happened and the hint.
    share: float  # What it is worth; ``score`` is what it earned.

    @property
    def score(self) -> float:
        """The share, when met."""
        return self.share if self.met else 0.0


@dataclass(frozen=True)
class LatePolicy:
    """A due date and the share of the points lost per day late (``None``: no deadline)."""

    due: datetime | None = None
    percent_per_day: float = 0.0

    def days_late(self, submitted: datetime | None) -> int:
        """Whole days started after the due date (a minute late is a day late); 0 if on time."""
        if submitted is None or self.due is None or submitted <= self.due:
            return 0
        return -int(-(submitted - self.due).total_seconds() // 86_400)

    def share_lost(self, days: int) -> float:
        """The share of the points taken for ``days`` days late, at most all of them."""
        return min(1.0, days * self.percent_per_day / 100)


NO_DEADLINE = LatePolicy()  # The policy when the instructor gives no due date.


@dataclass
class Standing:
    """One learner's grades and totals, the late penalty applied."""

    learner: str
    grades: dict[str, Grade]  # By exercise name, every exercise of the course.
    submitted: datetime | None
    days_late: int
    points: float  # Before the late penalty.
    penalty: float  # The points the late penalty takes.

    @property
    def total(self) -> float:
        """The points that count."""
        return self.points - self.penalty


def scored_requirements(exercise: Exercise, result: CheckResult | None) -> list[Scored]:
    """Each requirement of ``exercise`` with its share of the points, as the gradebook counts.

    The requirements checked share the exercise's points (one not checked on this system is
    worth nothing); with no file, or a file that cannot be checked, every requirement is
    unmet and its words are the reason.
    """
    requirements = exercise.requirements.chosen(result.include_extras if result else False)
    shares = result.total if result is not None else len(requirements)
    share = exercise.points / shares if shares else 0.0
    if result is None or result.problem is not None:
        reason = (
            result.problem if result is not None else f"No file handed in: {exercise.file_name}."
        )
        return [Scored(requirement, False, reason, share) for requirement in requirements]
    return [
        Scored(
            outcome.requirement,
            outcome.met,
            outcome_text(outcome).strip(),
            share if outcome.met is not None else 0.0,
        )
        for outcome in result.outcomes
    ]


def points_text(points: float) -> str:
    """Points for a reader: 7.5, 3, 0."""
    return f"{round(points, 1):g}"


async def grade_submissions(
    submissions: list[Submission],
    time_limit: float = TIME_LIMIT,
    jobs: int | None = None,
    on_graded: Callable[[Grade], None] = lambda grade: None,
) -> list[Grade]:
    """Check every submission, ``jobs`` at a time; the grades in the order given.

    A notebook cell can ``await`` it; :func:`chatlib.course.tooling.gradebook.write_gradebook`
    turns the grades into the gradebook's files.
    """
    slots = asyncio.Semaphore(jobs or os.cpu_count() or 1)

    async def grade(submission: Submission) -> Grade:
        if not submission.handed_in:
            found = Grade(submission, None)
        else:
            async with slots:
                started = time.monotonic()
                result, timed_out = await check_in_own_process(submission, time_limit)
                found = Grade(submission, result, time.monotonic() - started, timed_out)
        on_graded(found)
        return found

    return list(await asyncio.gather(*(grade(item) for item in submissions)))


async def check_in_own_process(
    submission: Submission, time_limit: float
) -> tuple[CheckResult, bool]:
    """Run the checker on one file in a process group of its own, within ``time_limit``.

    The result, and whether the time limit stopped it. At the limit (or when grading itself
    is interrupted) the whole group is killed: the checker and the learner's programs.
    """
    exercise = submission.exercise
    command = [sys.executable, "-m", "chatlib", "check", exercise.name, "--json"]
    assert submission.file is not None, "only a file handed in is checked"
    command += ["--path", str(submission.file.resolve())]
    checker = await RunningProgram.start(command, keep_all_output=True, own_process_group=True)
    checker.end_input()  # It reads nothing: a program that waits for input gets none.
    try:
        exit_code = await checker.wait_for_exit(time_limit)
    finally:
        if checker.exit_code is None:  # Out of time, or the grading itself was interrupted.
            await checker.kill()
    if exit_code is None:
        stopped = CheckResult(
            exercise,
            problem=f"The checks did not finish within {time_limit:g} s and were stopped. Does"
            " the program block (time.sleep, input(), a loop that never awaits)?",
        )
        return stopped, True
    return read_result(exercise, checker.stdout.text(), checker.stderr.text(), exit_code), False


def read_result(exercise: Exercise, stdout: str, stderr: str, returncode: int) -> CheckResult:
    """The result the checker printed as JSON, or a problem saying why there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                return CheckResult.from_json(json.loads(line))
            break
    said = [line for line in stderr.splitlines() if line.strip()]
    return CheckResult(
        exercise,
        problem=f"The checker gave no result (exit status {returncode})"
        + (f": {said[-1][:300]}" if said else "."),
    )
