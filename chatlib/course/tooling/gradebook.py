"""The grades of a class as files: CSVs for spreadsheets and gradebooks, an HTML table to read,
and a feedback file per learner.

``grades-wide.csv`` is what a gradebook imports: one row per learner, and for each exercise
its points and its status (complete, incomplete, no file, crashed, timed out, or not checked
with the reason), then the points, days late, late penalty, total, maximum and percent. Its
first row under the header is "Points Possible" (Canvas's name for it), as otter writes it.

``grades.csv`` has one row per learner, exercise and requirement (the "long" layout, which
a spreadsheet's pivot table turns into any view): ``learner``, ``exercise``,
``requirement`` (its key), ``summary``, ``result`` (met, not met, not checked, or no file)
and ``detail`` (why it is not met). ``grades.html`` is one self-contained page (no script,
no external file): a table with a row per learner and a column per requirement, ✔, ✘, ○ or —
in each cell, the failure message on hover, and each learner's points (an exercise's points
are shared out among its requirements). Everything a learner wrote is escaped.

:func:`grade_class` grades a folder and writes every file: ``python -m chatlib grade``.
"""

import asyncio
import csv
import html
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from chatlib.course.checks.catalogue import EXERCISES, Exercise
from chatlib.course.checks.core import Requirement
from chatlib.course.checks.renderers import MET_MARK, NOT_CHECKED_MARK, NOT_MET_MARK
from chatlib.course.tooling.feedback import write_feedback
from chatlib.course.tooling.grading import (
    NO_DEADLINE,
    NO_FILE,
    NOT_CHECKED,
    TIME_LIMIT,
    Grade,
    LatePolicy,
    Standing,
    Submission,
    grade_submissions,
    points_text,
)
from chatlib.course.tooling.submissions import Collected, Learner, Unpacked, collect, parse_time

MET, NOT_MET = "met", "not met"
POINTS_POSSIBLE = "Points Possible"  # The first row's label, as Canvas's gradebook names it.
FEEDBACK_FOLDER = "feedback"  # In the output folder: a file per learner.
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


def most_points() -> int:
    """The assignment's points: every exercise's."""
    return sum(exercise.points for exercise in EXERCISES.values())


def standings(
    grades: list[Grade], learners: dict[str, Learner], policy: LatePolicy
) -> list[Standing]:
    """Each learner's standing, in the order of ``grades``."""
    found = []
    for name, learner_grades in by_learner(grades).items():
        learner = learners.get(name)
        submitted = learner.submitted if learner is not None else None
        days = policy.days_late(submitted)
        points = points_earned(learner_grades)
        penalty = points * policy.share_lost(days)
        found.append(Standing(name, learner_grades, submitted, days, points, penalty))
    return found


def write_wide_csv(rows: list[Standing], path: Path) -> None:
    """Write the gradebook CSV: a row per learner, points and status per exercise, totals."""
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        header = ["learner"]
        possible = [POINTS_POSSIBLE]
        for exercise in EXERCISES.values():
            header += [f"{exercise.name} points", f"{exercise.name} status"]
            possible += [exercise.points, ""]
        header += ["points", "days late", "late penalty", "total", "maximum", "percent"]
        possible += [most_points(), "", "", most_points(), most_points(), 100]
        writer.writerow(header)
        writer.writerow(possible)
        for standing in rows:
            row: list[object] = [inert(standing.learner)]
            for name in EXERCISES:
                grade = standing.grades[name]
                earned = grade.result.points if grade.result else 0.0
                row += [rounded(earned), inert(grade.status)]
            row += [
                rounded(standing.points),
                standing.days_late,
                rounded(standing.penalty),
                rounded(standing.total),
                most_points(),
                rounded(100 * standing.total / most_points()),
            ]
            writer.writerow(row)


def rounded(points: float) -> float:
    """Points for a gradebook: two decimals, no trailing noise (3.3333 is 3.33)."""
    return round(points, 2)


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
NO_FILE_MARK = "—"
SYMBOLS = {
    MET: MET_MARK,
    NOT_MET: NOT_MET_MARK,
    NOT_CHECKED: NOT_CHECKED_MARK,
    NO_FILE: NO_FILE_MARK,
}


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
    most = most_points()
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
            f'<td class="total">{points_text(points_earned(learner_grades))} / {most}</td>'
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
<p>{MET_MARK} met, {NOT_MET_MARK} not met (hover over it to read why), {NO_FILE_MARK} no file
handed in, {NOT_CHECKED_MARK} not checked on this system.
Graded on {time.strftime("%Y-%m-%d at %H:%M")}.</p>
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


def counted(number: int, thing: str) -> str:
    """ "1 learner", "5 learners"."""
    return f"{number} {thing}{'' if number == 1 else 's'}"


def summary_line(grades: list[Grade]) -> str:
    """How many learners completed everything, e.g. "5 learners, 3 exercises: 2 complete"."""
    learners = by_learner(grades)
    complete = sum(1 for learner_grades in learners.values() if is_complete(learner_grades))
    count = counted(len(learners), "learner")
    return (
        f"{count}, {len(EXERCISES)} exercises: {complete} complete,"
        f" {len(learners) - complete} incomplete"
    )


