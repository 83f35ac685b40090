"""The learner's and the instructor's tools: watch mode, progress, reset, hints, grading.

Real files in temporary exercises folders, and the command lines run as subprocesses, the
way a learner (two terminals: one watching, one editing) and an instructor (a folder of
submissions) use them. Every wait has a time limit.
"""

import asyncio
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from course_material import committed_bytes
from mutants.programs import HANGING_SERVER

from chatlib.course.checks import EXERCISES, Exercise
from chatlib.course.checks.catalogue import next_exercise
from chatlib.course.checks.core import Outcome
from chatlib.course.checks.pipeline import Program, check
from chatlib.course.checks.renderers import TerminalReport, notebook_report
from chatlib.course.folders import solution_file
from chatlib.course.harness.programs import KEPT_LINES, LONGEST_LINE, Output, RunningProgram
from chatlib.course.tooling.starters import starter_text
from chatlib.course.tooling.watch import FileChanges

ROOT = Path(__file__).resolve().parent.parent
COMMAND_TIMEOUT = 60  # seconds for one command that runs checks
# `progress` checks every exercise file of a scene, one after another, each requirement with a
# fresh program: a few seconds on a quiet machine, over a minute when two CI runs and a stress
# run share two cores (seen). These bounds only catch a hang.
PROGRESS_TIMEOUT = 240  # seconds for one `progress` that checks several files
PROGRESS_TEST_TIMEOUT = 2 * PROGRESS_TIMEOUT + 60  # the test that runs two such commands


def assignment_size(name: str) -> int:
    """How many requirements the exercise's assignment has (the extras left out)."""
    return len(EXERCISES[name].requirements.chosen(include_extras=False))


def chatlib(
    *args: str, cwd: Path = ROOT, timeout: float = COMMAND_TIMEOUT, **options
) -> subprocess.CompletedProcess:
    """Run ``python -m chatlib ARGS`` and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        **options,
    )


def exercises_folder(tmp_path: Path, **files: str) -> Path:
    """A temporary exercises folder holding ``files`` ({exercise name: content})."""
    folder = tmp_path / "exercises"
    folder.mkdir()
    for name, content in files.items():
        (folder / f"{name}.py").write_text(content, encoding="utf-8")
    return folder


def course_folder(tmp_path: Path, **files: str | None) -> Path:
    """An exercises folder for a scene of the course: ``files`` as given (``None``: missing),
    and every other exercise of the catalogue done (its solution), so the scene stays the
    same whatever exercises are added."""
    done = {name: solution(name) for name in EXERCISES if name not in files}
    given = {name: content for name, content in files.items() if content is not None}
    return exercises_folder(tmp_path, **done, **given)


def starter(name: str) -> str:
    return starter_text(EXERCISES[name])


def solution(name: str) -> str:
    return solution_file(EXERCISES[name].file_name).read_text(encoding="utf-8")


def chat_server_that_echoes_to_the_sender() -> str:
    """The chat server solution with one requirement broken: the sender gets its own line."""
    source = solution("chat_server")
    wrong = source.replace(
        "return [client for client in USERNAMES if client is not websocket]",
        "return list(USERNAMES)",
    )
    assert wrong != source
    return wrong


# --- The original starters -------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=lambda exercise: exercise.name)
def test_packaged_starter_is_an_exact_copy_of_the_exercise(exercise: Exercise) -> None:
    # The learner edits exercises/; progress and reset compare with, and restore, this copy.
    # Both as committed: a learner's edits of exercises/ are theirs (tests/course_material.py).
    packaged = committed_bytes(f"chatlib/course/starters/{exercise.file_name}")
    assert packaged == committed_bytes(f"exercises/{exercise.file_name}")


@pytest.mark.parametrize("exercise", EXERCISES.values(), ids=lambda exercise: exercise.name)
def test_reset_writes_the_learners_copy_of_a_missing_starter(tmp_path, exercise) -> None:
    folder = tmp_path / "exercises"
    result = chatlib("reset", exercise.name, "--folder", str(folder), "--yes")
    assert result.returncode == 0, result.stdout
    assert "the original starter is back" in result.stdout
    original = ROOT / "chatlib" / "course" / "starters" / exercise.file_name
    assert (folder / exercise.file_name).read_bytes() == original.read_bytes()


# --- Hints -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requirement",
    [requirement for exercise in EXERCISES.values() for requirement in exercise.requirements],
    ids=lambda requirement: requirement.key,
)
def test_every_requirement_has_a_hint_of_one_or_two_sentences(requirement) -> None:
    sentences = re.findall(r"[.!?](?=\s|$)", requirement.hint)
    assert requirement.hint.endswith("."), requirement.hint
    assert 1 <= len(sentences) <= 2, requirement.hint


def unmet_outcomes(count: int) -> list[Outcome]:
    """``count`` unmet outcomes of the chat server's first requirements, each with a detail."""
    requirements = EXERCISES["chat_server"].requirements[:count]
    return [
        Outcome(requirement, False, f"What went wrong #{n}")
        for n, requirement in enumerate(requirements)
    ]


