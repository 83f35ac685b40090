"""What checking one file found, as data: printed by the report, kept, or sent as JSON.

``python -m chatlib check --json`` prints a :class:`CheckResult` as one JSON object; the
grader reads it back, and the progress memory stores the same form. A file that cannot be
checked at all (missing, not valid Python, never ready) has a ``problem`` and no outcomes.
"""

from dataclasses import dataclass, field
from typing import Any

from chatlib.course.checks.catalogue import EXERCISES, Exercise
from chatlib.course.checks.core import Origin, Outcome


@dataclass
class CheckResult:
    """The outcome of every requirement checked, or the problem that stopped the check."""

    exercise: Exercise
    outcomes: list[Outcome] = field(default_factory=list)
    problem: str | None = None
    include_extras: bool = False

    @property
    def checked(self) -> list[Outcome]:
        """The outcomes of the requirements that could be checked on this system."""
        return [outcome for outcome in self.outcomes if outcome.met is not None]

    @property
    def not_checked(self) -> list[Outcome]:
        """The outcomes of the requirements that could not be checked here, with the reason."""
        return [outcome for outcome in self.outcomes if outcome.met is None]

    @property
    def met(self) -> int:
        """How many requirements are met."""
        return sum(1 for outcome in self.checked if outcome.met)

    @property
    def total(self) -> int:
        """How many requirements count: all the chosen ones when the file has a problem."""
        if self.problem is not None:
            return len(self.exercise.requirements.chosen(self.include_extras))
        return len(self.checked)

    @property
    def points(self) -> float:
        """The exercise's points, shared out among its requirements: those met earn theirs."""
        return self.exercise.points * self.met / self.total if self.total else 0.0

    @property
    def all_met(self) -> bool:
        """True when there is no problem and every checked requirement is met."""
        return self.problem is None and self.met == self.total

    @property
    def assignment_met(self) -> bool:
        """True when there is no problem and every checked requirement of the assignment's own
        text is met: good practice and extras may still be unmet."""
        return self.problem is None and all(
            outcome.met
            for outcome in self.checked
            if outcome.requirement.origin is Origin.ASSIGNMENT
        )

    def to_json(self) -> dict[str, Any]:
        """The result as plain data, for ``--json`` and the progress memory."""
        return {
            "exercise": self.exercise.name,
            "problem": self.problem,
            "met": self.met,
            "total": self.total,
            "all_met": self.all_met,
            "assignment_met": self.assignment_met,
            "points": round(self.points, 2),
            "requirements": [
                {
                    "key": outcome.requirement.key,
                    "summary": outcome.requirement.summary,
                    # "assignment", "good practice" or "extra": a grader may weigh them. (The
                    # key stays "kind": graders' scripts read it.)
                    "kind": outcome.requirement.origin.value,
                    "met": outcome.met,
                    "detail": outcome.detail,
                }
                for outcome in self.outcomes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CheckResult":
        """Read back what :meth:`to_json` wrote; requirements unknown today are left out."""
        exercise = EXERCISES[data["exercise"]]
        by_key = {requirement.key: requirement for requirement in exercise.requirements}
        outcomes = [
            Outcome(by_key[item["key"]], item["met"], item["detail"])
            for item in data["requirements"]
            if item["key"] in by_key
        ]
        extras = any(outcome.requirement.extra for outcome in outcomes)
        return cls(exercise, outcomes, data["problem"], extras)
