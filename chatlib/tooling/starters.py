"""The learner's exercise files and the original starters they began as.

The learner edits ``exercises/NAME.py`` (see :func:`chatlib.checks.report.default_path`);
chatlib keeps each file's original in ``chatlib/starters/NAME.py`` (package data, see its
README), so the tools can tell an untouched starter from work in progress and can put the
original back.
"""

from importlib.resources import files
from pathlib import Path


def starter_text(exercise_name: str) -> str:
    """The original starter of the exercise, as the course ships it."""
    return files("chatlib").joinpath("starters", f"{exercise_name}.py").read_text("utf-8")


def is_untouched(file: Path, exercise_name: str) -> bool:
    """True when ``file`` still holds the original starter (line endings aside)."""
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return same_text(text, starter_text(exercise_name))


def same_text(first: str, second: str) -> bool:
    """Equal once Windows line endings are read as plain newlines (as git may check out)."""
    return first.replace("\r\n", "\n") == second.replace("\r\n", "\n")
