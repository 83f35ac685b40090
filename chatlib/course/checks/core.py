"""The building blocks of the checks: requirements, their outcomes, and how one is run.

A *requirement* is one thing the exercise asks for ("the sender does not get its own message
back"), written as an async function that drives the running program over real connections
and raises :class:`CheckFailed` with a message that says what was sent, what was expected
and what arrived. The same functions serve the learner's checker, the project's tests, and
the proof that every untouched starter still fails.
"""

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from websockets.exceptions import WebSocketException

from chatlib.course.harness import on_windows as on_windows  # Requirements ask it here.
from chatlib.course.participants import ARRIVAL_LIMIT, ConversationFailed
from chatlib.course.wording import error_text

# How long a server may leave a ping unanswered while it serves someone else. A server that
# gives way at every await answers in a few milliseconds even on a busy machine; one that
# blocks its event loop (time.sleep in a handler) answers only when the block ends.
RESPONSIVE_LIMIT = 0.5
# The hint of every "stays responsive" requirement: the mistake is the same in every server.
BLOCKED_LOOP_HINT = (
    "Never block the event loop in a handler: time.sleep() or a long computation freezes"
    " every connection at once. Wait with `await asyncio.sleep()`, and run slow work with"
    " `await asyncio.to_thread(...)`."
)
# No single requirement may take longer than this, even if the program under test hangs.
REQUIREMENT_TIME_LIMIT = 15.0


async def longest_wait_seen_twice(scene: Callable[[], Awaitable[float]]) -> float:
    """Play a timed ``scene`` (it returns the longest wait it saw, in s); replay it once if
    that wait was over :data:`RESPONSIVE_LIMIT`; the shorter of the two waits.

    A server that blocks its event loop blocks it every time the scene is played, so it is
    over the limit twice. A busy machine (another program took the core for a moment, or the
    checker itself was busy checking something else) rarely delays the same scene twice: a
    correct server is not refused for one slow moment of the machine, and a quick server
    costs one scene only.
    """
    waited = await scene()
    if waited > RESPONSIVE_LIMIT:
        waited = min(waited, await scene())
    return waited


class CheckFailed(Exception):
    """A requirement is not met. The message is written for the learner."""


class NotCheckedHere(Exception):
    """A requirement that cannot be checked on this system (e.g. signals on Windows)."""


class ProgramProblem(Exception):
    """The program cannot be checked at all: it does not start, or it is not valid Python.

    The message is one friendly paragraph that names the file, the line and what to do.
    """


Check = Callable[[Any], Awaitable[None]]


class Origin(StrEnum):
    """Where a requirement comes from; its value is the word a report and a grader read."""

    ASSIGNMENT = "assignment"  # The assignment's own text.
    GOOD_PRACTICE = "good practice"  # The syllabus' common mistakes (do not block the loop).
    EXTRA = "extra"  # A rule of chatlib's fuller reference, beyond the assignment.


@dataclass(frozen=True)
class Requirement:
    """One requirement of an exercise, and the check that proves it."""

    key: str  # The check function's name, e.g. "sender_does_not_receive_own_message".
    summary: str  # One line for the report, e.g. "The sender does not get its own message back".
    hint: str  # Points to the concept, not to the answer.
    check: Check
    extra: bool = False  # A rule of chatlib's fuller reference, beyond the assignment.
    # True for a rule that comes from the syllabus' "common mistakes" (do not block the event
    # loop, forget who left) rather than from the assignment's text: the report says so.
    good_practice: bool = False
    # The key of an earlier requirement this one builds on: while that one is not met,
    # this one is reported as not checked yet instead of failing slowly for the same reason.
    needs: str | None = None
    # The longest the check may take, a guard against a program that hangs. A check that does
    # a fixed amount of work, each step bounded on its own, may get more (see the memory check).
    time_limit: float = REQUIREMENT_TIME_LIMIT

    @property
    def origin(self) -> "Origin":
        """Where the rule comes from: the assignment, good practice, or chatlib's extras."""
        if self.extra:
            return Origin.EXTRA
        return Origin.GOOD_PRACTICE if self.good_practice else Origin.ASSIGNMENT


