"""Tools around the checks, for learners and for instructors.

- :func:`watch`: check an exercise again every time its file is saved (``check --watch``);
- :func:`progress_report`: one line per exercise, and what to do next (``progress``);
- :func:`reset_exercise`: put an original starter back, keeping a backup (``reset``);
- :func:`grade_class`: check a whole class's files and write a gradebook (``grade``).

Each is also a command of ``python -m chatlib``; the coroutines can be awaited in a notebook.
"""

from chatlib.course.tooling.gradebook import grade_class
from chatlib.course.tooling.progress import find_progress, progress_report
from chatlib.course.tooling.reset import reset_exercise
from chatlib.course.tooling.watch import watch

__all__ = ["find_progress", "grade_class", "progress_report", "reset_exercise", "watch"]
