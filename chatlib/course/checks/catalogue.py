"""The exercises of the course, in the order a learner meets them: the one place that says so.

Each entry says what cannot be guessed: a name, a title, its kind and its points. Everything
else follows from the name, by convention:

- the learner's file is ``exercises/NAME.py``, its original ``chatlib/course/starters/NAME.py``
  (``python -m chatlib reset NAME`` copies one to the other), the solution ``solutions/NAME.py``;
- the requirements are ``REQUIREMENTS`` in the module ``chatlib.course.checks.NAME``;
- chatlib's own answer, where it has one, is ``python -m chatlib NAME-WITH-DASHES``;
- the "next step" after a finished exercise points to the next entry.

The command line's choices, ``progress``, ``watch``, ``reset``, ``grade``, the notebook
helpers and the tests all read this list. To add an exercise, see the README's "For
instructors" section.
"""

import importlib
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from chatlib.commands import chatlib_command

if TYPE_CHECKING:
    from chatlib.course.checks.core import Requirements


class Kind(StrEnum):
    """How a program of the exercise is checked."""

    SERVER = "server"  # Started as it is, on a free port whatever it asks; checks connect to it.
    CLIENT = "client"  # Started as it is, sent to a stand-in server; the checks type into it.


@dataclass(frozen=True)
class Exercise:
    """One exercise: what the catalogue says of it, and what follows from its name."""

    name: str  # e.g. "chat_server": its files, module and commands are named after it.
    title: str  # e.g. "the chat server (the assignment, part 1)".
    kind: Kind
    points: int  # What it is worth in the gradebook, shared among its requirements.
    # False while chatlib has no reference program of its own for it (the tests check the
    # reference against every requirement, the extras included).
    has_reference: bool = True
    # Beyond the assignment: the course is finished without it, and says so before offering it.
    optional: bool = False

    @property
    def file_name(self) -> str:
        """The learner's file, the starter and the solution are all called this."""
        return f"{self.name}.py"

    @property
    def requirements(self) -> "Requirements":
        """The exercise's requirements, in the order they are checked."""
        return importlib.import_module(f"chatlib.course.checks.{self.name}").REQUIREMENTS

    @property
    def reference_command(self) -> list[str]:
        """The command line of chatlib's own answer: ``python -m chatlib chat-server``."""
        return [sys.executable, "-m", "chatlib", self.name.replace("_", "-")]

    @property
    def next_step(self) -> str:
        """What to do once every requirement is met: the next exercise, or the finish."""
        following = next_exercise(self)
        if following is None:
            return COURSE_FINISHED
        how = (
            f"Open exercises/{following.file_name}, then run"
            f" `{chatlib_command('check', following.name)}`."
        )
        if following.optional and not self.optional:
            return f"{COURSE_FINISHED} Want more? Try {following.title}: {how}"
        return f"Next: {following.title}. {how}"


COURSE_FINISHED = (
    "You have finished the assignment. Start your server, open two terminals, run your"
    " client in each, and chat!"
)


def in_order(*exercises: Exercise) -> dict[str, Exercise]:
    """The exercises by name, in the order given."""
    return {exercise.name: exercise for exercise in exercises}


EXERCISES = in_order(
    Exercise("uppercase_server", "the uppercase server (quick exercise)", Kind.SERVER, points=2),
    Exercise("chat_server", "the chat server (the assignment, part 1)", Kind.SERVER, points=5),
    Exercise("chat_client", "the chat client (the assignment, part 2)", Kind.CLIENT, points=3),
    # Optional: after the assignment, and worth nothing unless an instructor gives it points.
    Exercise(
        "secure_chat_server",
        "the secure chat server (optional)",
        Kind.SERVER,
        points=0,
        has_reference=False,
        optional=True,
    ),
)


def next_exercise(exercise: Exercise) -> Exercise | None:
    """The exercise after ``exercise`` in the course, or ``None`` after the last one."""
    names = list(EXERCISES)
    position = names.index(exercise.name) + 1
    return EXERCISES[names[position]] if position < len(names) else None


def names_in_words() -> str:
    """The exercises' names for a message: "uppercase_server, chat_server or chat_client"."""
    *others, last = EXERCISES
    return f"{', '.join(others)} or {last}" if others else last
