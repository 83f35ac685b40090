"""What keeps the project usable on Windows and macOS, checked on Linux.

No Windows or macOS machine runs these tests, so the parts that can be checked from here are:

- every module of chatlib and of the tests imports on any system: a module that only Linux
  and macOS have (``termios``, ``pty``, ``fcntl``...) is imported under a check of
  ``sys.platform``, or inside the function that needs it, never at the top of a file (on
  Windows, a test file that does so cannot even be collected, and nothing runs);
- the files that a POSIX shell reads keep LF line endings in every checkout
  (``.gitattributes``): a clone made by Git for Windows and used from WSL would otherwise
  give ``.ci/find-python`` a CRLF first line, and bash would fail on the start-up files of
  JupyterLab's terminals;
- the README's uv route (the same on Linux, macOS and Windows) runs the tests ``make test``
  runs;
- the server's memory is measured the same way on every system (psutil), and it is the
  memory of the process that runs the learner's program, even behind a launcher that starts
  the real interpreter as a child (a venv's ``python.exe`` on Windows), simulated here.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mutants.catalogue import MUTANTS

from chatlib.course.checks import EXERCISES, servers
from chatlib.course.checks.chat_server import visits
from chatlib.course.checks.core import Outcome, Requirement, run_requirement
from chatlib.course.checks.pipeline import Program
from chatlib.course.checks.results import CheckResult
from chatlib.course.folders import solution_file
from chatlib.course.harness import start_launched_server
from chatlib.course.harness.programs import RunningProgram

ROOT = Path(__file__).resolve().parent.parent
# Standard modules that Windows' Python does not have.
POSIX_ONLY = {"fcntl", "grp", "posix", "pty", "pwd", "resource", "syslog", "termios", "tty"}
SOURCES = sorted([*ROOT.glob("chatlib/**/*.py"), *ROOT.glob("tests/**/*.py")])


def top_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of each import run when the module is imported: at the top level,
    or in a ``try`` there; not inside a function, a class or an ``if``."""
    found = []
    for statement in tree.body:
        blocks = [statement]
        if isinstance(statement, ast.Try):
            blocks = [*statement.body, *statement.orelse, *statement.finalbody]
        for node in blocks:
            if isinstance(node, ast.Import):
                found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_imports_a_posix_only_module_unconditionally(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    unguarded = [
        f"{path.relative_to(ROOT)}:{line}: import {module}"
        for line, module in top_level_imports(tree)
        if module in POSIX_ONLY
    ]
    assert not unguarded, (
        "Windows has no such module: import it under `if sys.platform != 'win32':` or where"
        " it is used:\n" + "\n".join(unguarded)
    )


# Files a POSIX shell reads: they must keep LF line endings, whatever the checkout.
SHELL_READ = [
    ".ci/run",
    ".ci/find-python",
    "Makefile",
    "binder/postBuild",
    "grading/gradescope/run_autograder",
    "grading/gradescope/setup.sh",
    "chatlib/course/tooling/shell/bashrc",
    "chatlib/course/tooling/shell/zsh/.zshrc",
    "chatlib/course/tooling/shell/zsh/.zshenv",
]


@pytest.mark.parametrize("name", SHELL_READ)
def test_files_read_by_a_posix_shell_keep_lf_line_endings_in_every_checkout(name: str) -> None:
    asked = subprocess.run(
        ["git", "-C", str(ROOT), "check-attr", "eol", "--", name],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if asked.returncode != 0:
        pytest.skip(f"not a git checkout: {asked.stderr.strip()}")
    assert asked.stdout.strip().endswith("eol: lf"), asked.stdout
    assert b"\r\n" not in (ROOT / name).read_bytes()


# How each of the README's routes without make runs pytest (Windows, macOS, pip, uv, Poetry).
PYTEST_RUNNERS = (
    r".venv\Scripts\python -m pytest",
    ".venv/bin/python -m pytest",
    "uv run --extra dev pytest",
    "poetry run pytest",
)


@pytest.mark.parametrize("runner", PYTEST_RUNNERS)
def test_each_readme_route_runs_the_tests_that_make_test_runs(runner: str) -> None:
    """Where make is absent (Windows, macOS without the Xcode tools), the README's line is how
    the suite is run: the same tests as `make test`, not the slow ones too."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    workers = re.search(r"^WORKERS \?= (\d+)$", makefile, re.MULTILINE)[1]
    options = re.search(r"^PYTEST := \S+ -m pytest (.+)$", makefile, re.MULTILINE)[1]
    chosen = re.search(r"^test: .*\n\t\$\(PYTEST\) (.+)$", makefile, re.MULTILINE)[1]
    expected = f"{runner} {chosen} {options.replace('$(WORKERS)', workers)}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert expected in readme.splitlines(), f"the README's route should say: {expected}"


# --- What cannot be checked on a system is said, never answered by luck ---------------------


def requirement_named(exercise: str, key: str) -> Requirement:
    """The requirement ``key`` of ``exercise``."""
    return next(r for r in EXERCISES[exercise].requirements if r.key == key)


async def outcome_for_the_solution(exercise: str, key: str) -> Outcome:
    """The outcome of one requirement for the exercise's solution."""
    chosen = EXERCISES[exercise]
    solution = Program.file(solution_file(chosen.file_name))
    return await run_requirement(requirement_named(exercise, key), lambda: solution.start(chosen))


async def test_where_no_program_can_be_paused_simultaneous_departures_are_not_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows has no SIGSTOP: unpaused, the verdict would depend on the machine's speed."""
    monkeypatch.setattr(RunningProgram, "can_be_paused", staticmethod(lambda: False))
    outcome = await outcome_for_the_solution("chat_server", "simultaneous_departures_are_announced")
    assert outcome.met is None
    assert "cannot pause a program" in outcome.detail


async def test_where_ctrl_c_cannot_be_sent_the_ctrl_c_requirement_is_not_checked_nor_met(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(servers, "on_windows", lambda: True)
    outcome = await outcome_for_the_solution("uppercase_server", "stops_cleanly_on_ctrl_c")
    assert outcome.met is None
    assert "Ctrl-C cannot be sent" in outcome.detail
    result = CheckResult(EXERCISES["uppercase_server"], [outcome])
    assert result.not_checked == [outcome] and result.met == 0


# --- The server's memory, measured on every system -------------------------------------------


def linux_resident_memory(pid: int) -> int:
    """``VmRSS`` of ``/proc/PID/status``, in bytes: the figure the checker read before psutil."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kib) * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc to compare with")
async def test_the_memory_the_checker_reads_is_the_figure_linux_gives_in_proc() -> None:
    """psutil's reading is /proc's, so one way of measuring serves every system."""
    solution = solution_file(EXERCISES["chat_server"].file_name)
    server = await start_launched_server([sys.executable, str(solution)], solution)
    try:
        await visits(server.url, 100)  # Clients came and went: the server's memory moved.
        measured = server.memory_in_use()
        in_proc = linux_resident_memory(server.pid)
    finally:
        await server.stop()
    print(f"\nserver's resident memory: psutil {measured} B, /proc VmRSS {in_proc} B")
    # Read one after the other from an idle server: equal (measured), but a page or two may
    # move in between on a busy machine; the check's own limit is 1.5 MiB.
    assert abs(measured - in_proc) <= 64 * 1024


# Like a venv's python.exe on Windows: a program that runs the real interpreter as a child,
# passes Ctrl-C on to it and waits for it.
LAUNCHER_OF_THE_REAL_PYTHON = f"""#!{sys.executable}
import signal, subprocess, sys

child = subprocess.Popen([sys.executable, *sys.argv[1:]])
for number in (signal.SIGINT, signal.SIGTERM):
    signal.signal(number, lambda number, frame: child.send_signal(number))
sys.exit(child.wait())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in launcher is a #! script")
async def test_behind_a_python_that_runs_the_interpreter_as_a_child_a_leak_is_still_caught(
    tmp_path: Path,
) -> None:
    """The checker measures the process the launcher reports, not the one it started."""
    python = tmp_path / "python"
    python.write_text(LAUNCHER_OF_THE_REAL_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    leaky = next(mutant for mutant in MUTANTS if mutant.name == "never_forgets_a_client")
    chosen = EXERCISES[leaky.exercise]
    path = tmp_path / chosen.file_name
    solution = solution_file(chosen.file_name).read_text(encoding="utf-8")
    path.write_text(leaky.apply(solution), "utf-8")
    program = Program([str(python), str(path)], path)
    requirement = requirement_named(chosen.name, leaky.caught_by)
    outcome = await run_requirement(requirement, lambda: program.start(chosen))
    assert outcome.met is False, outcome.detail
    assert "it keeps something of every client" in outcome.detail