def test_compact_report_details_only_the_first_unmet_requirement(capsys) -> None:
    report = TerminalReport(watching=True)
    for outcome in unmet_outcomes(3):
        report.outcome(outcome)
    shown = capsys.readouterr().out
    assert shown.count("✘") == 3
    assert "What went wrong #0" in shown and "What went wrong #1" not in shown
    assert shown.count("Hint:") == 1


def test_hint_option_shows_the_hint_of_every_unmet_requirement(capsys) -> None:
    report = TerminalReport(watching=True, all_hints=True)
    outcomes = unmet_outcomes(3)
    for outcome in outcomes:
        report.outcome(outcome)
    shown = capsys.readouterr().out
    assert "What went wrong #1" not in shown
    for outcome in outcomes:
        assert f"Hint: {outcome.requirement.hint}" in shown


def test_outside_a_notebook_the_notebook_report_is_the_terminal_report(capsys) -> None:
    report = notebook_report()
    assert isinstance(report, TerminalReport)
    report.outcome(unmet_outcomes(1)[0])
    assert "✘" in capsys.readouterr().out


# --- check --json ----------------------------------------------------------------------------


def test_json_result_lists_every_requirement(tmp_path: Path) -> None:
    folder = exercises_folder(tmp_path, chat_server=chat_server_that_echoes_to_the_sender())
    result = chatlib("check", "chat_server", "--json", "--folder", str(folder))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    total = assignment_size("chat_server")
    assert (data["problem"], data["met"], data["total"], data["all_met"]) == (
        None,
        total - 1,
        total,
        False,
    )
    unmet = [item for item in data["requirements"] if not item["met"]]
    assert [item["key"] for item in unmet] == ["sender_does_not_receive_own_message"]
    assert "received her own" in unmet[0]["detail"]


def test_json_result_of_a_file_python_cannot_read_has_a_problem(tmp_path: Path) -> None:
    broken = tmp_path / "chat_server.py"
    broken.write_text("def oops(:\n", encoding="utf-8")
    result = chatlib("check", "chat_server", "--json", "--path", str(broken))
    data = json.loads(result.stdout)
    assert result.returncode == 1
    assert "Python cannot read" in data["problem"]
    assert (data["met"], data["total"], data["all_met"]) == (
        0,
        assignment_size("chat_server"),
        False,
    )


# --- Watch mode ------------------------------------------------------------------------------


async def read_until(stream: asyncio.StreamReader, text: str, timeout: float) -> str:
    """Read lines until one contains ``text``; everything read. Fails after ``timeout`` s."""
    read = []
    try:
        async with asyncio.timeout(timeout):
            while not read or text not in read[-1]:
                line = await stream.readline()
                if not line:
                    pytest.fail(f"the output ended before {text!r}:\n{''.join(read)}")
                read.append(line.decode("utf-8"))
    except TimeoutError:
        pytest.fail(f"no {text!r} within {timeout} s; the output so far:\n{''.join(read)}")
    return "".join(read)


