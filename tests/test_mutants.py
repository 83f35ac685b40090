"""The checker catches real mistakes, by the requirement that names them, and accepts
correct programs written differently.

- every mutant (a solution with one mistake, see ``tests/mutants/catalogue.py``) is refused,
  and the *first* requirement it fails is the one the catalogue names: that requirement's
  hint is about this very mistake;
- every variant (``tests/mutants/variants/EXERCISE_*.py``, a correct program written in
  another way: another structure, a greeting of its own, the name asked before connecting,
  ``asyncio.to_thread``) meets every requirement of the assignment.

Each check runs the learner-facing requirements on a real process; several run at once
(each one bounded by the requirement's own time limit).
"""

import asyncio
from pathlib import Path

import pytest
from mutants.catalogue import MUTANTS, Mutant

from chatlib.course.checks import EXERCISES, Exercise
from chatlib.course.checks.core import Outcome, run_requirement
from chatlib.course.checks.pipeline import Program
from chatlib.course.folders import solution_file

VARIANTS = sorted((Path(__file__).parent / "mutants" / "variants").glob("*.py"))
AT_ONCE = 6  # Checks at the same time: most of a check is waiting (for an exit, for a line).
# The tests that check many programs at once share one worker (with tests/test_realworld.py):
# side by side on two cores, the memory check's 400 visits took over its 15 s limit.
MANY_CHECKS_AT_ONCE = pytest.mark.xdist_group("many-checks-at-once")


def exercise_of_variant(path: Path) -> Exercise:
    """A variant's exercise is in its name: ``chat_client_asks_name_first.py``."""
    return next(exercise for name, exercise in EXERCISES.items() if path.stem.startswith(name))


class Checker:
    """Runs requirements against programs, a few programs at once."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(AT_ONCE)

    async def outcomes(self, exercise: Exercise, path: Path, stop_at_first_unmet: bool):
        """The outcomes of the assignment's requirements for ``path``, in order."""
        program = Program.file(path)
        found: list[Outcome] = []
        async with self.slots:
            for requirement in exercise.requirements.chosen(include_extras=False):
                found.append(await run_requirement(requirement, lambda: program.start(exercise)))
                if stop_at_first_unmet and found[-1].met is False:
                    break
        return found


def mutant_problem(mutant: Mutant, outcomes: list[Outcome]) -> str | None:
    """Why the checker's verdict on ``mutant`` is wrong, or ``None`` when it is right."""
    unmet = next((outcome for outcome in outcomes if outcome.met is False), None)
    if unmet is None:
        not_checked = [o.requirement.key for o in outcomes if o.met is None]
        if mutant.caught_by in not_checked:
            return None  # Not checkable on this machine (e.g. the default port is in use).
        return f"{mutant.name}: accepted, every requirement met"
    if unmet.requirement.key != mutant.caught_by:
        return (
            f"{mutant.name}: first refused by {unmet.requirement.key}, not {mutant.caught_by}:"
            f" {unmet.detail}"
        )
    if not unmet.detail.strip():
        return f"{mutant.name}: refused with an empty reason"
    if mutant.says and mutant.says not in unmet.detail:
        return f"{mutant.name}: the report should say {mutant.says!r}; it says {unmet.detail!r}"
    return None


@MANY_CHECKS_AT_ONCE
@pytest.mark.timeout(600)
@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=lambda exercise: exercise.name)
async def test_each_mutant_is_refused_by_the_requirement_that_names_its_mistake(
    exercise: Exercise, tmp_path: Path
) -> None:
    mutants = [mutant for mutant in MUTANTS if mutant.exercise == exercise.name]
    solution = solution_file(exercise.file_name).read_text(encoding="utf-8")
    paths = []
    for mutant in mutants:
        path = tmp_path / mutant.name / exercise.file_name
        path.parent.mkdir()
        path.write_text(mutant.apply(solution), encoding="utf-8")
        paths.append(path)
    checker = Checker()
    verdicts = await asyncio.gather(
        *(checker.outcomes(exercise, path, stop_at_first_unmet=True) for path in paths)
    )
    problems = [mutant_problem(m, found) for m, found in zip(mutants, verdicts, strict=True)]
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def test_there_are_enough_mutants_and_variants() -> None:
    assert len(MUTANTS) >= 30
    assert len(VARIANTS) >= 8
    assert len({mutant.name for mutant in MUTANTS}) == len(MUTANTS)
    keys = {r.key for exercise in EXERCISES.values() for r in exercise.requirements}
    assert {mutant.caught_by for mutant in MUTANTS} <= keys


@MANY_CHECKS_AT_ONCE
@pytest.mark.timeout(600)
async def test_each_correct_variant_meets_every_requirement() -> None:
    checker = Checker()
    found = await asyncio.gather(
        *(
            checker.outcomes(exercise_of_variant(path), path, stop_at_first_unmet=False)
            for path in VARIANTS
        )
    )
    problems = [
        f"{path.name}: {outcome.requirement.key}: {outcome.detail}"
        for path, outcomes in zip(VARIANTS, found, strict=True)
        for outcome in outcomes
        if outcome.met is False
    ]
    assert not problems, "\n".join(problems)
