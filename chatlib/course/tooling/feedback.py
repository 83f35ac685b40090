"""A feedback file per learner: the report their own checker prints, for every exercise.

``feedback/LEARNER.md`` is Markdown that reads as plain text too: the learner's points, the
late penalty if any, and for each exercise the very report ``python -m chatlib check`` shows
(every requirement; under each unmet one what was sent, expected and received, and the
hint). An instructor hands it back as it is: an LMS takes it as a feedback attachment, and
Markdown renders on GitHub and in JupyterLab.
"""

import re
from datetime import datetime
from pathlib import Path

from chatlib.course.checks.catalogue import EXERCISES
from chatlib.course.checks.renderers import outcome_text, total_text
from chatlib.course.tooling.grading import Grade, LatePolicy, Standing, points_text

ADVICE = "Fix the first unmet one, save, and rerun."  # What the checker itself advises.


def report_text(grade: Grade) -> str:
    """The report the learner's checker prints for this exercise (or why there is none)."""
    exercise = grade.submission.exercise
    result = grade.result
    if result is None:
        return f"No file handed in: {exercise.file_name}."
    lines = [f"Checking {exercise.file_name}: {exercise.title}", ""]
    lines += [outcome_text(outcome) for outcome in result.outcomes]
    closing = result.problem or total_text(result, exercise.next_step, ADVICE)
    return "\n".join([*lines, "", closing]).strip()


def fenced(text: str) -> str:
    """``text`` in a Markdown code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def feedback_markdown(standing: Standing, policy: LatePolicy) -> str:
    """One learner's feedback: totals first, then each exercise's report."""
    most = sum(exercise.points for exercise in EXERCISES.values())
    lines = [f"# Feedback for {standing.learner}", ""]
    lines.append(f"**Points: {points_text(standing.total)} of {most}**")
    if standing.days_late:
        lines += [
            "",
            f"Handed in {when(standing.submitted)}, {standing.days_late} day(s) after the due"
            f" date ({when(policy.due)}): {policy.percent_per_day:g} % per day late, so"
            f" {points_text(standing.penalty)} of your {points_text(standing.points)} points"
            " are taken off.",
        ]
    for name, exercise in EXERCISES.items():
        grade = standing.grades[name]
        earned = grade.result.points if grade.result else 0.0
        lines += [
            "",
            f"## {exercise.file_name}: {points_text(earned)} of {exercise.points} points"
            f" ({grade.status})",
            "",
            fenced(report_text(grade)),
        ]
    lines += [
        "",
        "Run the same checks yourself: `python -m chatlib check EXERCISE` in your course folder.",
    ]
    return "\n".join(lines) + "\n"


def when(moment: datetime | None) -> str:
    """A time for a reader: 2026-12-03 14:05."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "at an unknown time"


def file_name_for(learner: str) -> str:
    """A file name for a learner's feedback: their name with anything odd replaced by ``_``."""
    return re.sub(r"[^\w.-]+", "_", learner).strip("._") or "learner"


def write_feedback(standings: list[Standing], folder: Path, policy: LatePolicy) -> Path:
    """Write ``folder/LEARNER.md`` for every learner; the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for standing in standings:
        name = file_name_for(standing.learner)
        # Two names that differ only in odd characters ("A.B", "A B") get a number each.
        stem, number = name, 1
        while name.lower() in taken:
            number += 1
            name = f"{stem}-{number}"
        taken.add(name.lower())
        (folder / f"{name}.md").write_text(feedback_markdown(standing, policy), encoding="utf-8")
    return folder
