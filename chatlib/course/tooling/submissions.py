"""Who handed in which file, and when: a class's submissions as the grader reads them.

Submissions arrive in whatever layout the learning platform downloads, and all of them are
read, side by side, in one folder (or the zip file the platform gave):

- a **folder per learner**: ``alice/chat_server.py``. Moodle's "download submissions in
  folders" is one too: ``Ann Lee_12345_assignsubmission_file_/chat_server.py`` is Ann Lee_12345;
- **flat files** whose name carries the learner before the exercise's file name, as Canvas
  writes them: ``lee_ann_12345_67890_chat_server.py`` (the last number is the file's, so it is
  dropped, and Canvas's ``late`` mark too: ``lee_ann_late_12345_67890_chat_server.py`` is the
  same learner). A resubmission ``..._chat_server-1.py`` counts; the newest file wins;
- **one submission**: the exercise files right in the folder (``chat_server.py``), as Gradescope
  puts them in ``/autograder/submission``: the learner is the folder.

When each learner handed in: the time in ``timestamp.txt`` in their folder (nbgrader's
convention, e.g. ``2026-12-01 23:59:00``), otherwise the newest of their files' times (a zip
keeps the times of its files). Anything the grader cannot place (a name that matches no
exercise, a zip entry that would land outside its folder) is one line in ``notes``; the
rest is graded.
"""

import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from chatlib.course.checks.catalogue import EXERCISES

TIMESTAMP_FILE = "timestamp.txt"
# Moodle names each learner's folder (or each flat file) "Full Name_ID_assignsubmission_file_".
MOODLE_MARK = re.compile(r"_assignsubmission_[a-z]+_?$")
# Canvas marks a late file "name_late_ID_FILEID_file.py"; the mark is not part of the name.
CANVAS_LATE = "late"
# The grader's own files, when they are written into the folder it reads.
OWN_FILES = {"grades.csv", "grades-wide.csv", "grades.html"}


@dataclass
class Learner:
    """One learner's files, by exercise name, and when they were handed in."""

    name: str
    files: dict[str, Path] = field(default_factory=dict)
    submitted: datetime | None = None


@dataclass
class Collected:
    """Every learner found (alphabetical), and a line for each thing that was not understood."""

    learners: list[Learner]
    notes: list[str]


def exercise_pattern() -> re.Pattern[str]:
    """A file name that ends with an exercise's: ``PREFIX_chat_server.py`` or ``...-2.py``."""
    names = "|".join(re.escape(name) for name in EXERCISES)
    return re.compile(rf"^(?P<prefix>.*?)[_ ]?(?P<exercise>{names})(?:-\d+)?\.py$")


def learner_from_prefix(prefix: str) -> str:
    """The learner a flat file's name prefix names: Canvas's file id and late mark dropped.

    ``lee_ann_late_12345_67890`` is ``lee_ann_12345``; ``Ann Lee_12345_assignsubmission_file``
    (Moodle) is ``Ann Lee_12345``.
    """
    prefix = MOODLE_MARK.sub("", prefix.strip("_ "))
    parts = [part for part in prefix.split("_") if part and part != CANVAS_LATE]
    if len(parts) >= 2 and parts[-1].isdigit() and parts[-2].isdigit():
        parts.pop()  # Canvas: "..._USERID_FILEID": the file's id differs from file to file.
    return "_".join(parts)


def collect(source: Path, skip: tuple[Path, ...] = ()) -> Collected:
    """Read a class's submissions from a folder (see the module's docstring for the layouts).

    ``skip`` holds the folders where the grader writes its own files.
    """
    notes: list[str] = []
    learners: dict[str, Learner] = {}
    skipped = {path.resolve() for path in skip}
    pattern = exercise_pattern()
    for entry in sorted(source.iterdir()):
        if entry.name.startswith((".", "__")) or entry.resolve() in skipped:
            continue
        if entry.is_dir():
            learner = learners.setdefault(folder_learner(entry), Learner(folder_learner(entry)))
            add_folder(learner, entry, notes)
            continue
        if entry.name in OWN_FILES or entry.name == TIMESTAMP_FILE:
            continue
        found = pattern.match(entry.name)
        if found is None:
            notes.append(f"{entry.name}: skipped, its name ends with no exercise's file name.")
            continue
        name = learner_from_prefix(found["prefix"]) or source.resolve().name
        add_file(learners.setdefault(name, Learner(name)), found["exercise"], entry, notes)
    for learner in learners.values():
        learner.submitted = learner.submitted or newest_time(learner.files.values())
    return Collected(sorted(learners.values(), key=lambda learner: learner.name), notes)


