"""``python -m chatlib progress``: where the learner stands, one line per exercise.

An exercise is *not started* while its file equals the original starter, *in progress* with
k of n requirements met, and *done* once all are met. A file that has not changed since its
last check (by ``check``, ``check --watch`` or ``progress``) is not checked again: the result
comes from the progress memory, so the command is instant when nothing changed.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chatlib.commands import chatlib_command
from chatlib.course.checks.catalogue import EXERCISES, Exercise
from chatlib.course.checks.memory import recall
from chatlib.course.checks.pipeline import check, learner_program
from chatlib.course.checks.results import CheckResult
from chatlib.course.folders import display_path, exercises_folder, learner_file
from chatlib.course.tooling.starters import is_untouched

MISSING = "missing"
NOT_STARTED = "not started"
IN_PROGRESS = "in progress"
DONE = "done"


@dataclass
class ExerciseProgress:
    """How far the learner is with one exercise."""

    exercise: Exercise
    file: Path
    state: str  # MISSING, NOT_STARTED, IN_PROGRESS or DONE
    result: CheckResult | None = None  # For IN_PROGRESS and DONE.

    @property
    def done(self) -> bool:
        return self.state == DONE

    def describe(self) -> str:
        """The state in a few words, as the progress line shows it."""
        if self.result is None:
            return self.state
        if self.result.problem is not None:
            return f"{IN_PROGRESS}: cannot be checked yet (it does not start)"
        counted = f"{self.result.met} of {self.result.total} requirements met"
        unchecked = self.result.not_checked
        if unchecked:
            # Said, not hidden: "10 of 10" alone would claim a requirement nobody checked.
            reason = unchecked[0].detail
            counted += f"; {len(unchecked)} not checked here ({reason})"
        if self.done:
            return f"{DONE} ({counted})"
        return f"{IN_PROGRESS}: {counted}"


async def exercise_progress(
    exercise: Exercise,
    folder: str | Path | None = None,
    announce: Callable[[str], None] = print,
) -> ExerciseProgress:
    """Find how far the learner is with ``exercise``, checking the file only if it changed."""
    file = learner_file(exercise.file_name, folder)
    if not file.is_file():
        return ExerciseProgress(exercise, file, MISSING)
    if is_untouched(file, exercise):
        return ExerciseProgress(exercise, file, NOT_STARTED)
    result = recall(exercise, file)
    if result is None:
        announce(f"Checking {display_path(file)} (not checked as it is now)...")
        result = await check(exercise, learner_program(exercise, folder=folder))
    return ExerciseProgress(exercise, file, DONE if result.all_met else IN_PROGRESS, result)


async def find_progress(
    folder: str | Path | None = None, announce: Callable[[str], None] = print
) -> list[ExerciseProgress]:
    """The progress of every exercise, in the order of the course."""
    return [await exercise_progress(exercise, folder, announce) for exercise in EXERCISES.values()]


async def first_unfinished(
    folder: str | Path | None = None, announce: Callable[[str], None] = print
) -> str | None:
    """The name of the first exercise, in course order, that is not done; ``None`` if all are."""
    for exercise in EXERCISES.values():
        if not (await exercise_progress(exercise, folder, announce)).done:
            return exercise.name
    return None


def next_step(progress: list[ExerciseProgress], folder: str | Path | None = None) -> str:
    """What to do next, in one or two sentences."""
    folder_option = ["--folder", str(folder)] if folder is not None else []

    def command(*args: str) -> str:
        return chatlib_command(*args, *folder_option)

    current = next((item for item in progress if not item.done), None)
    if current is None:
        return f"Next: nothing left, every exercise is done. {progress[-1].exercise.next_step}"
    if current.exercise.optional and current.state in (MISSING, NOT_STARTED):
        # The assignment is done: say so first; its last step offers the optional exercise.
        last = [item for item in progress if not item.exercise.optional][-1]
        return f"Next: the assignment is done. {last.exercise.next_step}"
    name, shown = current.exercise.name, display_path(current.file)
    if current.state == MISSING:
        return (
            f"Next: {shown} is missing; `{command('reset', name)}` brings back"
            " the original starter."
        )
    watch = f"`{command('check', '--watch')}`"
    if current.state == NOT_STARTED:
        return f"Next: open {shown} and fill in its TODOs; {watch} checks it each time you save."
    if current.result.problem is not None:
        return (
            f"Next: make {shown} start; `{command('check', name)}` says what is wrong, and where."
        )
    to_go = current.result.total - current.result.met
    return (
        f"Next: carry on with {shown} ({to_go} requirement{'s' if to_go > 1 else ''} to go);"
        f" {watch} checks it each time you save."
    )


async def progress_report(folder: str | Path | None = None) -> None:
    """Print one line per exercise and what to do next.

    A notebook cell can ``await progress_report()``. Only files that changed since their
    last check are checked, so this takes seconds at most, and no time when nothing changed.
    (:func:`find_progress` returns the same information as data.)
    """
    progress = await find_progress(folder)
    where = display_path(exercises_folder(folder))
    print(f"Your progress in {where}/, in the order of the course:")
    width = max(len(name) for name in EXERCISES)
    for item in progress:
        print(f"  {item.exercise.name:<{width}}  {item.describe()}")
    print(next_step(progress, folder), flush=True)


def show_progress(folder: str | None = None) -> int:
    """``python -m chatlib progress``: print the report; the exit status is 0."""
    try:
        asyncio.run(progress_report(folder))
    except KeyboardInterrupt:
        print("\nInterrupted.")
        return 1
    return 0
