"""What the last check of each exercise file found, so unchanged files need no new check.

Checking a file takes seconds; ``python -m chatlib progress`` should take none when nothing
changed. Every check of an exercise file leaves its result in ``.chatlib-progress.json``
in the file's folder, keyed by the exercise and by the SHA-256 of the file's content, so a
result is used again only for exactly the content it was found for (and only while the
exercise still has the same requirements). The file is a convenience: lose it, and the
next check simply runs again.
"""

import contextlib
import hashlib
import json
import os
from pathlib import Path

from chatlib.course.checks.catalogue import Exercise
from chatlib.course.checks.results import CheckResult

MEMORY_FILE = ".chatlib-progress.json"


def content_digest(file: Path) -> str | None:
    """The SHA-256 of the file's bytes, or ``None`` when it cannot be read."""
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError:
        return None


def requirement_keys(exercise: Exercise) -> list[str]:
    """The assignment's requirements today: a remembered result for others is stale."""
    return [requirement.key for requirement in exercise.requirements.chosen(False)]


def recall(exercise: Exercise, file: Path) -> CheckResult | None:
    """The remembered result for the file's current content, or ``None``."""
    entry = _read(file.parent).get(exercise.name)
    if not isinstance(entry, dict):
        return None
    same_file = entry.get("sha256") == content_digest(file)
    if not same_file or entry.get("requirements") != requirement_keys(exercise):
        return None
    try:
        return CheckResult.from_json(entry["result"])
    except (KeyError, TypeError):
        return None


def remember(file: Path, result: CheckResult) -> None:
    """Keep ``result`` as what a check found for the file's current content.

    Results that include the extras are not kept: progress counts the assignment only.
    A folder that cannot be written to just means nothing is remembered.
    """
    digest = content_digest(file)
    if result.include_extras or digest is None:
        return
    memory = _read(file.parent)
    memory[result.exercise.name] = {
        "sha256": digest,
        "requirements": requirement_keys(result.exercise),
        "result": result.to_json(),
    }
    path = file.parent / MEMORY_FILE
    temporary = path.with_name(f"{MEMORY_FILE}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        temporary.write_text(json.dumps(memory, indent=1), encoding="utf-8")
        # Replacing in one step means a reader never sees half a file.
        os.replace(temporary, path)


def _read(folder: Path) -> dict:
    """The memory file's content; empty when it is missing or unreadable."""
    try:
        memory = json.loads((folder / MEMORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return memory if isinstance(memory, dict) else {}
