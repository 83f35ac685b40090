"""Programs written the way learners really write them are checked on what they do.

``tests/realworld/`` holds small programs in the styles found in the wild: the syllabus'
fixed ``localhost:8765`` with a banner of its own, tutorials for websockets 10 and older,
asyncio's older idioms, ``sys.argv`` read by hand, input read in a thread, an executor or
``asyncio.to_thread``, a chat assistant's class with logging. Each one has its verdict and
words its report must contain: a correct one passes the assignment (good practice may still
be unmet), a wrong one is told its real mistake first, with the fix.

Every check runs while something else listens on the course's port 8765, as when the
learner's own server is running: no program here may depend on that port being free.
"""

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatlib import DEFAULT_PORT
from chatlib.course.checks import EXERCISES
from chatlib.course.checks.pipeline import Program, check
from chatlib.course.checks.results import CheckResult

CORPUS = Path(__file__).parent / "realworld"
AT_ONCE = 3  # Checks at the same time: most of a check waits; more made timings flaky.
PASSES = "assignment met"  # The verdict of a program that meets every assignment requirement.
PROBLEM = "problem"  # The verdict of a program that cannot be checked at all (it says why).


@dataclass(frozen=True)
class Case:
    """One program of the corpus and what the checker must say of it.

    ``verdict`` is :data:`PASSES`, :data:`PROBLEM`, or the key of the first requirement
    of the assignment found unmet; ``says`` are words the report must contain.
    """

    file: str
    exercise: str
    verdict: str
    says: tuple[str, ...] = ()
    # A good-practice requirement it must be told it misses, when it meets the assignment.
    unmet_good_practice: str = ""


UPPER, CHAT, CLIENT = "uppercase_server", "chat_server", "chat_client"
CASES = [
    Case("up_syllabus_fixed_port.py", UPPER, PASSES),
    Case("up_legacy_import.py", UPPER, PASSES, ("websockets.server.serve is deprecated",)),
    Case("up_path_handler.py", UPPER, PROBLEM, ("websocket.request.path",)),
    Case("up_module_level_serve.py", UPPER, PROBLEM, ("asyncio.run(main())", "line 10")),
    Case("up_argv_by_hand.py", UPPER, PASSES, ("ValueError",)),
    Case("up_time_sleep.py", UPPER, "stays_responsive_while_serving", ("ping waited",)),
    Case("up_title_case.py", UPPER, "replies_in_upper_case", ('"Hello, Websockets"',)),
    Case("up_loop_run_until_complete.py", UPPER, PASSES),
    Case("up_missing_module.py", UPPER, PROBLEM, ("colorama",)),
    Case("up_sync_server.py", UPPER, PASSES),
    Case("shadowed/uppercase_server.py", UPPER, PROBLEM, ("hides the library",)),
    Case("chat_syllabus.py", CHAT, PASSES),
    Case("chat_path_handler.py", CHAT, PROBLEM, ("async def handler(websocket):",)),
    Case("chat_module_level.py", CHAT, PROBLEM, ("async with serve(",)),
    Case("chat_echo_everyone.py", CHAT, "sender_does_not_receive_own_message", ("Alice: Hi",)),
    Case("chat_await_broadcast.py", CHAT, "every_message_is_relayed", ("without `await`",)),
    Case(
        "chat_wait_coroutines.py", CHAT, "every_other_client_receives_the_message", ("create_task",)
    ),
    Case("chat_ws_open.py", CHAT, "every_other_client_receives_the_message", ("websocket.state",)),
    Case(
        "chat_anti_spam_sleep.py",
        CHAT,
        PASSES,
        ("a burst of 10 messages",),
        unmet_good_practice="stays_responsive_while_relaying",
    ),
    Case("chat_no_departure.py", CHAT, "departure_is_announced"),
    Case(
        "chat_departure_own_words.py",
        CHAT,
        "departure_notice_has_the_assignments_shape",
        ("*** Alice left the room ***",),
    ),
    Case("chat_legacy_api.py", CHAT, PASSES),
    Case("chat_assistant_style.py", CHAT, PASSES),
    Case("shadowed/chat_server.py", CHAT, PROBLEM, ("websockets.py",)),
    Case("client_to_thread_hardcoded.py", CLIENT, PASSES),
    Case("client_input_on_loop.py", CLIENT, "shows_messages_while_idle"),
    Case("client_executor_argv.py", CLIENT, PASSES),
    Case("client_thread_queue.py", CLIENT, PASSES),
    Case("client_sync_threads.py", CLIENT, PASSES),
    Case("client_legacy_connect.py", CLIENT, PASSES),
    Case("client_reads_after_enter.py", CLIENT, "shows_messages_while_idle"),
]


