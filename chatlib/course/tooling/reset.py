"""``python -m chatlib reset EXERCISE``: put the original starter back, keeping a backup.

The learner's version is never lost: it is copied beside the exercise first, as
``NAME.backup-YYYYMMDD-HHMMSS.py`` (git ignores such files). Replacing a file someone worked
on deserves a question, so the command asks first; ``--yes`` answers for scripts, and
without a terminal to ask in, it refuses rather than guess.
"""

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from chatlib.course.checks.catalogue import EXERCISES, Exercise
from chatlib.course.folders import display_path, learner_file
from chatlib.course.tooling.starters import is_untouched, starter_text


def backup_path(file: Path, moment: time.struct_time | None = None) -> Path:
    """Where the learner's version goes: ``NAME.backup-YYYYMMDD-HHMMSS.py``, never an old one."""
    stamp = time.strftime("%Y%m%d-%H%M%S", moment or time.localtime())
    candidate = file.with_name(f"{file.stem}.backup-{stamp}{file.suffix}")
    number = 2
    while candidate.exists():  # Two resets within one second.
        candidate = file.with_name(f"{file.stem}.backup-{stamp}-{number}{file.suffix}")
        number += 1
    return candidate


def reset_exercise(
    exercise_name: str,
    folder: str | Path | None = None,
    yes: bool = False,
    ask: Callable[[str], str] | None = None,
) -> int:
    """Restore the exercise's starter after asking; print what happened; the exit status.

    ``ask`` is how the question is put (``input`` when there is a terminal); without one
    and without ``yes``, nothing is replaced.
    """
    exercise = EXERCISES[exercise_name]
    file = learner_file(exercise.file_name, folder)
    shown = display_path(file)
    if not file.exists():
        restore(file, exercise)
        print(f"{shown} was missing: the original starter is back.")
        return 0
    if is_untouched(file, exercise):
        print(f"{shown} is already the original starter: nothing to do.")
        return 0
    backup = backup_path(file)
    if not yes:
        if ask is None and not sys.stdin.isatty():
            print(f"Not replacing {shown}: pass --yes to replace it without being asked.")
            return 1
        question = (
            f"Replace {shown} with the original starter? Your version is kept as"
            f" {display_path(backup)} [y/N] "
        )
        try:
            answer = (ask or input)(question)
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print(f"Nothing changed: {shown} is as you left it.")
            return 1
    shutil.copy2(file, backup)
    restore(file, exercise)
    print(f"{shown} is the original starter again; your version is in {display_path(backup)}.")
    return 0


def restore(file: Path, exercise: Exercise) -> None:
    """Write the original starter to ``file``."""
    file.parent.mkdir(parents=True, exist_ok=True)
    # newline="" writes the starter's own "\n" line endings on every system.
    with file.open("w", encoding="utf-8", newline="") as destination:
        destination.write(starter_text(exercise))
