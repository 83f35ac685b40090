"""One spec, three uses: the same checks that learners run prove the project's own programs.

- chatlib's reference programs meet every requirement, the extras included;
- every solution meets every requirement of the assignment;
- every untouched starter fails its checks, and the checker reports it without crashing;
- a broken learner file (syntax error, crash, hang, exception in the handler) gets a friendly
  report that names the file and the line, never the checker's own traceback.
"""

import asyncio
import contextlib
import itertools
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from chatlib import DEFAULT_PORT
from chatlib.course.checks import EXERCISES, Exercise, Requirement
from chatlib.course.checks.catalogue import COURSE_FINISHED, Kind, next_exercise
from chatlib.course.checks.core import (
    CheckFailed,
    Origin,
    Outcome,
    Requirements,
    error_text,
    run_requirement,
)
from chatlib.course.checks.diagnosis import explain_traceback
from chatlib.course.checks.pipeline import Program, check
from chatlib.course.checks.renderers import NotebookReport, outcome_text
from chatlib.course.checks.results import CheckResult
from chatlib.course.folders import learner_file, solution_file
from chatlib.course.wording import quoted_lines

ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT = 120  # seconds for a whole `python -m chatlib check` run
CHAT_SERVER = EXERCISES["chat_server"]


def requirement_cases(include_extras: bool, only_with_reference: bool = False) -> list:
    """One pytest case per (exercise, requirement), named after the requirement."""
    return [
        pytest.param(exercise, requirement, id=f"{exercise.name}-{requirement.key}")
        for exercise in EXERCISES.values()
        if exercise.has_reference or not only_with_reference
        for requirement in exercise.requirements.chosen(include_extras)
    ]


def starter_file(exercise: Exercise) -> Path:
    """The untouched starter: chatlib's original, never the learner's copy in exercises/,
    which the learner edits (tests/course_material.py says why)."""
    return ROOT / "chatlib" / "course" / "starters" / exercise.file_name


def course_with_starter(folder: Path, exercise: Exercise) -> Path:
    """A course folder at ``folder`` whose exercises/ holds the untouched starter."""
    (folder / "exercises").mkdir()
    shutil.copy(starter_file(exercise), learner_file(exercise.file_name, folder / "exercises"))
    return folder


def assignment_size(exercise: Exercise) -> int:
    """How many requirements the assignment has (the extras left out)."""
    return len(exercise.requirements.chosen(include_extras=False))


