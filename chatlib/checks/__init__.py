"""The exercises' requirements, written once as checks that drive a running program.

One spec, three uses: ``python -m chatlib check EXERCISE`` runs it on a learner's file, the
test suite runs it on chatlib and on every solution (they must pass) and on every untouched
starter (it must fail), and the notebooks run it from a cell.
"""

from chatlib.checks.core import CheckFailed, Outcome, ProgramProblem, Requirement
from chatlib.checks.exercises import EXERCISES, Exercise, check_program

__all__ = [
    "EXERCISES",
    "CheckFailed",
    "Exercise",
    "Outcome",
    "ProgramProblem",
    "Requirement",
    "check_program",
]
