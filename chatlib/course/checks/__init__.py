"""The exercises' requirements, written once as checks that drive a running program.

One spec, three uses: ``python -m chatlib check EXERCISE`` runs it on a learner's file, the
test suite runs it on chatlib and on every solution (they must pass) and on every untouched
starter (it must fail), and the notebooks run it from a cell.

- :mod:`.catalogue`: the exercises, in the course's order;
- :mod:`.pipeline`: :func:`check`, the one way to check an exercise;
- :mod:`.renderers`: how a check is shown (terminal, watch mode, JSON, notebook);
- the requirements of each exercise, in the module named after it (``chat_server``...).
"""

from chatlib.course.checks.catalogue import EXERCISES, Exercise, Kind
from chatlib.course.checks.core import CheckFailed, Outcome, ProgramProblem, Requirement
from chatlib.course.checks.pipeline import HandlerFunction, Program, check, learner_program
from chatlib.course.checks.results import CheckResult

__all__ = [
    "EXERCISES",
    "CheckFailed",
    "CheckResult",
    "Exercise",
    "HandlerFunction",
    "Kind",
    "Outcome",
    "Program",
    "ProgramProblem",
    "Requirement",
    "check",
    "learner_program",
]