def line_of(text: str, path: Path) -> int:
    """The number of the first line of ``path`` that contains ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def skip_when_not_checked(outcome: Outcome) -> None:
    """Skip, with the checker's reason, a requirement this machine cannot check now.

    The client's default URL needs port 8765, which a learner's server (or a notebook's)
    may hold: then the checker says "not checked", never a wrong verdict, and so does the test.
    """
    if outcome.met is None:
        pytest.skip(f"{outcome.requirement.key} not checked here: {outcome.detail}")


# --- The catalogue: every exercise has what its name promises ---------------------------------


@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=lambda exercise: exercise.name)
def test_every_exercise_has_requirements_a_starter_and_a_solution(exercise: Exercise) -> None:
    assert isinstance(exercise.requirements, Requirements) and exercise.requirements
    assert files("chatlib.course").joinpath("starters", exercise.file_name).is_file()
    assert starter_file(exercise).is_file()
    assert solution_file(exercise.file_name).is_file()
    assert exercise.kind in (Kind.SERVER, Kind.CLIENT)
    # An optional exercise counts for nothing unless an instructor gives it points.
    assert exercise.points > 0 or exercise.optional


def test_each_exercise_points_to_the_next_and_the_last_to_the_finish() -> None:
    exercises = list(EXERCISES.values())
    for exercise, following in itertools.pairwise(exercises):
        assert next_exercise(exercise) is following
        if following.optional and not exercise.optional:
            # The assignment's last exercise finishes the course, then offers the optional one.
            assert exercise.next_step.startswith(COURSE_FINISHED)
        else:
            assert exercise.next_step.startswith(f"Next: {following.title}.")
        assert f"-m chatlib check {following.name}" in exercise.next_step
    assert next_exercise(exercises[-1]) is None
    assert "finished" in exercises[-1].next_step


# --- One spec, three uses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exercise", "requirement"),
    requirement_cases(
        True, [exercise for exercise in EXERCISES.values() if exercise.has_reference]
    ),
)
async def test_chatlib_meets_requirement(exercise: Exercise, requirement: Requirement) -> None:
    reference = Program(exercise.reference_command)
    outcome = await run_requirement(requirement, lambda: reference.start(exercise))
    skip_when_not_checked(outcome)
    assert outcome.met, outcome.detail


@pytest.mark.parametrize(("exercise", "requirement"), requirement_cases(include_extras=False))
async def test_solution_meets_requirement(exercise: Exercise, requirement: Requirement) -> None:
    solution = Program.file(solution_file(exercise.file_name))
    outcome = await run_requirement(requirement, lambda: solution.start(exercise))
    skip_when_not_checked(outcome)
    assert outcome.met, outcome.detail


@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=lambda exercise: exercise.name)
async def test_untouched_starter_fails_its_checks(exercise: Exercise) -> None:
    starter = Program.file(starter_file(exercise))
    # Every requirement runs against its own copy of the program, so they can run at once.
    outcomes = await asyncio.gather(
        *(
            run_requirement(requirement, lambda: starter.start(exercise))
            for requirement in exercise.requirements.chosen(include_extras=False)
        )
    )
    unmet = [outcome for outcome in outcomes if outcome.met is False]
    assert unmet, "the untouched starter meets every requirement: the exercise has nothing to do"
    for outcome in unmet:
        assert outcome.detail and "Traceback" not in outcome.detail, outcome.detail


# --- The checker's command line, as a learner runs it -----------------------------------------


def run_check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``python -m chatlib check ARGS`` in ``cwd`` and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
    )


def test_check_lists_what_the_untouched_starter_misses(tmp_path: Path) -> None:
    result = run_check("chat_server", cwd=course_with_starter(tmp_path, CHAT_SERVER))
    assert result.returncode == 1
    assert "Checking exercises/chat_server.py" in result.stdout
    assert "✘ Every other connected client receives each message" in result.stdout
    assert (
        'Alice should receive a line with "Hello from Bob" in it (in any shape) within 1 s;'
        " Alice received nothing." in result.stdout
    )
    assert "Hint: " in result.stdout
    assert f"of {assignment_size(CHAT_SERVER)} requirements met" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_congratulates_a_finished_exercise(tmp_path: Path) -> None:
    (tmp_path / "exercises").mkdir()
    shutil.copy(
        solution_file(CHAT_SERVER.file_name),
        learner_file(CHAT_SERVER.file_name, tmp_path / "exercises"),
    )
    result = run_check("chat_server", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert f"All {assignment_size(CHAT_SERVER)} requirements met. Well done!" in result.stdout
    assert f"Next: {next_exercise(CHAT_SERVER).title}." in result.stdout


def broken_copy(tmp_path: Path, replace: str, by: str) -> Path:
    """A copy of the chat server solution with one piece of code replaced."""
    source = solution_file(CHAT_SERVER.file_name).read_text()
    assert replace in source
    path = tmp_path / "chat_server.py"
    path.write_text(source.replace(replace, by, 1))
    return path


def test_syntax_error_is_explained_with_file_and_line(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "async def chat_handler(websocket):", "async def chat_handler(ws)")
    result = run_check("chat_server", "--path", str(path))
    assert result.returncode == 1
    assert f"Python cannot read {path}" in result.stdout
    line = line_of("async def chat_handler(ws)", path)
    assert f"line {line}" in result.stdout and "save the file" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_crash_at_start_is_explained_with_file_and_line(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "serve(chat_handler,", "serve(chat_handlr,")
    result = run_check("chat_server", "--path", str(path))
    assert result.returncode == 1
    assert "stopped with an error before it was ready" in result.stdout
    assert "NameError: name 'chat_handlr' is not defined" in result.stdout
    assert f"{path}, line " in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_exception_in_the_handler_is_shown_under_the_failed_requirement(tmp_path: Path) -> None:
    path = broken_copy(
        tmp_path,
        "    USERNAMES[websocket] = username\n",
        '    raise NotImplementedError("TODO: remember the name")\n',
    )
    result = run_check("chat_server", "--path", str(path))
    assert result.returncode == 1
    line = line_of("TODO: remember the name", path)
    assert (
        f"Your server reported an error: {path}, line {line}: NotImplementedError: TODO: remember"
        " the name" in result.stdout
    )
    assert "Traceback" not in result.stdout + result.stderr


async def test_program_that_never_starts_is_reported_as_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chatlib.course.checks.servers.STARTUP_LIMIT", 1.0)
    path = broken_copy(
        tmp_path, "async def main(host, port):", "input()\n\n\nasync def main(h, p):"
    )
    result = await check(CHAT_SERVER, Program.file(path))
    assert "was not ready within 1 s" in result.problem
    assert "Is it waiting for something (input(), a sleep, a loop)" in result.problem
    assert "Traceback" not in result.problem and "KeyboardInterrupt" not in result.problem


# --- Wherever a program listens or connects: no check competes for a port --------------------


@contextlib.contextmanager
def default_port_taken() -> Iterator[None]:
    """Something listens on the course's port 8765 for the block (this, or what already did)."""
    with socket.socket() as holder:
        with contextlib.suppress(OSError):  # Already taken: by something else, just as well.
            holder.bind(("127.0.0.1", DEFAULT_PORT))
            holder.listen()
        yield


def requirement_named(exercise: str, key: str) -> Requirement:
    """The requirement of ``exercise`` whose key is ``key``."""
    return next(r for r in EXERCISES[exercise].requirements if r.key == key)


def assignment_unmet(result: CheckResult) -> list[str]:
    """The requirements of the assignment a result found unmet, with what it said."""
    return [
        f"{outcome.requirement.key}: {outcome.detail}"
        for outcome in result.outcomes
        if outcome.met is False and outcome.requirement.origin is Origin.ASSIGNMENT
    ]


async def test_two_checks_of_a_server_on_the_fixed_port_run_beside_a_program_on_that_port(
    tmp_path: Path,
) -> None:
    """The learner's own server holds 8765 while two checks (a grader's) run a server that
    asks for exactly that port: each copy listens where the checker puts it."""
    source = solution_file(CHAT_SERVER.file_name).read_text(encoding="utf-8")
    fixed = source.replace(
        "serve(chat_handler, host, port)", 'serve(chat_handler, "localhost", 8765)'
    )
    assert fixed != source
    path = tmp_path / "chat_server.py"
    path.write_text(fixed, encoding="utf-8")
    with default_port_taken():
        results = await asyncio.gather(*(check(CHAT_SERVER, Program.file(path)) for _ in range(2)))
    for result in results:
        assert result.problem is None, result.problem
        assert not assignment_unmet(result), assignment_unmet(result)


async def test_a_client_that_asks_for_the_default_url_reaches_the_stand_in_while_it_is_taken() -> (
    None
):
    requirement = requirement_named("chat_client", "default_url_is_used")
    client = Program.file(solution_file(EXERCISES["chat_client"].file_name))
    with default_port_taken():
        outcome = await run_requirement(requirement, lambda: client.start(EXERCISES["chat_client"]))
    assert outcome.met, outcome.detail


def test_a_chained_traceback_is_told_by_the_exception_that_matters(tmp_path: Path) -> None:
    """The handler's error, not Python's separator nor the Ctrl-C that stopped the program."""
    learner = tmp_path / "server.py"
    stderr = (
        "connection handler failed\n"
        "Traceback (most recent call last):\n"
        f'  File "{learner}", line 7, in handler\n'
        "    await broadcast(others, line)\n"
        "TypeError: object NoneType can't be used in 'await' expression\n"
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        f'  File "{learner}", line 12, in <module>\n'
        "    asyncio.run(main())\n"
        "KeyboardInterrupt\n"
    )
    report = explain_traceback(stderr, learner, skip_interrupts=True)
    assert report.startswith(f"{learner}, line 7: TypeError: object NoneType can't be used")
    assert "without `await`" in report
    assert "During handling" not in report and "KeyboardInterrupt" not in report


def changed_uppercase_server(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    """A copy of the uppercase server solution with each ``(code, replacement)`` made once."""
    source = solution_file(EXERCISES["uppercase_server"].file_name).read_text(encoding="utf-8")
    for code, replacement in changes:
        assert code in source
        source = source.replace(code, replacement, 1)
    path = tmp_path / "uppercase_server.py"
    path.write_text(source, encoding="utf-8")
    return path


async def test_one_slow_moment_is_not_taken_for_a_blocked_event_loop(tmp_path: Path) -> None:
    """A busy machine may stall a correct server once; a blocked loop stalls it every time.

    This server blocks for a second on the first message it ever gets, then never again, as
    a correct server does when another program takes the core for a moment: the check plays
    its scene again before refusing, and accepts it. (``time_sleep_in_handler`` in
    tests/mutants, blocking on every message, is still refused.)
    """
    path = changed_uppercase_server(
        tmp_path,
        ("import signal\n", "import signal\nimport time\n\nSLOW_MOMENTS = [1.0]\n"),
        (
            "            await websocket.send(message.upper())",
            "            if SLOW_MOMENTS:\n"
            "                time.sleep(SLOW_MOMENTS.pop())\n"
            "            await websocket.send(message.upper())",
        ),
    )
    requirement = requirement_named("uppercase_server", "stays_responsive_while_serving")
    server = Program.file(path)
    outcome = await run_requirement(
        requirement, lambda: server.start(EXERCISES["uppercase_server"])
    )
    assert outcome.met, outcome.detail


# --- What the program itself reported, under the requirement that was running -----------------


def first_unmet(result: CheckResult) -> Outcome:
    """The first requirement the check found unmet: the one whose hint the learner reads."""
    return next(outcome for outcome in result.outcomes if outcome.met is False)


async def test_an_exception_logged_as_the_check_fails_is_reported_with_its_line(tmp_path):
    # send() refuses a method: the handler dies, the client sees the connection close, and
    # the traceback may reach stderr only after the check has failed.
    path = changed_uppercase_server(tmp_path, ("message.upper()", "message.upper"))
    result = await check(EXERCISES["uppercase_server"], Program.file(path))
    first = first_unmet(result)
    assert first.requirement.key == "replies_in_upper_case"
    line = line_of("message.upper", path)
    assert f"Your server reported an error: {path}, line {line}: TypeError" in first.detail


async def test_a_coroutine_never_awaited_is_reported_with_its_line(tmp_path):
    path = changed_uppercase_server(
        tmp_path, ("await websocket.send(message.upper())", "websocket.send(message.upper())")
    )
    result = await check(EXERCISES["uppercase_server"], Program.file(path))
    first = first_unmet(result)
    line = line_of("websocket.send(message.upper())", path)
    assert (
        f"{path}, line {line}: RuntimeWarning: coroutine 'Connection.send' was never awaited"
        in first.detail
    )


async def test_a_connection_error_without_text_is_named_by_its_type() -> None:
    requirements = Requirements()

    @requirements.requirement("Connects", hint="Connect.")
    async def connects(target) -> None:
        raise ConnectionResetError()

    @contextlib.asynccontextmanager
    async def nothing_to_start():
        yield NoDiagnosis()

    outcome = await run_requirement(requirements[0], nothing_to_start)
    assert outcome.detail == "A connection failed unexpectedly (ConnectionResetError)."
    assert error_text(TimeoutError()) == "TimeoutError"
    assert error_text(CheckFailed("said why")) == "said why"


class NoDiagnosis:
    """A target with nothing to report."""

    def diagnosis(self) -> str:
        return ""

    def fatal_problem(self) -> None:
        return None


# --- What a report says, and how ---------------------------------------------------------------


def test_a_good_practice_requirement_is_labelled_in_every_report() -> None:
    [requirement] = [
        r for r in CHAT_SERVER.requirements if r.key == "stays_responsive_while_relaying"
    ]
    assert requirement.good_practice and requirement.origin is Origin.GOOD_PRACTICE
    outcome = Outcome(requirement, False, "Carol's ping waited 1.0 s.")
    assert f"{requirement.summary} (good practice)" in outcome_text(outcome)
    report = NotebookReport()
    report.rows = {requirement.key: outcome}
    assert "(good practice)" in report.html() and "(good practice)" in report.text()
    [item] = CheckResult(CHAT_SERVER, [outcome]).to_json()["requirements"]
    assert item["kind"] == "good practice"
    assignment = next(r for r in CHAT_SERVER.requirements if not r.good_practice and not r.extra)
    assert assignment.origin is Origin.ASSIGNMENT and "(good practice)" not in outcome_text(
        Outcome(assignment, True)
    )


def test_quoted_messages_show_control_characters_escaped() -> None:
    shown = quoted_lines(["hi\r[Carol]: fake\x1b[2K", "Zoë 李雷\u2028"])
    assert shown == '"hi\\r[Carol]: fake\\x1b[2K", then "Zoë 李雷\\u2028"'
    assert not any(char in shown for char in "\r\x1b\u2028")


async def test_an_internal_timeout_is_never_an_empty_reason() -> None:
    requirements = Requirements()

    @requirements.requirement("Answers", hint="Answer.")
    async def answers(target) -> None:
        raise TimeoutError()

    @contextlib.asynccontextmanager
    async def nothing_to_start():
        yield NoDiagnosis()

    outcome = await run_requirement(requirements[0], nothing_to_start)
    assert outcome.met is False
    assert outcome.detail.startswith("The program did not answer within 1 s")
