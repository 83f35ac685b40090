"""GitHub Classroom's autograding: one runner result per exercise, points per requirement.

GitHub Classroom's reporter action (``classroom-resources/autograding-grading-reporter``)
reads, for every runner id listed in its ``runners`` input, the environment variable
``RUNNERID_RESULTS`` (the id in capitals): a base64-encoded JSON object with ``max_score``
and ``tests``, each test with a ``name``, a ``status`` (pass, fail or error), a ``message``
and a ``score``. It adds up the tests' scores, and the runners' ``max_score``, into the
grade. Classroom's own command grader gives all or nothing per command; this gives each
requirement its share of the exercise's points.

``python -m chatlib check EXERCISE --path FILE --format classroom`` prints the one line
``result=BASE64`` a workflow step appends to ``$GITHUB_OUTPUT``; ``grading/classroom.yml``
is the ready workflow (one step per exercise, then the reporter).
"""

import base64
import json
from typing import Any

from chatlib.course.checks.catalogue import Exercise
from chatlib.course.checks.renderers import Renderer, labelled
from chatlib.course.checks.results import CheckResult
from chatlib.course.tooling.grading import scored_requirements


def runner_id(exercise: Exercise) -> str:
    """The workflow step's id for an exercise: letters and digits only, as the reporter asks."""
    return exercise.name.replace("_", "")


def runner_result(exercise: Exercise, result: CheckResult | None) -> dict[str, Any]:
    """The runner's result object, as the official graders write it (version 1)."""
    rows = scored_requirements(exercise, result)
    if result is None or result.problem is not None:
        status = "error"
    else:
        status = "pass" if result.all_met else "fail"
    return {
        "version": 1,
        "status": status,
        "max_score": exercise.points,
        "tests": [
            {
                "name": labelled(row.requirement),
                "status": "pass" if row.met else ("error" if status == "error" else "fail"),
                "message": row.words,
                "test_code": f"python -m chatlib check {exercise.name}",
                "filename": exercise.file_name,
                "line_no": 0,
                "execution_time": "0s",
                "score": row.score,
            }
            for row in rows
        ],
    }


def output_line(exercise: Exercise, result: CheckResult | None) -> str:
    """``result=BASE64``: the step output the reporter decodes."""
    encoded = json.dumps(runner_result(exercise, result)).encode("utf-8")
    return f"result={base64.b64encode(encoded).decode('ascii')}"


class ClassroomReport(Renderer):
    """``check --format classroom``: print the ``result=BASE64`` line once the check ends."""

    def end(self, result: CheckResult) -> None:
        print(output_line(result.exercise, result), flush=True)