@pytest.mark.skipif(sys.platform == "win32", reason="sends Ctrl-C (SIGINT) to the watcher")
async def test_watch_mode_checks_again_when_the_file_is_saved(tmp_path: Path) -> None:
    folder = exercises_folder(tmp_path, uppercase_server=starter("uppercase_server"))
    watcher = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "chatlib", "check", "--watch", "--folder", str(folder)],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"},
    )
    try:
        # Without an exercise name, it starts at the first one not done: the untouched starter.
        first = await read_until(watcher.stdout, "requirements met.", timeout=30)
        assert "Watching" in first and "uppercase_server.py" in first
        assert "✘ The reply is the message in upper case" in first
        assert first.count("Hint:") == 1  # The compact report: the first failure only.

        # The learner saves the finished program, as an editor would.
        (folder / "uppercase_server.py").write_text(solution("uppercase_server"), "utf-8")
        second = await read_until(watcher.stdout, "On to the next exercise", timeout=30)
        assert f"All {assignment_size('uppercase_server')} requirements met. Well done!" in second
        assert "✘" not in second

        # It moves on to the next exercise, whose file is not in this folder.
        third = await read_until(watcher.stdout, "There is no file", timeout=30)
        following = next_exercise(EXERCISES["uppercase_server"])
        assert "Watching" in third and following.file_name in third

        watcher.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            rest, _ = await watcher.communicate()
    finally:
        if watcher.returncode is None:
            watcher.kill()
            await watcher.wait()
    assert watcher.returncode == 0
    assert "Stopped watching" in rest.decode("utf-8")
    assert "Traceback" not in rest.decode("utf-8")


# --- Progress --------------------------------------------------------------------------------


