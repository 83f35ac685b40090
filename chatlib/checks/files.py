"""Where a learner's files are, and how to name a file so the learner recognises it.

The learner works in an exercises folder: ``exercises/`` in the current folder when there is
one (a terminal in the repository), else the repository's own (a notebook in
``notebooks/``), or the folder given with ``--folder``. Each exercise's file there is named
after it (:attr:`chatlib.checks.catalogue.Exercise.file_name`).
"""

from pathlib import Path

from chatlib.checks.catalogue import Exercise

# The folder that holds chatlib, exercises/ and solutions/ (in a checkout of the course).
REPOSITORY = Path(__file__).resolve().parents[2]


def exercises_folder(folder: str | Path | None = None) -> Path:
    """The learner's files: ``folder``, else ``exercises/`` here if any, else the repository's."""
    if folder is not None:
        return Path(folder)
    here = Path("exercises")
    return here if here.is_dir() else REPOSITORY / "exercises"


def learner_file(exercise: Exercise, folder: str | Path | None = None) -> Path:
    """The learner's file for the exercise: ``NAME.py`` in the exercises folder."""
    return exercises_folder(folder) / exercise.file_name


def solution_file(exercise: Exercise) -> Path:
    """The course's solution of the exercise: ``solutions/NAME.py`` in the repository."""
    return REPOSITORY / "solutions" / exercise.file_name


def display_path(path: Path) -> str:
    """``path`` as a learner would type it: relative to the current folder when inside it,
    else relative to the repository (``exercises/chat_server.py`` from the notebooks folder)."""
    resolved = path.resolve()
    for base in (Path.cwd(), REPOSITORY):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(path)