class Requirements(list[Requirement]):
    """An exercise's requirements, in the order a learner meets them.

    Register a check with the decorator::

        @REQUIREMENTS.requirement("The sender does not get its own message back", hint="...")
        async def sender_does_not_receive_own_message(server): ...

    ``environment`` holds variables the program under test is started with, for an exercise
    whose program reads its settings there (a room's token).
    """

    def __init__(self, environment: dict[str, str] | None = None) -> None:
        super().__init__()
        self.environment = dict(environment or {})

    def requirement(
        self,
        summary: str,
        *,
        hint: str,
        extra: bool = False,
        good_practice: bool = False,
        needs: Check | None = None,
        time_limit: float = REQUIREMENT_TIME_LIMIT,
    ):
        """Register the decorated check function as a requirement.

        ``good_practice`` marks a rule from the syllabus' common mistakes rather than from
        the assignment's text; ``needs`` is the check of an earlier requirement that this one
        builds on; ``time_limit`` replaces :data:`REQUIREMENT_TIME_LIMIT` for it.
        """
        if needs is not None and needs.__name__ not in {r.key for r in self}:
            raise ValueError(f"{needs.__name__} must be registered before what needs it")

        def register(check: Check) -> Check:
            prerequisite = needs.__name__ if needs is not None else None
            self.append(
                Requirement(
                    check.__name__,
                    summary,
                    hint,
                    check,
                    extra,
                    good_practice,
                    prerequisite,
                    time_limit,
                )
            )
            return check

        return register

    def chosen(self, include_extras: bool) -> list[Requirement]:
        """The assignment's requirements, plus the reference's extras when asked for."""
        return [requirement for requirement in self if include_extras or not requirement.extra]


@dataclass(frozen=True)
class Outcome:
    """What checking one requirement found: met, not met (with details), or not checked."""

    requirement: Requirement
    met: bool | None  # None: not checked on this system.
    detail: str = ""


def no_answer_text(error: TimeoutError) -> str:
    """A timeout in words: what it said, or that the program did not answer in time."""
    said = str(error)
    if said:
        return f"The program did not answer in time ({said})."
    return (
        f"The program did not answer within {ARRIVAL_LIMIT:g} s (or a few seconds for a"
        " connection). Is something in it blocking the event loop, or waiting for a key press?"
    )


async def run_requirement(
    requirement: Requirement, start_target: Callable[[], AbstractAsyncContextManager[Any]]
) -> Outcome:
    """Check one requirement against a fresh instance of the program under test.

    ``start_target()`` is an async context manager that starts the program (and whatever it
    needs) and yields the object the check drives; a fresh program for every requirement
    means one failure cannot spoil the next check. :class:`ProgramProblem` is not caught:
    when the program cannot even start, no requirement can be checked.

    What the program itself reported (a traceback, a coroutine never awaited) is added to a
    failure only once the program is stopped, when everything it wrote has been read; a
    mistake that would fail every check alike (see ``fatal_problem``) ends the check there.
    """
    target = None
    try:
        async with asyncio.timeout(requirement.time_limit), start_target() as target:
            outcome = await attempt(requirement, target)
    except TimeoutError:
        outcome = Outcome(
            requirement,
            False,
            f"This check did not finish within {requirement.time_limit:g} s. Is the program"
            " waiting for something that never comes (a message, a key press)?",
        )
    if outcome.met is False and target is not None:
        fatal = target.fatal_problem()
        if fatal is not None:
            raise fatal
        outcome = with_diagnosis(outcome, target.diagnosis())
    return outcome


async def attempt(requirement: Requirement, target: Any) -> Outcome:
    """Run the requirement's check on ``target``; what it found, without the program's report."""
    try:
        await requirement.check(target)
    except (CheckFailed, ConversationFailed) as failure:
        # A participant that could not do its part (connect, send, hear a line) is a
        # requirement not met: its message says what happened.
        return Outcome(requirement, False, str(failure))
    except NotCheckedHere as reason:
        return Outcome(requirement, None, str(reason))
    except TimeoutError as error:
        # An internal wait gave up (a handshake, a closing handshake): its text may be empty.
        return Outcome(requirement, False, no_answer_text(error))
    except (OSError, WebSocketException) as error:
        return Outcome(
            requirement, False, f"A connection failed unexpectedly ({error_text(error)})."
        )
    return Outcome(requirement, True)


def with_diagnosis(outcome: Outcome, diagnosis: str) -> Outcome:
    """``outcome`` with what the program under test reported added under its detail."""
    if not diagnosis:
        return outcome
    detail = f"{outcome.detail}\n{diagnosis}" if outcome.detail else diagnosis
    return Outcome(outcome.requirement, outcome.met, detail)
