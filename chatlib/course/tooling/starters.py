"""The original starters the learner's exercise files began as.

The learner edits ``exercises/NAME.py`` (:func:`chatlib.course.folders.learner_file`); chatlib
keeps each file's original in ``chatlib/course/starters/NAME.py`` (package data, see its README),
so the tools can tell an untouched starter from work in progress and can put the original
back.
"""

from importlib.resources import files
from pathlib import Path

from chatlib.course.checks.catalogue import Exercise


def starter_text(exercise: Exercise) -> str:
    """The original starter of the exercise, as the course ships it."""
    return files("chatlib.course").joinpath("starters", exercise.file_name).read_text("utf-8")


def is_untouched(file: Path, exercise: Exercise) -> bool:
    """True when ``file`` still holds the original starter (line endings aside)."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return same_text(text, starter_text(exercise))


def same_text(first: str, second: str) -> bool:
    """Equal once Windows line endings are read as plain newlines (as git may check out)."""
    return first.replace("\r\n", "\n") == second.replace("\r\n", "\n")
