"""``python -m chatlib grade FOLDER``: check a whole class's files, for the instructor.

FOLDER holds one sub-folder per learner with any of the exercise files (``NAME.py`` for each
exercise of the catalogue); a missing file is simply "not handed in". Every file is
checked by a ``python -m chatlib check EXERCISE --path FILE --json`` process of its own,
several at once (as many as the machine has processors), each within a time limit.

Why a process per file: the checker already runs each learner program in a process of its
own, so a crash or a syntax error spoils one result only. The grader adds the rest. Each
checker starts a process group that holds it and the programs it starts, so when a file
reaches its time limit the whole group is killed (the whole process tree, on Windows): a
hang costs the time limit and nothing more. The checker keeps only the latest output of a
program that prints without end, and runs every program under its launcher, which puts a
server that asks for the fixed port 8765 on a free one, so such files cannot disturb the
others either.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatlib.checks.catalogue import EXERCISES, Exercise
from chatlib.checks.results import CheckResult
from chatlib.harness import on_windows

TIME_LIMIT = 90.0  # seconds for checking one file, whatever it does


@dataclass(frozen=True)
class Submission:
    """One learner's file for one exercise (the file may not exist: not handed in)."""

    learner: str
    exercise: Exercise
    file: Path


@dataclass
class Grade:
    """What checking a submission found; ``result`` is ``None`` when there was no file."""

    submission: Submission
    result: CheckResult | None
    seconds: float = 0.0

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


def points_text(points: float) -> str:
    """Points for a reader: 7.5, 3, 0."""
    return f"{round(points, 1):g}"


def find_submissions(folder: Path, skip: tuple[Path, ...] = ()) -> list[Submission]:
    """Every learner's (possible) file for every exercise, learners in alphabetical order.

    A learner is a sub-folder of ``folder``; hidden ones (``.git``), Python's
    (``__pycache__``) and those in ``skip`` (where the results go) are left out.
    """
    skipped = {path.resolve() for path in skip}
    learners = sorted(
        path
        for path in folder.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__")) and path.resolve() not in skipped
    )
    return [
        Submission(learner.name, exercise, learner / exercise.file_name)
        for learner in learners
        for exercise in EXERCISES.values()
    ]


async def grade_folder(
    folder: Path,
    time_limit: float = TIME_LIMIT,
    jobs: int | None = None,
    on_graded: Callable[[Grade], None] = lambda grade: None,
    skip: tuple[Path, ...] = (),
) -> list[Grade]:
    """Check every submission in ``folder``, ``jobs`` at a time; the grades in folder order.

    A notebook cell can ``await`` it; :func:`chatlib.tooling.gradebook.write_gradebook`
    turns the grades into the CSV and HTML files.
    """
    slots = asyncio.Semaphore(jobs or os.cpu_count() or 1)

    async def grade(submission: Submission) -> Grade:
        if not submission.file.is_file():
            found = Grade(submission, None)
        else:
            async with slots:
                started = time.monotonic()
                result = await check_in_own_process(submission, time_limit)
                found = Grade(submission, result, time.monotonic() - started)
        on_graded(found)
        return found

    return list(await asyncio.gather(*(grade(item) for item in find_submissions(folder, skip))))


async def check_in_own_process(submission: Submission, time_limit: float) -> CheckResult:
    """Run the checker on one file in a process group of its own, within ``time_limit``."""
    exercise = submission.exercise
    command = [sys.executable, "-m", "chatlib", "check", exercise.name, "--json"]
    command += ["--path", str(submission.file.resolve())]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        **own_process_group(),
    )
    try:
        async with asyncio.timeout(time_limit):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        return CheckResult(
            exercise,
            problem=f"The checks did not finish within {time_limit:g} s and were stopped. Does"
            " the program block (time.sleep, input(), a loop that never awaits)?",
        )
    finally:
        if process.returncode is None:  # Out of time, or the grading itself was interrupted.
            kill_process_group(process)
            await process.wait()
    return read_result(exercise, stdout, stderr, process.returncode)


def own_process_group() -> dict:
    """Options that start a process in a group of its own, so it can be killed as a whole."""
    if on_windows():
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def kill_process_group(process: asyncio.subprocess.Process) -> None:
    """Kill the running ``process`` and every process it started (they share its group)."""
    if on_windows():
        command = ["taskkill", "/F", "/T", "/PID", str(process.pid)]
        subprocess.run(command, capture_output=True, check=False)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def read_result(
    exercise: Exercise, stdout: bytes, stderr: bytes, returncode: int | None
) -> CheckResult:
    """The result the checker printed as JSON, or a problem saying why there is none."""
    for line in reversed(stdout.decode("utf-8", errors="replace").splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                return CheckResult.from_json(json.loads(line))
            break
    said = [line for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return CheckResult(
        exercise,
        problem=f"The checker gave no result (exit status {returncode})"
        + (f": {said[-1][:300]}" if said else "."),
    )