@pytest.mark.timeout(PROGRESS_TEST_TIMEOUT)
def test_progress_shows_each_exercise_state_and_what_to_do_next(tmp_path: Path) -> None:
    folder = course_folder(
        tmp_path,
        uppercase_server=solution("uppercase_server"),
        chat_server=chat_server_that_echoes_to_the_sender(),
        chat_client=starter("chat_client"),
    )
    result = chatlib("progress", "--folder", str(folder), timeout=PROGRESS_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    uppercase, chat = assignment_size("uppercase_server"), assignment_size("chat_server")
    done = f"done ({uppercase} of {uppercase} requirements met)"
    assert progress_line("uppercase_server", done) in lines
    in_progress = f"in progress: {chat - 1} of {chat} requirements met"
    assert progress_line("chat_server", in_progress) in lines
    assert progress_line("chat_client", "not started") in lines
    assert lines[-1].startswith("Next: carry on with ") and "(1 requirement to go)" in lines[-1]
    # The order of the course.
    order = [line.split()[0] for line in lines if line.startswith("  ")]
    assert order == list(EXERCISES)


@pytest.mark.timeout(PROGRESS_TEST_TIMEOUT)
def test_progress_says_the_assignment_is_done_before_offering_the_optional_exercise(
    tmp_path: Path,
) -> None:
    optional = [exercise for exercise in EXERCISES.values() if exercise.optional]
    # The assignment's exercises are done (their solutions); the optional ones untouched.
    folder = course_folder(
        tmp_path, **{exercise.name: starter(exercise.name) for exercise in optional}
    )
    result = chatlib("progress", "--folder", str(folder), timeout=PROGRESS_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    assert last.startswith("Next: the assignment is done. You have finished the assignment.")
    assert f"python -m chatlib check {optional[0].name}" in last


def progress_line(name: str, state: str) -> str:
    """The line ``progress`` prints for an exercise: names in a column, then the state."""
    width = max(len(exercise) for exercise in EXERCISES)
    return f"  {name:<{width}}  {state}"


@pytest.mark.timeout(PROGRESS_TEST_TIMEOUT)
def test_progress_checks_only_the_files_that_changed(tmp_path: Path) -> None:
    folder = course_folder(
        tmp_path,
        uppercase_server=solution("uppercase_server"),
        chat_server=chat_server_that_echoes_to_the_sender(),
        chat_client=None,
    )
    files_to_check = len(EXERCISES) - 1
    first = chatlib("progress", "--folder", str(folder), timeout=PROGRESS_TIMEOUT)
    assert first.stdout.count("Checking ") == files_to_check

    again = chatlib("progress", "--folder", str(folder), timeout=PROGRESS_TIMEOUT)
    assert "Checking " not in again.stdout
    assert again.stdout.count("requirements met") == files_to_check

    (folder / "chat_server.py").write_text(solution("chat_server"), encoding="utf-8")
    changed = chatlib("progress", "--folder", str(folder), timeout=PROGRESS_TIMEOUT)
    assert changed.stdout.count("Checking ") == 1
    chat = assignment_size("chat_server")
    done = f"done ({chat} of {chat} requirements met)"
    assert progress_line("chat_server", done) in changed.stdout
    assert progress_line("chat_client", "missing") in changed.stdout
    assert "python -m chatlib reset chat_client" in changed.stdout.splitlines()[-1]


# --- Reset -----------------------------------------------------------------------------------


def test_reset_restores_the_starter_and_keeps_a_backup(tmp_path: Path) -> None:
    mine = "# my attempt\n" + starter("chat_server").replace("TODO 2", "DONE 2")
    folder = exercises_folder(tmp_path, chat_server=mine)
    result = chatlib("reset", "chat_server", "--folder", str(folder), "--yes")
    assert result.returncode == 0, result.stdout
    assert (folder / "chat_server.py").read_text(encoding="utf-8") == starter("chat_server")
    [backup] = folder.glob("chat_server.backup-*.py")
    assert re.fullmatch(r"chat_server\.backup-\d{8}-\d{6}\.py", backup.name)
    assert backup.read_text(encoding="utf-8") == mine
    assert backup.name in result.stdout


def test_reset_without_a_terminal_refuses_unless_told_yes(tmp_path: Path) -> None:
    folder = exercises_folder(tmp_path, chat_server="# my attempt\n")
    result = chatlib("reset", "chat_server", "--folder", str(folder), stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert result.stdout.strip().count("\n") == 0 and "--yes" in result.stdout
    assert (folder / "chat_server.py").read_text(encoding="utf-8") == "# my attempt\n"
    assert list(folder.glob("*.backup-*")) == []


def test_reset_asks_and_a_no_changes_nothing(tmp_path: Path) -> None:
    from chatlib.course.tooling.reset import reset_exercise

    folder = exercises_folder(tmp_path, chat_server="# my attempt\n")
    asked = []

    def answer_no(question: str) -> str:
        asked.append(question)
        return "n"

    assert reset_exercise("chat_server", folder, ask=answer_no) == 1
    assert "Replace" in asked[0] and "chat_server.backup-" in asked[0] and "[y/N]" in asked[0]
    assert (folder / "chat_server.py").read_text(encoding="utf-8") == "# my attempt\n"
    assert list(folder.glob("*.backup-*")) == []


# --- A program that prints without end, or ignores --port ------------------------------------


async def test_output_of_a_program_that_prints_forever_is_kept_bounded() -> None:
    stream = asyncio.StreamReader()
    output = Output()
    total = 50_000
    stream.feed_data(b"".join(b"spam line %d\n" % n for n in range(total)))
    stream.feed_eof()
    await output.collect(stream)
    assert len(output.lines) == total  # Every line counts, so indexes stay valid...
    assert len(list(output.lines)) == KEPT_LINES  # ...but only the latest are kept.
    assert output.lines[total - 1] == f"spam line {total - 1}"
    assert output.lines[total - 3 :] == [f"spam line {n}" for n in range(total - 3, total)]
    assert await output.wait_for(r"spam line 49990", 0.1, start=total - 20) is not None


async def test_a_long_line_is_kept_whole_when_all_output_is_kept() -> None:
    """The grader reads the checker's result as one JSON line, often longer than the
    pieces a bounded output cuts a line into: kept whole, it still parses."""
    size = 4 * LONGEST_LINE
    prints = "import json, sys; print(json.dumps({'detail': 'x' * int(sys.argv[1])}))"
    program = await RunningProgram.start(
        [sys.executable, "-c", prints, str(size)], keep_all_output=True
    )
    assert await program.wait_for_exit() == 0
    assert [json.loads(line) for line in program.stdout.lines] == [{"detail": "x" * size}]


async def test_server_that_ignores_the_port_option_is_checked_and_told_so(
    tmp_path: Path,
) -> None:
    # A server that binds the course's port whatever --port says: it is checked where the
    # checker puts it, and the good-practice requirement on --port says what it ignores.
    squatter = tmp_path / "chat_server.py"
    squatter.write_text(
        solution("chat_server").replace(
            "asyncio.run(main(args.host, args.port))", "asyncio.run(main(args.host, 8765))"
        ),
        encoding="utf-8",
    )
    result = await check(EXERCISES["chat_server"], Program.file(squatter))
    assert result.problem is None
    unmet = [outcome for outcome in result.outcomes if outcome.met is False]
    assert [outcome.requirement.key for outcome in unmet] == ["takes_host_and_port_options"]
    assert "it asked for 127.0.0.1:8765 instead" in unmet[0].detail


# --- Grading a class -------------------------------------------------------------------------


# A correct uppercase server that prints 20 times more debug lines than the harness keeps
# before it starts serving. (200,000 lines took longer than the start-up limit to print and
# read with one core busy elsewhere: the flood must prove bounded memory, not a fast machine.)
FLOOD_LINES = 20 * KEPT_LINES
FLOODING_SERVER = solution("uppercase_server").replace(
    "async def main(host, port):\n",
    f"async def main(host, port):\n    for n in range({FLOOD_LINES}):\n        print('debug', n)\n",
)
PORT_SQUATTER = solution("chat_server").replace(
    "asyncio.run(main(args.host, args.port))", "asyncio.run(main(args.host, 8765))"
)
SYNTAX_ERROR = 'print("<script>alert(1)</script>"\n'
# Seconds per file. A correct chat server checks in about 4 s on a quiet machine; the limit
# leaves room for a busy one (make test runs notebook 05's benchmark, which takes both
# cores, beside this test; 15 s was not enough there). No program in the class hangs, so the
# test takes as long as the checks do, not as long as the limit.
GRADE_TIME_LIMIT = 30
# The limit for the class whose one program hangs: it always costs the whole limit.
HANG_TIME_LIMIT = 3


def class_folder(tmp_path: Path) -> Path:
    """Five learners: finished, partial, syntax error, flood, port squatter."""
    assert "print('debug', n)" in FLOODING_SERVER and "8765))" in PORT_SQUATTER
    submissions = {
        # Sorted first, so the squatter is checked at the same time as a correct server.
        "amy_squats_port": {"chat_server": PORT_SQUATTER},
        "bob_correct": {name: solution(name) for name in EXERCISES},
        "cat_partial": {
            "uppercase_server": solution("uppercase_server"),
            "chat_server": chat_server_that_echoes_to_the_sender(),
        },
        "dan_syntax_error": {"chat_server": SYNTAX_ERROR},
        "eve_floods": {"uppercase_server": FLOODING_SERVER},
    }
    return write_class(tmp_path / "class", submissions)


def write_class(folder: Path, submissions: dict[str, dict[str, str]]) -> Path:
    """A class folder with a folder per learner: ``{learner: {exercise: source}}``."""
    for learner, files in submissions.items():
        (folder / learner).mkdir(parents=True)
        for name, content in files.items():
            (folder / learner / f"{name}.py").write_text(content, encoding="utf-8")
    return folder


def processes_running(text: str) -> list[str]:
    """The command lines of running processes that mention ``text`` (Linux only)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


@pytest.mark.timeout(5 * GRADE_TIME_LIMIT)
def test_grading_a_class_yields_the_right_table_within_bounded_time(tmp_path: Path) -> None:
    folder = class_folder(tmp_path)
    started = time.monotonic()
    result = chatlib(
        "grade", str(folder), "--time-limit", str(GRADE_TIME_LIMIT), timeout=4 * GRADE_TIME_LIMIT
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    # Nine files on two or more processors, the slowest stopped at its time limit.
    assert elapsed < 4 * GRADE_TIME_LIMIT

    summary = result.stdout.splitlines()[-1]
    assert summary.startswith(
        f"5 learners, {len(EXERCISES)} exercises: 1 complete, 4 incomplete; results in "
    )
    assert "grades.csv" in summary and "grades.html" in summary

    with (folder / "grades.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 5 * sum(len(e.requirements.chosen(False)) for e in EXERCISES.values())
    results = {(row["learner"], row["exercise"], row["requirement"]): row for row in rows}

    def row_of(learner: str, exercise: str) -> list[dict]:
        return [row for row in rows if row["learner"] == learner and row["exercise"] == exercise]

    assert all(row["result"] == "met" for row in rows if row["learner"] == "bob_correct")
    assert all(row["result"] == "met" for row in row_of("cat_partial", "uppercase_server"))
    partial = {row["requirement"]: row["result"] for row in row_of("cat_partial", "chat_server")}
    assert [key for key, verdict in partial.items() if verdict != "met"] == [
        "sender_does_not_receive_own_message"
    ]
    assert all(row["result"] == "no file" for row in row_of("cat_partial", "chat_client"))
    syntax = row_of("dan_syntax_error", "chat_server")
    assert all(
        row["result"] == "not met" and "Python cannot read" in row["detail"] for row in syntax
    )
    # Only the latest output of a program that floods it is kept, and the checks still work.
    assert all(row["result"] == "met" for row in row_of("eve_floods", "uppercase_server"))
    # Whether port 8765 is free or taken, the launcher puts it on a free port: it is checked
    # beside a correct server, and told only that it ignores --port.
    squatter = {
        row["requirement"]: row["result"] for row in row_of("amy_squats_port", "chat_server")
    }
    assert [key for key, verdict in squatter.items() if verdict != "met"] == [
        "takes_host_and_port_options"
    ]
    assert results[("amy_squats_port", "uppercase_server", "replies_in_upper_case")]["result"] == (
        "no file"
    )

    page = (folder / "grades.html").read_text(encoding="utf-8")
    assert page.count('<tr class="complete">') == 1
    assert "<script>" not in page and "&lt;script&gt;" in page  # What learners wrote is escaped.
    assert re.search(r"""(src|href)=|url\(|@import""", page) is None  # Self-contained.
    assert "not met.&#10;&#10;Alice sent &quot;Hi there&quot;; only the others" in page
    # Bob's every requirement, Cat's uppercase server and all but one of her chat server's,
    # Eve's uppercase server.
    sizes = {name: assignment_size(name) for name in EXERCISES}
    assert (
        page.count("✔")
        >= sum(sizes.values()) + 2 * sizes["uppercase_server"] + sizes["chat_server"] - 1
    )
    # Points: every one for Bob; Cat's share of hers.
    most = sum(exercise.points for exercise in EXERCISES.values())
    assert f'<td class="total">{most} / {most}</td>' in page
    cat = (
        EXERCISES["uppercase_server"].points
        + EXERCISES["chat_server"].points * (sizes["chat_server"] - 1) / sizes["chat_server"]
    )
    assert f'<td class="total">{round(cat, 1):g} / {most}</td>' in page


@pytest.mark.timeout(10 * HANG_TIME_LIMIT + 60)
def test_a_program_that_hangs_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    folder = write_class(tmp_path / "class", {"eve_hangs": {"chat_server": HANGING_SERVER}})
    result = chatlib(
        "grade", str(folder), "--time-limit", str(HANG_TIME_LIMIT), timeout=10 * HANG_TIME_LIMIT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("1 learner, ")
    with (folder / "grades.csv").open(encoding="utf-8-sig", newline="") as file:
        hang = [row for row in csv.DictReader(file) if row["exercise"] == "chat_server"]
    assert hang and all(row["result"] == "not met" for row in hang)
    assert f"did not finish within {HANG_TIME_LIMIT} s" in hang[0]["detail"]
    if sys.platform == "linux":  # The hanging server died with its checker.
        assert processes_running(str(folder / "eve_hangs")) == []


def test_watch_sees_a_save_of_the_same_size_at_the_same_file_time(tmp_path: Path) -> None:
    """On a file system that keeps times to the second or two (FAT on a USB stick), a quick
    fix of one character keeps both the time and the size: the content still differs."""
    file = tmp_path / "chat_server.py"
    file.write_text("relay(message)\n")
    changes = FileChanges(file)
    assert changes.changed()  # The first look.
    assert not changes.changed()
    before = file.stat()
    file.write_text("relay(messagE)\n")
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_mtime_ns == before.st_mtime_ns and file.stat().st_size == before.st_size
    assert changes.changed()