def one_learner(folder: Path) -> Learner:
    """The whole folder as one learner's submission (Gradescope's ``/autograder/submission``):
    for each exercise, its file at the shallowest depth."""
    learner = Learner(folder.resolve().name)
    add_folder(learner, folder, [])
    learner.submitted = newest_time(learner.files.values())
    return learner


def folder_learner(folder: Path) -> str:
    """The learner a folder holds: its name, Moodle's suffix dropped."""
    return MOODLE_MARK.sub("", folder.name) or folder.name


def folder_learner_like(folder: Path) -> bool:
    """True when ``folder`` holds exercise files itself: it is a learner, not a wrapper."""
    return any((folder / exercise.file_name).is_file() for exercise in EXERCISES.values())


def add_folder(learner: Learner, folder: Path, notes: list[str]) -> None:
    """Add the exercise files found in a learner's folder, at any depth, named as the
    exercise's file or ending with it (Moodle keeps the name the learner uploaded)."""
    pattern = exercise_pattern()
    found: dict[str, list[Path]] = {}
    for path in folder.rglob("*.py"):
        if (named := pattern.match(path.name)) is not None:
            found.setdefault(named["exercise"], []).append(path)
    for exercise, paths in found.items():
        # The exact name first (chat_server.py before lee_chat_server-1.py), then the shallowest.
        paths.sort(key=lambda path: (path.name != f"{exercise}.py", len(path.parts), path.name))
        add_file(learner, exercise, paths[0], notes)
    stamp = folder / TIMESTAMP_FILE
    if stamp.is_file():
        learner.submitted = read_timestamp(stamp, notes)
    if not learner.files:
        wanted = ", ".join(exercise.file_name for exercise in EXERCISES.values())
        notes.append(f"{learner.name}: no file handed in (looked for {wanted}).")


def add_file(learner: Learner, exercise: str, file: Path, notes: list[str]) -> None:
    """Give ``learner`` this file for ``exercise``; of two files, the newer one counts."""
    kept = learner.files.get(exercise)
    if kept is not None:
        newer, older = sorted((kept, file), key=lambda path: path.stat().st_mtime, reverse=True)
        notes.append(
            f"{learner.name}: two files for {exercise}; graded {newer.name}, not {older.name}."
        )
        file = newer
    learner.files[exercise] = file


def newest_time(files: Iterable[Path]) -> datetime | None:
    """The latest modification time among ``files``, in local time; ``None`` for none."""
    times = [file.stat().st_mtime for file in files]
    return datetime.fromtimestamp(max(times)).astimezone() if times else None


def read_timestamp(path: Path, notes: list[str]) -> datetime | None:
    """The time written in a timestamp file (ISO 8601; local time unless it says otherwise)."""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return parse_time(text)
    except ValueError:
        notes.append(f"{path}: not a time ({text[:40]!r}); the files' times are used instead.")
        return None


def parse_time(text: str) -> datetime:
    """``2026-12-01 23:59`` or ``2026-12-01T23:59:00+01:00`` as an aware time (local if naive)."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo is not None else moment.astimezone()


class Unpacked:
    """A zip file's contents in a temporary folder, as long as the ``with`` block lasts.

    Entries whose names would land outside the folder (``../x.py``, ``/etc/x``) are skipped
    and noted; each file keeps the time the zip recorded for it.
    """

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.notes: list[str] = []
        self.folder = Path(tempfile.mkdtemp(prefix="chatlib-grade-"))

    def __enter__(self) -> "Unpacked":
        root = self.folder.resolve()
        with zipfile.ZipFile(self.archive) as archive:
            for member in archive.infolist():
                target = (root / member.filename).resolve()
                if member.is_dir():
                    continue
                if not target.is_relative_to(root) or Path(member.filename).is_absolute():
                    self.notes.append(
                        f"{member.filename}: skipped, its name leaves the zip's folder."
                    )
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                stamp = time.mktime((*member.date_time, 0, 0, -1))
                os.utime(target, (stamp, stamp))
        return self

    @property
    def root(self) -> Path:
        """The class's folder: the zip's only folder when it wraps everything in one."""
        entries = [entry for entry in self.folder.iterdir() if not entry.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_dir() and not folder_learner_like(entries[0]):
            return entries[0]
        return self.folder

    def __exit__(self, *error) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
