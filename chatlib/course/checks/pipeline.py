"""The one way an exercise is checked: its requirements, one by one, against a subject.

A *subject* is what is checked: a program (a learner's file, a solution, chatlib's own
reference) run in a process of its own, or a server handler function written in a notebook
cell and served in this event loop. :func:`check` runs each requirement against a fresh
copy of the subject, hands every outcome and the final result to a renderer
(:mod:`chatlib.course.checks.renderers`) as they come, and, for the exercises folder's own file,
keeps the result for ``progress`` (:mod:`chatlib.course.checks.memory`).

``python -m chatlib check`` (with or without ``--json`` or ``--watch``), ``progress``,
``grade`` (through ``check --json``) and the notebook's ``check()`` and ``check_handler()``
all come here.
"""

import contextlib
import sys
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlib.course.checks.catalogue import Exercise, Kind
from chatlib.course.checks.clients import running_client
from chatlib.course.checks.core import Outcome, ProgramProblem, run_requirement
from chatlib.course.checks.diagnosis import python_problem
from chatlib.course.checks.memory import remember
from chatlib.course.checks.renderers import Renderer
from chatlib.course.checks.results import CheckResult
from chatlib.course.checks.servers import running_server, serving_handler
from chatlib.course.folders import display_path, learner_file
from chatlib.serving import Handler


@dataclass(frozen=True)
class Program:
    """A program to check, run as ``command``: a Python file, or chatlib's reference."""

    command: list[str]
    path: Path | None = None  # The Python file it runs: what errors are explained against.
    # True for the exercises folder's own file, whose results ``progress`` reads back.
    keeps_progress: bool = False

    @classmethod
    def file(cls, path: Path, keeps_progress: bool = False) -> "Program":
        """The Python file ``path``, run with this interpreter."""
        return cls([sys.executable, str(path)], path, keeps_progress)

    @property
    def name(self) -> str:
        return display_path(self.path) if self.path else " ".join(self.command[1:])

    def problem(self) -> str | None:
        """Why the program cannot be run at all (no such file, not Python), or ``None``."""
        return python_problem(self.path) if self.path else None

    def start(self, exercise: Exercise) -> AbstractAsyncContextManager[Any]:
        """Start a fresh copy, with whatever the exercise's checks need around it."""
        if exercise.kind is Kind.SERVER:
            return running_server(self.command, self.path, exercise.requirements.environment)
        return running_client(self.command, self.path)


@dataclass(frozen=True)
class HandlerFunction:
    """A server handler written in a notebook cell, served in this event loop."""

    handler: Handler
    keeps_progress = False

    @property
    def name(self) -> str:
        return f"the handler {self.handler.__name__}()"

    def problem(self) -> str | None:
        return None

    def start(self, exercise: Exercise) -> AbstractAsyncContextManager[Any]:
        if exercise.kind is not Kind.SERVER:
            raise ValueError(
                f"{exercise.name} is checked as a program: use check({exercise.name!r})"
            )
        return serving_handler(self.handler)


Subject = Program | HandlerFunction


def learner_program(
    exercise: Exercise, path: str | Path | None = None, folder: str | Path | None = None
) -> Program:
    """The file to check: ``path`` when given, else the exercise's file in the exercises folder.

    A file given by ``path`` needs no course folder around it; its result goes to the
    progress memory only when it is the learner's own file.
    """
    if not path:
        return Program.file(learner_file(exercise.file_name, folder), keeps_progress=True)
    file = Path(path)
    with contextlib.suppress(OSError):  # CourseFolderNotFound is an OSError too.
        own_file = learner_file(exercise.file_name, folder)
        return Program.file(file, keeps_progress=file.resolve() == own_file.resolve())
    return Program.file(file)


async def check(
    exercise: Exercise,
    subject: Subject,
    renderer: Renderer | None = None,
    include_extras: bool = False,
) -> CheckResult:
    """Check ``subject`` against the exercise's requirements; never raises for its faults.

    A requirement whose prerequisite is not met is not run: it would only fail again, after
    waiting for what the prerequisite already showed does not come. A subject that cannot be
    checked at all (no file, not Python, never ready) ends the check with a ``problem``.
    """
    renderer = renderer or Renderer()
    chosen = exercise.requirements.chosen(include_extras)
    renderer.begin(exercise, subject.name, chosen)
    outcomes: dict[str, Outcome] = {}
    problem = subject.problem()
    try:
        for requirement in chosen if problem is None else []:
            prerequisite = outcomes.get(requirement.needs) if requirement.needs else None
            if prerequisite is not None and prerequisite.met is False:
                summary = prerequisite.requirement.summary
                outcome = Outcome(requirement, False, f'Not checked yet: first, "{summary}".')
            else:
                outcome = await run_requirement(requirement, lambda: subject.start(exercise))
            outcomes[requirement.key] = outcome
            renderer.outcome(outcome)
    except ProgramProblem as cannot_start:
        problem = str(cannot_start)
    result = CheckResult(exercise, list(outcomes.values()), problem, include_extras)
    if subject.keeps_progress:
        remember(subject.path, result)
    renderer.end(result)
    return result


def replay(exercise: Exercise, subject: Subject, result: CheckResult, renderer: Renderer) -> None:
    """Show a remembered result as if its checks had just run."""
    renderer.begin(exercise, subject.name, exercise.requirements.chosen(result.include_extras))
    for outcome in result.outcomes:
        renderer.outcome(outcome)
    renderer.end(result)
