"""``python -m chatlib check EXERCISE``: run the checks on a learner's file and report.

The report has one line per requirement (met or not), and under each unmet one what was
sent, what was expected, what arrived, and a hint. It ends with a total, and with a short
congratulation and the next step once everything passes. The exit status is 0 only then.

The watch mode (:mod:`chatlib.tooling.watch`) draws a compact form of the same report,
with the same :class:`OutcomePrinter`; ``--json`` prints the result as data instead. A
check of the exercises folder's own file is remembered (:mod:`.memory`) for ``progress``.
"""

import asyncio
import contextlib
import json
import sys
import textwrap
from pathlib import Path

from chatlib.checks.core import Outcome
from chatlib.checks.exercises import EXERCISES, Exercise, check_targets
from chatlib.checks.memory import remember
from chatlib.checks.programs import display_path
from chatlib.checks.results import CheckResult, run_checks
from chatlib.checks.servers import serving_handler
from chatlib.serving import Handler

REPOSITORY = Path(__file__).resolve().parents[2]


def exercises_folder(folder: str | Path | None = None) -> Path:
    """The learner's files: ``folder``, else ``exercises/`` here if any, else the repository's."""
    if folder is not None:
        return Path(folder)
    here = Path("exercises")
    return here if here.is_dir() else REPOSITORY / "exercises"


def default_path(exercise_name: str, folder: str | Path | None = None) -> Path:
    """The learner's file for the exercise, ``NAME.py`` in the exercises folder."""
    return exercises_folder(folder) / f"{exercise_name}.py"


def marks() -> tuple[str, str, str]:
    """Symbols for met / not met / not checked, in plain ASCII where the console needs it."""
    try:
        "✔✘".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "[ok]", "[  ]", "[--]"
    return "✔", "✘", "-"


def outcome_text(outcome: Outcome, detail: bool = True, hint: bool = True) -> str:
    """One requirement's line; under an unmet one, what happened and the hint, when asked for."""
    met, not_met, not_checked = marks()
    requirement = outcome.requirement
    if outcome.met:
        return f"  {met} {requirement.summary}"
    if outcome.met is None:
        return f"  {not_checked} {requirement.summary} (not checked: {outcome.detail})"
    lines = [f"  {not_met} {requirement.summary}"]
    if detail and outcome.detail:
        lines.append(textwrap.indent(outcome.detail, "      "))
    if hint:
        lines.append(f"      Hint: {requirement.hint}")
    return "\n".join(lines)


class OutcomePrinter:
    """Prints each requirement's line as its result comes in.

    The full report shows what happened and the hint under every unmet requirement. The
    compact one (watch mode) shows them under the first unmet requirement only, where the
    learner should look next; ``all_hints`` adds the hint under every other unmet one.
    """

    def __init__(self, compact: bool = False, all_hints: bool = False) -> None:
        self.compact = compact
        self.all_hints = all_hints
        self.unmet = 0

    def __call__(self, outcome: Outcome) -> None:
        if outcome.met is False:
            self.unmet += 1
        first_unmet = self.unmet == 1 and outcome.met is False
        detail = first_unmet or not self.compact
        print(outcome_text(outcome, detail, hint=detail or self.all_hints), flush=True)


def total_text(
    result: CheckResult, next_step: str, advice: str = "Fix the first unmet one, save, and rerun."
) -> str:
    """The closing lines: how many requirements are met, and what to do now."""
    if result.all_met:
        return f"All {result.met} requirements met. Well done!\n{next_step}"
    return f"{result.met} of {result.total} requirements met. {advice}"


def check_exercise(
    exercise_name: str,
    path: str | None = None,
    include_extras: bool = False,
    folder: str | None = None,
) -> int:
    """Check a learner's file for ``exercise_name``, print the report, return the exit status."""
    try:
        all_met = asyncio.run(report_on_exercise(exercise_name, path, include_extras, folder))
    except KeyboardInterrupt:
        print("\nCheck interrupted.")
        return 1
    return 0 if all_met else 1


def check_as_json(
    exercise_name: str,
    path: str | None = None,
    include_extras: bool = False,
    folder: str | None = None,
) -> int:
    """Check quietly and print the result as one JSON object (see :mod:`.results`)."""
    file = chosen_file(exercise_name, path, folder)
    try:
        result = asyncio.run(run_checks(EXERCISES[exercise_name], file, include_extras))
    except KeyboardInterrupt:
        return 1
    remember_if_exercise_file(file, result, folder)
    print(json.dumps(result.to_json()), flush=True)
    return 0 if result.all_met else 1


def chosen_file(exercise_name: str, path: str | Path | None, folder: str | Path | None) -> Path:
    """The file to check: ``path`` when given, else the exercise's file in ``folder``."""
    return Path(path) if path else default_path(exercise_name, folder)


def remember_if_exercise_file(file: Path, result: CheckResult, folder: str | Path | None) -> None:
    """Keep the result for ``progress`` when ``file`` is the exercises folder's own file."""
    with contextlib.suppress(OSError):
        if file.resolve() == default_path(result.exercise.name, folder).resolve():
            remember(file, result)


async def report_on_exercise(
    exercise_name: str,
    path: str | Path | None = None,
    include_extras: bool = False,
    folder: str | Path | None = None,
) -> bool:
    """Check a learner's file and print the report as results come in; True if all are met.

    This is the coroutine behind ``python -m chatlib check``; a notebook cell can
    ``await`` it directly, since the kernel already runs an event loop.
    """
    exercise = EXERCISES[exercise_name]
    file = chosen_file(exercise_name, path, folder)
    print(f"Checking {display_path(file)}: {exercise.title}\n", flush=True)
    result = await report_check(exercise, file, include_extras, OutcomePrinter())
    remember_if_exercise_file(file, result, folder)
    if result.problem is None:
        print()
        print(total_text(result, exercise.next_step))
    return result.all_met


async def report_check(
    exercise: Exercise, file: Path, include_extras: bool, printer: OutcomePrinter
) -> CheckResult:
    """Check ``file``, printing each requirement's line as it comes, then any problem."""
    result = await run_checks(exercise, file, include_extras, printer)
    if result.problem is not None:
        print(result.problem, flush=True)
    return result


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
        exercise, lambda: serving_handler(handler), include_extras, OutcomePrinter()
    )
    result = CheckResult(exercise, outcomes, include_extras=include_extras)
    print()
    print(total_text(result, exercise.next_step))
    return result.all_met
