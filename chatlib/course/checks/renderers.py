"""How a check is shown as it runs: in a terminal, compactly in watch mode, as JSON, in a notebook.

The check pipeline (:func:`chatlib.course.checks.pipeline.check`) tells a renderer three things:
the check begins, one requirement's outcome came in (as each comes), and the final result.
A renderer only shows; it neither runs checks nor keeps results.

- :class:`TerminalReport`: one line per requirement; under each unmet one what happened and
  a hint; then the total and the next step. ``watching=True`` is watch mode's compact form:
  details and hint under the first unmet requirement only, where the learner looks next.
- :class:`JsonReport`: the result as one JSON object (``check --json``, read by ``grade``).
- :class:`NotebookReport`: a table in the notebook, filled in as results come in.
- :class:`Renderer` itself shows nothing (``progress`` checks quietly).
"""

import html
import json
import sys
import textwrap
import time
from typing import Any

from chatlib.commands import in_kernel
from chatlib.course.checks.catalogue import Exercise
from chatlib.course.checks.core import Outcome, Requirement
from chatlib.course.checks.results import CheckResult


class Renderer:
    """Shows a check as it runs; this base shows nothing."""

    def begin(self, exercise: Exercise, subject: str, requirements: list[Requirement]) -> None:
        """The check of ``subject`` (a file's name, "the handler shout()") starts."""

    def outcome(self, outcome: Outcome) -> None:
        """One requirement's result, as soon as it is known."""

    def end(self, result: CheckResult) -> None:
        """Every result is in (or a problem stopped the check)."""


# The marks of a requirement met, not met and not checked, in every report and the gradebook.
MET_MARK, NOT_MET_MARK, NOT_CHECKED_MARK = "✔", "✘", "○"


def marks() -> tuple[str, str, str]:
    """Symbols for met / not met / not checked, in plain ASCII where the console needs it."""
    try:
        (MET_MARK + NOT_MET_MARK + NOT_CHECKED_MARK).encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "[ok]", "[  ]", "[--]"
    return MET_MARK, NOT_MET_MARK, NOT_CHECKED_MARK


def labelled(requirement: Requirement) -> str:
    """The requirement's summary, with "(good practice)" after a rule from the common mistakes.

    The assignment's own requirements carry no label: they are the rule, the others the
    exception a learner should know about.
    """
    if requirement.good_practice:
        return f"{requirement.summary} (good practice)"
    return requirement.summary


def outcome_text(outcome: Outcome, detail: bool = True, hint: bool = True) -> str:
    """One requirement's line; under an unmet one, what happened and the hint, when asked for."""
    met, not_met, not_checked = marks()
    summary = labelled(outcome.requirement)
    requirement = outcome.requirement
    if outcome.met:
        return f"  {met} {summary}"
    if outcome.met is None:
        return f"  {not_checked} {summary} (not checked: {outcome.detail})"
    lines = [f"  {not_met} {summary}"]
    if detail and outcome.detail:
        lines.append(textwrap.indent(outcome.detail, "      "))
    if hint:
        lines.append(f"      Hint: {requirement.hint}")
    return "\n".join(lines)


# How a report ends once every requirement is met: "All 6 requirements met. Well done!".
ALL_MET = "requirements met. Well done!"


def total_text(result: CheckResult, next_step: str, advice: str) -> str:
    """The closing lines: how many requirements are met, and what to do now."""
    if result.all_met:
        return f"All {result.met} {ALL_MET}\n{next_step}"
    counted = f"{result.met} of {result.total} requirements met."
    if result.assignment_met:
        # Said first: the program does what the assignment asks; what is left is advice.
        counted += " The assignment's own requirements are all met: what is left is good practice."
    return f"{counted} {advice}"


class TerminalReport(Renderer):
    """The report printed in a terminal, a line at a time as results come in.

    ``watching``: watch mode's compact form, with the time of the check and the advice to
    save rather than rerun; ``all_hints`` adds the hint under every unmet requirement there.
    ``next_step`` replaces the exercise's own (watch mode goes on to the next exercise).
    """

    def __init__(
        self, watching: bool = False, all_hints: bool = False, next_step: str | None = None
    ) -> None:
        self.watching = watching
        self.all_hints = all_hints
        self.next_step = next_step
        self.unmet = 0

    def begin(self, exercise: Exercise, subject: str, requirements: list[Requirement]) -> None:
        self.unmet = 0
        at = f", at {time.strftime('%H:%M:%S')}" if self.watching else ""
        print(f"Checking {subject}: {exercise.title}{at}\n", flush=True)

    def outcome(self, outcome: Outcome) -> None:
        if outcome.met is False:
            self.unmet += 1
        first_unmet = self.unmet == 1 and outcome.met is False
        detail = first_unmet or not self.watching
        print(outcome_text(outcome, detail, hint=detail or self.all_hints), flush=True)

    def end(self, result: CheckResult) -> None:
        if result.problem is not None:
            print(result.problem, flush=True)
            return
        advice = (
            "Fix the first unmet one and save."
            if self.watching
            else "Fix the first unmet one, save, and rerun."
        )
        next_step = self.next_step or result.exercise.next_step
        print(f"\n{total_text(result, next_step, advice)}", flush=True)


