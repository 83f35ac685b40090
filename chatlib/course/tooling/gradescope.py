"""Gradescope's autograder results: ``results.json`` for one learner's submission.

Gradescope runs the instructor's ``run_autograder`` on every submission, which must write
``/autograder/results/results.json`` (its "Autograder Specifications"): a list of
``tests``, each with a ``name``, a ``score`` out of a ``max_score``, a ``status`` (passed or
failed), the ``output`` the learner reads, and a ``visibility``. Here each requirement is
one test worth its share of the exercise's points (the same shares as the gradebook's),
and its output is the checker's own words: what was sent, expected and received, and the
hint. Good-practice requirements can be kept from learners until the due date:
set ``CHATLIB_GOOD_PRACTICE_VISIBILITY=after_due_date`` (or ``hidden``, ``after_published``).

Two ways in: ``python -m chatlib check EXERCISE --path FILE --format gradescope`` prints one
exercise's results; ``python -m chatlib grade FOLDER --gradescope RESULTS`` checks every
exercise file in FOLDER (each in its own process, within the time limit) and writes them all.
"""

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from chatlib.course.checks.catalogue import EXERCISES, Exercise
from chatlib.course.checks.renderers import Renderer, labelled
from chatlib.course.checks.results import CheckResult
from chatlib.course.tooling.grading import (
    TIME_LIMIT,
    Submission,
    grade_submissions,
    points_text,
    scored_requirements,
)
from chatlib.course.tooling.submissions import one_learner

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
VISIBILITY_SETTING = "CHATLIB_GOOD_PRACTICE_VISIBILITY"


def good_practice_visibility() -> str:
    """When learners see good-practice tests: ``$CHATLIB_GOOD_PRACTICE_VISIBILITY``, or visible."""
    chosen = os.environ.get(VISIBILITY_SETTING, "visible")
    if chosen not in VISIBILITIES:
        print(
            f"{VISIBILITY_SETTING}={chosen} is not one of {', '.join(VISIBILITIES)}:"
            " good-practice tests are shown to learners.",
            file=sys.stderr,
        )
        return "visible"
    return chosen


def exercise_tests(
    exercise: Exercise, result: CheckResult | None, number: int
) -> list[dict[str, Any]]:
    """One Gradescope test per requirement of ``exercise``, scored as the gradebook scores it."""
    hidden = good_practice_visibility()
    return [
        {
            "name": f"{exercise.file_name}: {labelled(row.requirement)}",
            "number": f"{number}.{position}",
            "score": row.score,
            "max_score": row.share,
            "status": "passed" if row.met else "failed",
            "output": row.words,
            "output_format": "text",
            "tags": [exercise.name, row.requirement.origin.value],
            "visibility": hidden if row.requirement.good_practice else "visible",
        }
        for position, row in enumerate(scored_requirements(exercise, result), 1)
    ]


def results_json(results: dict[str, CheckResult | None], seconds: float = 0.0) -> dict[str, Any]:
    """Gradescope's results.json for ``results`` (exercise name: its result, ``None``: no file)."""
    tests = []
    lines = []
    for number, (name, result) in enumerate(results.items(), 1):
        exercise = EXERCISES[name]
        tests += exercise_tests(exercise, result, number)
        earned = result.points if result is not None else 0.0
        lines.append(f"{exercise.file_name}: {points_text(earned)} of {exercise.points} points")
    return {
        "tests": tests,
        "output": "\n".join(lines),
        "output_format": "text",
        "execution_time": round(seconds),
        "stdout_visibility": "hidden",
    }


class GradescopeReport(Renderer):
    """``check --format gradescope``: print one exercise's results.json once the check ends."""

    def end(self, result: CheckResult) -> None:
        print(json.dumps(results_json({result.exercise.name: result}), indent=1), flush=True)


def gradescope_from_command_line(
    folder: str, results_path: str, time_limit: float = TIME_LIMIT
) -> int:
    """``grade FOLDER --gradescope RESULTS``: check every exercise file of one submission."""
    source = Path(folder)
    if not source.is_dir():
        print(f"There is no folder {folder}: it should hold one learner's exercise files.")
        return 2
    learner = one_learner(source)
    submissions = [
        Submission(learner.name, exercise, learner.files.get(exercise.name))
        for exercise in EXERCISES.values()
    ]
    started = time.monotonic()
    grades = asyncio.run(grade_submissions(submissions, time_limit))
    found = {grade.submission.exercise.name: grade.result for grade in grades}
    data = results_json(found, time.monotonic() - started)
    target = Path(results_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=1), encoding="utf-8")
    score = sum(test["score"] for test in data["tests"])
    most = sum(exercise.points for exercise in EXERCISES.values())
    print(f"{learner.name}: {points_text(score)} of {most} points; results in {target}")
    return 0
