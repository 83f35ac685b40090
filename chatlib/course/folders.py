"""Where the course folder is, where a learner's files are, and how to name a file to a learner.

The course folder is the one that holds ``exercises/`` (the learner's files) and
``solutions/``: a clone of the course's repository. chatlib finds it from where the learner
is, not from where chatlib is installed. A regular install (``pip install .``, as Binder
and a JupyterHub's shared environment do) puts chatlib in ``site-packages/``, far from any
course folder; only an editable install (``make lab``) leaves it inside one.

:func:`course_folder` looks in the current folder and then in each folder above it (a
terminal opens in the repository, a notebook's kernel runs in ``notebooks/``), and last in
the folder around chatlib's own source, for a checkout run from elsewhere. Every part of
chatlib that reads ``exercises/`` or ``solutions/`` (the checks, ``progress``, ``reset``,
``lab``, the command line, the notebook helpers) goes through it. Each exercise's file is
named after it (:attr:`chatlib.course.checks.catalogue.Exercise.file_name`); this module
takes that name, and imports nothing of the checker, which builds on it.
"""

from pathlib import Path

import chatlib

# The folder that marks the course folder, and the one beside it with the answers.
EXERCISES_FOLDER = "exercises"
SOLUTIONS_FOLDER = "solutions"

# The folder around the chatlib package: the course folder when chatlib is a checkout's
# source (an editable install), somewhere in site-packages after a regular install.
PACKAGE_PARENT = Path(chatlib.__file__).resolve().parent.parent


class CourseFolderNotFound(FileNotFoundError):
    """No course folder here or above: the one-line explanation is the exception's text."""

    def __init__(self, start: Path) -> None:
        super().__init__(
            f"No course folder found: neither {start} nor a folder above it holds"
            f" {EXERCISES_FOLDER}/. Run this from the course's folder (or one inside it), or"
            " give --folder DIR."
        )


def find_course_folder(start: str | Path | None = None) -> Path | None:
    """The course folder seen from ``start`` (the current folder), or ``None`` if there is none.

    That is ``start`` or the nearest folder above it that holds ``exercises/``; failing
    that, the folder around chatlib's source when it holds one (a checkout).
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents, PACKAGE_PARENT):
        if (folder / EXERCISES_FOLDER).is_dir():
            return folder
    return None


def course_folder(start: str | Path | None = None) -> Path:
    """The course folder, as :func:`find_course_folder`; raises :class:`CourseFolderNotFound`."""
    found = find_course_folder(start)
    if found is None:
        raise CourseFolderNotFound(Path(start if start is not None else Path.cwd()).resolve())
    return found


def exercises_folder(folder: str | Path | None = None) -> Path:
    """The learner's files: ``folder`` when given, else the course folder's ``exercises/``."""
    if folder is not None:
        return Path(folder)
    return course_folder() / EXERCISES_FOLDER


def learner_file(file_name: str, folder: str | Path | None = None) -> Path:
    """The learner's file of that name (an exercise's ``NAME.py``) in the exercises folder."""
    return exercises_folder(folder) / file_name


def solution_file(file_name: str) -> Path:
    """The course's solution of that name: ``solutions/NAME.py`` in the course folder."""
    return course_folder() / SOLUTIONS_FOLDER / file_name


def display_path(path: Path) -> str:
    """``path`` as a learner would type it: relative to the current folder when inside it,
    else relative to the course folder (``exercises/chat_server.py`` from ``notebooks/``)."""
    resolved = path.resolve()
    for base in (Path.cwd(), find_course_folder()):
        if base is not None and resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(path)
