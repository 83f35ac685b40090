"""The grades of a class as files: a CSV for spreadsheets, an HTML table to read.

``grades.csv`` has one row per learner, exercise and requirement (the "long" layout, which
a spreadsheet's pivot table turns into any view): ``learner``, ``exercise``,
``requirement`` (its key), ``summary``, ``result`` (met, not met, not checked, or no file)
and ``detail`` (why it is not met). ``grades.html`` is one self-contained page (no script,
no external file): a table with a row per learner and a column per requirement, ✔, ✘ or —
in each cell, the failure message on hover, and each learner's points (an exercise's points
are shared out among its requirements). Everything a learner wrote is escaped.

:func:`grade_class` grades a folder and writes both files: ``python -m chatlib grade``.
"""

import asyncio
import csv
import html
import os
import time
from dataclasses import dataclass
from pathlib import Path

from chatlib.checks.catalogue import EXERCISES, Exercise
from chatlib.checks.core import Requirement
from chatlib.tooling.grading import TIME_LIMIT, Grade, grade_folder, points_text

MET, NOT_MET, NOT_CHECKED, NO_FILE = "met", "not met", "not checked", "no file"
LONGEST_DETAIL = 1_000  # characters of a failure message kept in the files


@dataclass(frozen=True)
class Cell:
    """One learner's result for one requirement."""

    result: str  # MET, NOT_MET, NOT_CHECKED or NO_FILE
    detail: str = ""


def columns() -> list[tuple[Exercise, Requirement]]:
    """Every requirement of the assignment, exercise by exercise, in the order of the course."""
    return [
        (exercise, requirement)
        for exercise in EXERCISES.values()
        for requirement in exercise.requirements.chosen(False)
    ]


def cell(grade: Grade, requirement: Requirement) -> Cell:
    """What ``grade`` says about ``requirement``."""
    result = grade.result
    if result is None:
        return Cell(NO_FILE)
    for outcome in result.outcomes:
        if outcome.requirement.key == requirement.key:
            verdict = {True: MET, False: NOT_MET, None: NOT_CHECKED}[outcome.met]
            return Cell(verdict, shortened(outcome.detail))
    # Not checked at all: the file has a problem (or the checks ran out of time).
    return Cell(NOT_MET, shortened(result.problem or "Not checked."))


def shortened(text: str) -> str:
    """``text``, cut to a length a table can show."""
    return text if len(text) <= LONGEST_DETAIL else text[: LONGEST_DETAIL - 1] + "…"


def by_learner(grades: list[Grade]) -> dict[str, dict[str, Grade]]:
    """The grades as {learner: {exercise name: grade}}, learners in the order given."""
    table: dict[str, dict[str, Grade]] = {}
    for grade in grades:
        table.setdefault(grade.submission.learner, {})[grade.submission.exercise.name] = grade
    return table


def is_complete(learner_grades: dict[str, Grade]) -> bool:
    """True when every exercise was handed in and meets every requirement."""
    return all(
        (grade := learner_grades.get(name)) is not None
        and grade.result is not None
        and grade.result.all_met
        for name in EXERCISES
    )


def points_earned(learner_grades: dict[str, Grade]) -> float:
    """The learner's points: for each exercise, its share for every requirement met."""
    return sum(grade.result.points for grade in learner_grades.values() if grade.result)


def write_csv(grades: list[Grade], path: Path) -> None:
    """Write the long-layout CSV (with a byte-order mark, so spreadsheets read it as UTF-8)."""
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["learner", "exercise", "requirement", "summary", "result", "detail"])
        for learner, learner_grades in by_learner(grades).items():
            for exercise, requirement in columns():
                found = cell(learner_grades[exercise.name], requirement)
                writer.writerow(
                    [
                        inert(learner),
                        exercise.name,
                        requirement.key,
                        requirement.summary,
                        found.result,
                        inert(found.detail),
                    ]
                )


def inert(text: str) -> str:
    """Text a spreadsheet will not run as a formula (a learner chose it)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.55em; text-align: center; }
th.learner { text-align: left; }
td.met { background: #e7f5ea; color: #1b6e2f; }
td.not-met { background: #fdeceb; color: #b3261e; cursor: help; }
td.not-checked, td.no-file { color: #888; }
td.total { font-weight: bold; }
tr.complete th.learner::after { content: " ✔"; color: #1b6e2f; }
ol { margin-top: 0.2em; }
"""
SYMBOLS = {MET: "✔", NOT_MET: "✘", NOT_CHECKED: "○", NO_FILE: "—"}


