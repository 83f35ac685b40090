"""The course's own material as committed, apart from what a learner did with it.

A learner works in the course folder itself: they edit ``exercises/``, and JupyterLab saves
the lessons with their outputs. The project's tests must not fail because of that work
(`make test` after doing the course should be green). So the tests that guard the course's
integrity (the starters in ``exercises/`` are exact copies of ``chatlib/course/starters/``, the
lessons are stored without outputs) read the files as git's index holds them, which is what
the next commit stores: a learner's edits are not in it, a contributor's staged change is.
The tests that need a starter to run read ``chatlib/course/starters/``, which learners never edit.

Where the course folder is not a git checkout (a downloaded archive), the files are read
from the folder, as they are.
"""

import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@cache
def _in_git_checkout() -> bool:
    """True when ROOT is a git checkout and git can read it."""
    try:
        found = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and Path(found.stdout.strip()).resolve() == ROOT


def committed_bytes(relative_path: str) -> bytes:
    """The content of ``relative_path`` (``"exercises/chat_server.py"``) as git's index holds
    it, or as the folder holds it outside a git checkout."""
    if _in_git_checkout():
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f":{relative_path}"], capture_output=True, timeout=30
        )
        if shown.returncode == 0:
            return shown.stdout
        # Not in the index yet (a new file, not added): the folder's copy is all there is.
    return (ROOT / relative_path).read_bytes()


def committed_text(relative_path: str) -> str:
    """:func:`committed_bytes`, decoded as UTF-8."""
    return committed_bytes(relative_path).decode("utf-8")