def write_gradebook(
    grades: list[Grade],
    out: Path,
    title: str,
    learners: dict[str, Learner] | None = None,
    policy: LatePolicy = NO_DEADLINE,
) -> tuple[list[Path], str]:
    """Write every file of the gradebook into ``out``; their paths and the summary line.

    ``grades.csv`` (long), ``grades-wide.csv`` (for gradebooks), ``grades.html`` and a
    ``feedback/`` folder with a file per learner.
    """
    out.mkdir(parents=True, exist_ok=True)
    csv_path, wide_path, html_path = (
        out / "grades.csv",
        out / "grades-wide.csv",
        out / "grades.html",
    )
    summary = summary_line(grades)
    rows = standings(grades, learners or {}, policy)
    write_csv(grades, csv_path)
    write_wide_csv(rows, wide_path)
    write_html(grades, html_path, title, summary)
    feedback = write_feedback(rows, out / FEEDBACK_FOLDER, policy)
    return [csv_path, wide_path, html_path, feedback], summary


def submissions_of(learners: list[Learner]) -> list[Submission]:
    """Every learner's (possible) file for every exercise, in the course's order."""
    return [
        Submission(learner.name, exercise, learner.files.get(exercise.name))
        for learner in learners
        for exercise in EXERCISES.values()
    ]


async def grade_collected(
    found: Collected,
    out: Path,
    title: str,
    time_limit: float = TIME_LIMIT,
    jobs: int | None = None,
    policy: LatePolicy = NO_DEADLINE,
) -> str:
    """Grade the learners found and write the gradebook; the closing line."""
    slots = jobs or os.cpu_count() or 1
    print(
        f"Grading {counted(len(found.learners), 'learner')}: {slots} file(s) at a time, at"
        f" most {time_limit:g} s each."
    )
    for note in found.notes:
        print(f"  Note: {note}")

    def show(grade: Grade) -> None:
        if grade.result is not None:
            where = f"{grade.submission.learner}/{grade.submission.exercise.file_name}"
            print(f"  {where}: {grade.describe()} ({grade.seconds:.1f} s)", flush=True)

    grades = await grade_submissions(submissions_of(found.learners), time_limit, slots, show)
    learners = {learner.name: learner for learner in found.learners}
    paths, summary = write_gradebook(grades, out, title, learners, policy)
    notes = f" ({counted(len(found.notes), 'note')} above)" if found.notes else ""
    where = ", ".join(str(path) for path in paths)
    return f"{summary}{notes}; results in {where}"


async def grade_class(
    source: str | Path,
    out: str | Path | None = None,
    time_limit: float = TIME_LIMIT,
    jobs: int | None = None,
    policy: LatePolicy = NO_DEADLINE,
) -> str:
    """Grade every learner in ``source`` and write the gradebook: ``python -m chatlib grade``.

    ``source`` is a folder or a zip file, in any layout :mod:`chatlib.course.tooling.submissions`
    reads. Prints a line per file as it is graded and returns the summary line (a notebook
    cell can ``await grade_class("submissions")``). A zip's gradebook goes next to it,
    in ``NAME-grades/``, unless ``out`` says otherwise.
    """
    source = Path(source)
    title = f"Grades: {source.resolve().stem}"
    if zipfile.is_zipfile(source):
        out = Path(out) if out is not None else source.with_name(f"{source.stem}-grades")
        with Unpacked(source) as unpacked:
            found = collect(unpacked.root)
            found.notes[:0] = unpacked.notes
            return await finish(found, out, title, time_limit, jobs, policy, source)
    out = Path(out) if out is not None else source
    found = collect(source, skip=(out / FEEDBACK_FOLDER, out))
    return await finish(found, out, title, time_limit, jobs, policy, source)


async def finish(
    found: Collected,
    out: Path,
    title: str,
    time_limit: float,
    jobs: int | None,
    policy: LatePolicy,
    source: Path,
) -> str:
    """Grade what was found, or say why there is nothing to grade."""
    if not found.learners:
        for note in found.notes:
            print(f"  Note: {note}")
        return (
            f"No learners in {source}: it should hold a folder per learner, or files named"
            " like lee_ann_12345_chat_server.py."
        )
    return await grade_collected(found, out, title, time_limit, jobs, policy)


def grade_from_command_line(
    folder: str,
    out: str | None = None,
    time_limit: float = TIME_LIMIT,
    jobs: int | None = None,
    due: str | None = None,
    late_penalty: float = 0.0,
) -> int:
    """``python -m chatlib grade FOLDER``: grade, write the files, print the summary line."""
    source = Path(folder)
    if not source.is_dir() and not zipfile.is_zipfile(source):
        print(f"There is no folder or zip file {folder}: it should hold the learners' files.")
        return 2
    if late_penalty and not due:
        print("--late-penalty needs --due: the date after which a day late costs points.")
        return 2
    try:
        policy = LatePolicy(parse_time(due) if due else None, late_penalty)
    except ValueError:
        print(f"--due {due}: not a date; write it like 2026-12-01 23:59 (or 2026-12-01T23:59).")
        return 2
    try:
        print(asyncio.run(grade_class(source, out, time_limit, jobs, policy)))
    except KeyboardInterrupt:
        print("\nGrading interrupted: no files were written.")
        return 1
    except zipfile.BadZipFile as error:
        print(f"{folder} cannot be unpacked ({error}): download it again, or unpack it yourself.")
        return 2
    return 0
