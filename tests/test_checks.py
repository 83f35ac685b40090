"""One spec, three uses: the same checks that learners run prove the project's own programs.

- chatlib's reference programs meet every requirement, the extras included;
- every solution meets every requirement of the assignment;
- every untouched starter fails its checks, and the checker reports it without crashing;
- a broken learner file (syntax error, crash, hang, exception in the handler) gets a friendly
  report that names the file and the line, never the checker's own traceback.
"""

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatlib.checks import EXERCISES, Exercise, ProgramProblem, Requirement, check_program
from chatlib.checks.core import run_requirement

ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT = 120  # seconds for a whole `python -m chatlib check` run

REFERENCE_PROGRAMS = {
    "uppercase_server": "uppercase-server",
    "chat_server": "chat-server",
    "chat_client": "chat-client",
}


def requirement_cases(include_extras: bool) -> list:
    """One pytest case per (exercise, requirement), named after the requirement."""
    return [
        pytest.param(exercise, requirement, id=f"{exercise.name}-{requirement.key}")
        for exercise in EXERCISES.values()
        for requirement in exercise.requirements.chosen(include_extras)
    ]


def learner_file(folder: str, exercise: Exercise) -> Path:
    return ROOT / folder / f"{exercise.name}.py"


@pytest.mark.parametrize(("exercise", "requirement"), requirement_cases(include_extras=True))
async def test_chatlib_meets_requirement(exercise: Exercise, requirement: Requirement) -> None:
    command = [sys.executable, "-m", "chatlib", REFERENCE_PROGRAMS[exercise.name]]
    outcome = await run_requirement(requirement, lambda: exercise.start(command, None))
    assert outcome.met, outcome.detail


@pytest.mark.parametrize(("exercise", "requirement"), requirement_cases(include_extras=False))
async def test_solution_meets_requirement(exercise: Exercise, requirement: Requirement) -> None:
    path = learner_file("solutions", exercise)
    outcome = await run_requirement(
        requirement, lambda: exercise.start([sys.executable, str(path)], path)
    )
    assert outcome.met, outcome.detail


@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=lambda exercise: exercise.name)
async def test_untouched_starter_fails_its_checks(exercise: Exercise) -> None:
    path = learner_file("exercises", exercise)
    command = [sys.executable, str(path)]
    # Every requirement runs against its own copy of the program, so they can run at once.
    outcomes = await asyncio.gather(
        *(
            run_requirement(requirement, lambda: exercise.start(command, path))
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


def test_check_lists_what_the_untouched_starter_misses() -> None:
    result = run_check("chat_server")
    assert result.returncode == 1
    assert "Checking exercises/chat_server.py" in result.stdout
    assert '✘ Messages reach the other clients as "[name]: text"' in result.stdout
    assert 'Bob should receive "[Alice]: Hi Bob" within 1 s; Bob received nothing.' in result.stdout
    assert "Hint: " in result.stdout
    assert "of 8 requirements met" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_congratulates_a_finished_exercise(tmp_path: Path) -> None:
    (tmp_path / "exercises").mkdir()
    shutil.copy(ROOT / "solutions" / "chat_server.py", tmp_path / "exercises" / "chat_server.py")
    result = run_check("chat_server", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "All 8 requirements met. Well done!" in result.stdout
    assert "Next: the client" in result.stdout


def broken_copy(tmp_path: Path, replace: str, by: str) -> Path:
    """A copy of the chat server solution with one piece of code replaced."""
    source = (ROOT / "solutions" / "chat_server.py").read_text()
    assert replace in source
    path = tmp_path / "chat_server.py"
    path.write_text(source.replace(replace, by, 1))
    return path


def test_syntax_error_is_explained_with_file_and_line(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "async def chat_handler(websocket):", "async def chat_handler(ws)")
    result = run_check("chat_server", "--path", str(path))
    assert result.returncode == 1
    assert f"Python cannot read {path}" in result.stdout
    assert "line 30" in result.stdout and "save the file" in result.stdout
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
    assert (
        f"Your server reported an error: {path}, line 37: NotImplementedError: TODO: remember the"
        " name" in result.stdout
    )
    assert "Traceback" not in result.stdout + result.stderr


async def test_program_that_never_starts_is_reported_as_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chatlib.checks.servers.STARTUP_LIMIT", 1.0)
    path = broken_copy(
        tmp_path, "async def main(host, port):", "input()\n\n\nasync def main(h, p):"
    )
    with pytest.raises(ProgramProblem, match="was not ready within 1 s") as problem:
        await check_program(EXERCISES["chat_server"], [sys.executable, str(path)], path)
    assert "Is it waiting for something (input(), a sleep, a loop)" in str(problem.value)