class JsonReport(Renderer):
    """The result as one JSON object on one line, once every result is in (see ``results``)."""

    def end(self, result: CheckResult) -> None:
        print(json.dumps(result.to_json()), flush=True)


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    return in_kernel()


# Why a requirement has no outcome once the check has ended: a problem stopped it first.
NEVER_REACHED = "the check stopped before it (see below)"

# JupyterLab right-aligns table cells by default; a report reads from the left, top down.
CELL_STYLE = "text-align: left; vertical-align: top"


class NotebookReport(Renderer):
    """A table under the cell, one row per requirement, updated as each result comes in.

    Rows wait with "…" until their requirement is checked; a row still waiting when the check
    ends (a program that would not start stops it) says it was not checked, and why. The same
    report is sent as plain text too, for whatever cannot show HTML. Outside a kernel, use
    :func:`notebook_report`.
    """

    def __init__(self) -> None:
        self.title = ""
        self.rows: dict[str, Requirement | Outcome] = {}
        self.closing = ""
        self.handle: Any = None

    def begin(self, exercise: Exercise, subject: str, requirements: list[Requirement]) -> None:
        from IPython.display import display

        self.title = f"Checking {subject}: {exercise.title}"
        self.rows = {requirement.key: requirement for requirement in requirements}
        self.handle = display(self.bundle(), raw=True, display_id=True)

    def outcome(self, outcome: Outcome) -> None:
        self.rows[outcome.requirement.key] = outcome
        self.handle.update(self.bundle(), raw=True)

    def end(self, result: CheckResult) -> None:
        advice = "Fix the first unmet one, save, and run this cell again."
        self.closing = result.problem or total_text(result, result.exercise.next_step, advice)
        for key, row in self.rows.items():
            if not isinstance(row, Outcome):
                self.rows[key] = Outcome(row, None, NEVER_REACHED)
        self.handle.update(self.bundle(), raw=True)

    def bundle(self) -> dict[str, str]:
        """The report as HTML and as plain text."""
        return {"text/html": self.html(), "text/plain": self.text()}

    def text(self) -> str:
        lines = [self.title, ""]
        for row in self.rows.values():
            if isinstance(row, Outcome):
                lines.append(outcome_text(row))
            else:
                lines.append(f"  … {labelled(row)}")
        return "\n".join([*lines, "", self.closing]).rstrip()

    def html(self) -> str:
        escape = html.escape
        rows = "".join(self.html_row(row) for row in self.rows.values())
        closing = escape(self.closing).replace("\n", "<br>")
        return f"<div><p><b>{escape(self.title)}</b></p><table>{rows}</table><p>{closing}</p></div>"

    def html_row(self, row: Requirement | Outcome) -> str:
        """One requirement: its mark, its summary and, when unmet, what happened and the hint."""
        escape = html.escape
        cell = f'<td style="{CELL_STYLE}">'
        if not isinstance(row, Outcome):
            return f"<tr>{cell}…</td>{cell}{escape(labelled(row))}</td>{cell}</td></tr>"
        met, not_met, not_checked = marks()
        if row.met:
            mark, colour, said = met, "#1b6e2f", ""
        elif row.met is None:
            mark, colour, said = not_checked, "#888", f"Not checked: {escape(row.detail)}"
        else:
            hint = f"<i>Hint: {escape(row.requirement.hint)}</i>"
            mark, colour, said = not_met, "#b3261e", f"{escape(row.detail)}<br>{hint}"
        return (
            f'<tr><td style="{CELL_STYLE}; color: {colour}">{mark}</td>'
            f"{cell}{escape(labelled(row.requirement))}</td>"
            f'<td style="{CELL_STYLE}; white-space: pre-wrap">{said}</td></tr>'
        )


def notebook_report() -> Renderer:
    """A :class:`NotebookReport` inside a kernel; the terminal's report anywhere else."""
    return NotebookReport() if in_notebook() else TerminalReport()