def write_html(grades: list[Grade], path: Path, title: str, summary: str) -> None:
    """Write the table as one self-contained HTML page."""
    escape = html.escape
    grouped = [(exercise, exercise.requirements.chosen(False)) for exercise in EXERCISES.values()]
    head = "".join(
        f'<th colspan="{len(requirements)}">{escape(exercise.name)} ({exercise.points} points)</th>'
        for exercise, requirements in grouped
    )
    numbers = "".join(
        f'<th title="{attribute(requirement.summary)}">{number}</th>'
        for _, requirements in grouped
        for number, requirement in enumerate(requirements, 1)
    )
    most_points = sum(exercise.points for exercise in EXERCISES.values())
    rows = []
    for learner, learner_grades in by_learner(grades).items():
        cells = [(cell(learner_grades[exercise.name], req), req) for exercise, req in columns()]
        met = sum(1 for found, _ in cells if found.result == MET)
        shown = "".join(
            f'<td class="{found.result.replace(" ", "-")}"'
            f' title="{attribute(hover_text(found, requirement))}">{SYMBOLS[found.result]}</td>'
            for found, requirement in cells
        )
        complete = ' class="complete"' if is_complete(learner_grades) else ""
        rows.append(
            f'<tr{complete}><th class="learner">{escape(learner)}</th>{shown}'
            f'<td class="total">{met} / {len(cells)}</td>'
            f'<td class="total">{points_text(points_earned(learner_grades))} / {most_points}</td>'
            "</tr>"
        )
    legend = "".join(
        f"<h3>{escape(exercise.name)}: {escape(exercise.title)}</h3><ol>"
        + "".join(f"<li>{escape(requirement.summary)}</li>" for requirement in requirements)
        + "</ol>"
        for exercise, requirements in grouped
    )
    path.write_text(
        f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(summary)}</p>
<p>✔ met, ✘ not met (hover over it to read why), — no file handed in, ○ not checked on this
system. Graded on {time.strftime("%Y-%m-%d at %H:%M")}.</p>
<table>
<thead>
<tr><th rowspan="2">Learner</th>{head}<th rowspan="2">Met</th><th rowspan="2">Points</th></tr>
<tr>{numbers}</tr>
</thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<h2>The requirements</h2>
{legend}
</body>
</html>
""",
        encoding="utf-8",
    )


def hover_text(found: Cell, requirement: Requirement) -> str:
    """What hovering over a cell shows: the requirement, its result, and why it is not met."""
    text = f"{requirement.summary}: {found.result}"
    return f"{text}.\n\n{found.detail}" if found.detail else f"{text}."


def attribute(text: str) -> str:
    """``text`` escaped for an HTML attribute, its line breaks kept for the hover text."""
    return html.escape(text, quote=True).replace("\n", "&#10;")


def summary_line(grades: list[Grade]) -> str:
    """How many learners completed everything, e.g. "5 learners, 3 exercises: 2 complete"."""
    learners = by_learner(grades)
    complete = sum(1 for learner_grades in learners.values() if is_complete(learner_grades))
    count = f"{len(learners)} learner{'' if len(learners) == 1 else 's'}"
    return (
        f"{count}, {len(EXERCISES)} exercises: {complete} complete,"
        f" {len(learners) - complete} incomplete"
    )


def write_gradebook(grades: list[Grade], out: Path, title: str) -> tuple[Path, Path, str]:
    """Write ``grades.csv`` and ``grades.html`` into ``out``; their paths and the summary."""
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "grades.csv", out / "grades.html"
    summary = summary_line(grades)
    write_csv(grades, csv_path)
    write_html(grades, html_path, title, summary)
    return csv_path, html_path, summary


async def grade_class(
    folder: str | Path,
    out: str | Path | None = None,
    time_limit: float = TIME_LIMIT,
    jobs: int | None = None,
) -> str:
    """Grade every learner in ``folder`` and write the gradebook: ``python -m chatlib grade``.

    Prints a line per file as it is graded and returns the summary line (a notebook cell can
    ``await grade_class("submissions")``).
    """
    folder = Path(folder)
    out = Path(out) if out is not None else folder
    slots = jobs or os.cpu_count() or 1
    print(f"Grading {folder}: {slots} file(s) at a time, at most {time_limit:g} s each.")

    def show(grade: Grade) -> None:
        if grade.result is not None:
            where = f"{grade.submission.learner}/{grade.submission.file.name}"
            print(f"  {where}: {grade.describe()} ({grade.seconds:.1f} s)", flush=True)

    grades = await grade_folder(folder, time_limit, slots, show, skip=(out,))
    if not grades:
        return f"No learners in {folder}: it should hold one sub-folder per learner."
    csv_path, html_path, summary = write_gradebook(grades, out, f"Grades: {folder.resolve().name}")
    return f"{summary}; results in {csv_path} and {html_path}"


def grade_from_command_line(
    folder: str, out: str | None = None, time_limit: float = TIME_LIMIT, jobs: int | None = None
) -> int:
    """``python -m chatlib grade FOLDER``: grade, write the files, print the summary line."""
    if not Path(folder).is_dir():
        print(f"There is no folder {folder}: it should hold one sub-folder per learner.")
        return 2
    try:
        print(asyncio.run(grade_class(folder, out, time_limit, jobs)))
    except KeyboardInterrupt:
        print("\nGrading interrupted: no files were written.")
        return 1
    return 0