def verdict_of(result: CheckResult) -> str:
    """What the checker concluded, in the terms of :class:`Case`.

    A program that meets the assignment passes even where good practice is not met; else
    the verdict is the first unmet requirement, as the report shows it first.
    """
    if result.problem is not None:
        return PROBLEM
    if result.assignment_met:
        return PASSES
    return next(outcome for outcome in result.outcomes if outcome.met is False).requirement.key


def report_text(result: CheckResult) -> str:
    """Everything the report says: the problem, or each outcome's detail."""
    return result.problem or "\n".join(outcome.detail for outcome in result.outcomes)


def first_line(result: CheckResult) -> str:
    """The report's first line that says something: the problem's, or the first unmet one's."""
    if result.problem:
        return result.problem.splitlines()[1].strip()
    unmet = [outcome for outcome in result.outcomes if outcome.met is False]
    return unmet[0].detail.splitlines()[0] if unmet else "all met"


@contextlib.contextmanager
def default_port_taken() -> Iterator[None]:
    """Something listens on 8765 for the block (this, or whatever already did)."""
    with socket.socket() as holder:
        with contextlib.suppress(OSError):  # Already taken: by something else, just as well.
            holder.bind(("127.0.0.1", DEFAULT_PORT))
            holder.listen()
        yield


def case_problem(case: Case, result: CheckResult) -> str | None:
    """Why the checker's report on ``case`` is wrong, or ``None``."""
    verdict, text = verdict_of(result), report_text(result)
    if verdict != case.verdict:
        return f"{case.file}: {verdict}, expected {case.verdict}: {first_line(result)}"
    unmet = [outcome.requirement.key for outcome in result.outcomes if outcome.met is False]
    if case.unmet_good_practice and unmet[:1] != [case.unmet_good_practice]:
        return f"{case.file}: should first be told {case.unmet_good_practice}; unmet: {unmet}"
    missing = [words for words in case.says if words not in text]
    if missing:
        return f"{case.file}: the report should say {missing}; it says {text!r}"
    if "Traceback" in text or "During handling" in text:
        return f"{case.file}: the report shows a traceback: {text!r}"
    return None


@pytest.mark.xdist_group("many-checks-at-once")  # With tests/test_mutants.py: see there.
@pytest.mark.timeout(900)
async def test_each_real_world_program_gets_its_verdict_and_its_words() -> None:
    slots = asyncio.Semaphore(AT_ONCE)

    async def checked(case: Case) -> CheckResult:
        async with slots:
            return await check(EXERCISES[case.exercise], Program.file(CORPUS / case.file))

    with default_port_taken():
        results = await asyncio.gather(*(checked(case) for case in CASES))
    problems = [case_problem(case, result) for case, result in zip(CASES, results, strict=True)]
    problems = [problem for problem in problems if problem]
    assert not problems, "\n".join(problems)


def test_the_corpus_is_large_and_every_file_has_a_verdict() -> None:
    files = {str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*.py")}
    files.discard("shadowed/websockets.py")  # Not a program: the file that hides the library.
    assert len(CASES) >= 25
    assert files == {case.file for case in CASES}
