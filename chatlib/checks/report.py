"""``python -m chatlib check EXERCISE``: run the checks on a learner's file and report.

The report has one line per requirement (met or not), and under each unmet one what was
sent, what was expected, what arrived, and a hint. It ends with a total, and with a short
congratulation and the next step once everything passes. The exit status is 0 only then.
"""

import asyncio
import sys
import textwrap
from pathlib import Path

from chatlib.checks.core import Outcome, ProgramProblem
from chatlib.checks.exercises import EXERCISES, check_program, check_targets
from chatlib.checks.programs import display_path, python_command, python_problem
from chatlib.checks.servers import serving_handler
from chatlib.serving import Handler

REPOSITORY = Path(__file__).resolve().parents[2]


def default_path(exercise_name: str) -> Path:
    """``exercises/NAME.py`` in the current folder, else in the repository that holds chatlib."""
    here = Path("exercises") / f"{exercise_name}.py"
    if here.is_file():
        return here
    return REPOSITORY / "exercises" / f"{exercise_name}.py"


def marks() -> tuple[str, str, str]:
    """Symbols for met / not met / not checked, in plain ASCII where the console needs it."""
    try:
        "✔✘".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "[ok]", "[  ]", "[--]"
    return "✔", "✘", "-"


def print_outcome(outcome: Outcome) -> None:
    """Print one requirement's line, with the details and the hint when it is not met."""
    met, not_met, not_checked = marks()
    requirement = outcome.requirement
    if outcome.met:
        print(f"  {met} {requirement.summary}", flush=True)
    elif outcome.met is None:
        print(f"  {not_checked} {requirement.summary} (not checked: {outcome.detail})", flush=True)
    else:
        print(f"  {not_met} {requirement.summary}")
        print(textwrap.indent(outcome.detail, "      "))
        print(f"      Hint: {requirement.hint}", flush=True)


def print_total(outcomes: list[Outcome], next_step: str) -> bool:
    """Print the total; True when every checked requirement is met."""
    checked = [outcome for outcome in outcomes if outcome.met is not None]
    met = sum(1 for outcome in checked if outcome.met)
    print()
    if met == len(checked):
        print(f"All {met} requirements met. Well done!")
        print(next_step)
        return True
    print(f"{met} of {len(checked)} requirements met. Fix the first unmet one, save, and rerun.")
    return False


def check_exercise(
    exercise_name: str, path: str | None = None, include_extras: bool = False
) -> int:
    """Check a learner's file for ``exercise_name``, print the report, return the exit status."""
    try:
        all_met = asyncio.run(report_on_exercise(exercise_name, path, include_extras))
    except KeyboardInterrupt:
        print("\nCheck interrupted.")
        return 1
    return 0 if all_met else 1


async def report_on_exercise(
    exercise_name: str, path: str | Path | None = None, include_extras: bool = False
) -> bool:
    """Check a learner's file and print the report as results come in; True if all are met.

    This is the coroutine behind ``python -m chatlib check``; a notebook cell can
    ``await`` it directly, since the kernel already runs an event loop.
    """
    exercise = EXERCISES[exercise_name]
    file = Path(path) if path else default_path(exercise_name)
    print(f"Checking {display_path(file)}: {exercise.title}\n", flush=True)
    problem = python_problem(file)
    if problem:
        print(problem)
        return False
    try:
        outcomes = await check_program(
            exercise, python_command(file), file, include_extras, print_outcome
        )
    except ProgramProblem as problem:
        print(problem)
        return False
    return print_total(outcomes, exercise.next_step)


async def report_on_handler(
    exercise_name: str, handler: Handler, include_extras: bool = False
) -> bool:
    """Check a server *handler function* (one written in a notebook cell) and print the report.

    The handler is served in this event loop, so only the server exercises apply, and the
    Ctrl-C requirement (which needs a program of its own) is reported as not checked.
    """
    exercise = EXERCISES[exercise_name]
    if exercise.start is not EXERCISES["chat_server"].start:
        raise ValueError(f"{exercise_name} is checked as a program: use check({exercise_name!r})")
    print(f"Checking the handler {handler.__name__}(): {exercise.title}\n", flush=True)
    outcomes = await check_targets(
        exercise, lambda: serving_handler(handler), include_extras, print_outcome
    )
    return print_total(outcomes, exercise.next_step)
