"""Grading that drops into a real class: gradebook CSV, feedback, Gradescope, GitHub Classroom.

Real learner files (the solutions, and copies broken in one known way), checked by the real
grader in subprocesses; what it writes is read back the way its consumer reads it: the CSV
with Python's csv module (what a spreadsheet or an LMS import sees), results.json against a
JSON Schema written from Gradescope's specification, the GitHub Classroom result decoded
and summed as the reporter action does. Every command has a time limit.
"""

import base64
import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from mutants.programs import HANGING_SERVER
from test_tooling import processes_running

from chatlib.course.checks import EXERCISES
from chatlib.course.folders import solution_file
from chatlib.course.tooling.classroom import runner_id
from chatlib.course.tooling.submissions import learner_from_prefix

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).resolve().parent / "schemas"
# Seconds per file: a correct uppercase server checks in about 2 s on a quiet machine; the
# limit leaves room for a busy one. No file of these classes hangs unless a test says so.
TIME_LIMIT = 30
COMMAND_TIMEOUT = 120
HANG_LIMIT = 3  # The limit for the class whose program hangs: it costs exactly this.
MOST = sum(exercise.points for exercise in EXERCISES.values())


def solution(name: str) -> str:
    return solution_file(EXERCISES[name].file_name).read_text(encoding="utf-8")


def uppercase_ascii_only() -> str:
    """The uppercase server with one requirement broken: letters beyond English stay as sent."""
    source = solution("uppercase_server")
    broken = source.replace(
        "message.upper()", "(message.upper() if message.isascii() else message)"
    )
    assert broken != source
    return broken


SYNTAX_ERROR = 'print("never closed"\n'
UPPERCASE_POINTS = EXERCISES["uppercase_server"].points
UPPERCASE_SIZE = len(EXERCISES["uppercase_server"].requirements.chosen(False))


def chatlib(*args: str, timeout: float = COMMAND_TIMEOUT, **options) -> subprocess.CompletedProcess:
    """Run ``python -m chatlib ARGS`` and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        **options,
    )


def add_file(archive: zipfile.ZipFile, name: str, text: str, when: tuple[int, ...]) -> None:
    """Add a file to a zip with the time the learning platform recorded for it."""
    archive.writestr(zipfile.ZipInfo(name, date_time=when), text)


def read_wide(path: Path) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The wide CSV as an LMS import reads it: the points-possible row, and a row per learner."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    return rows[0], {row["learner"]: row for row in rows[1:]}


def test_canvas_file_names_give_the_learner() -> None:
    assert learner_from_prefix("lee_ann_12345_67890") == "lee_ann_12345"
    assert learner_from_prefix("lee_ann_late_12345_67891") == "lee_ann_12345"
    assert learner_from_prefix("Ann Lee_12345_assignsubmission_file") == "Ann Lee_12345"


@pytest.mark.timeout(3 * COMMAND_TIMEOUT)
def test_a_platform_download_gives_a_gradebook_and_feedback_for_every_learner(
    tmp_path: Path,
) -> None:
    """A Canvas-style zip (flat names, a resubmission, a late file) mixed with Moodle folders
    and odd entries: every learner is graded, every oddity is one line."""
    download = tmp_path / "submissions.zip"
    on_time, two_days_late = (2026, 12, 1, 12, 0, 0), (2026, 12, 3, 9, 30, 0)
    with zipfile.ZipFile(download, "w") as archive:
        add_file(
            archive, "lee_ann_101_9001_uppercase_server.py", solution("uppercase_server"), on_time
        )
        # A first try, then a resubmission two days late: the newer one counts.
        add_file(archive, "kim_bo_102_9002_uppercase_server.py", SYNTAX_ERROR, on_time)
        add_file(
            archive,
            "kim_bo_late_102_9003_uppercase_server-1.py",
            uppercase_ascii_only(),
            two_days_late,
        )
        add_file(archive, "ng_cy_103_9004_uppercase_server.py", SYNTAX_ERROR, on_time)
        add_file(
            archive,
            "Dee Ro_104_assignsubmission_file_/uppercase_server.py",
            solution("uppercase_server"),
            on_time,
        )
        add_file(
            archive,
            "Dee Ro_104_assignsubmission_file_/timestamp.txt",
            "2026-12-02 00:30:00",
            on_time,
        )
        add_file(archive, "Zed Oh_105_assignsubmission_file_/essay.docx", "not code", on_time)
        add_file(archive, "README_final.py", "print('not a learner')", on_time)
        add_file(archive, "../escape.py", "print('outside')", on_time)
    out = tmp_path / "grades"

    graded = chatlib(
        "grade",
        str(download),
        "--out",
        str(out),
        "--time-limit",
        str(TIME_LIMIT),
        "--due",
        "2026-12-01 23:59",
        "--late-penalty",
        "10",
    )

    assert graded.returncode == 0, graded.stdout + graded.stderr
    said = graded.stdout
    assert "Traceback" not in said + graded.stderr
    assert "../escape.py: skipped, its name leaves the zip's folder." in said
    assert "README_final.py: skipped, its name ends with no exercise's file name." in said
    assert "Zed Oh_105: no file handed in" in said
    assert (
        "kim_bo_102: two files for uppercase_server;"
        " graded kim_bo_late_102_9003_uppercase_server-1.py" in said
    )
    summary = said.splitlines()[-1]
    assert summary.startswith(f"5 learners, {len(EXERCISES)} exercises: 0 complete, 5 incomplete")
    assert not (tmp_path / "escape.py").exists()

    possible, learners = read_wide(out / "grades-wide.csv")
    assert possible["learner"] == "Points Possible"
    assert float(possible["uppercase_server points"]) == UPPERCASE_POINTS
    assert float(possible["total"]) == MOST and float(possible["maximum"]) == MOST
    assert sorted(learners) == [
        "Dee Ro_104",
        "Zed Oh_105",
        "kim_bo_102",
        "lee_ann_101",
        "ng_cy_103",
    ]

    lee = learners["lee_ann_101"]
    assert lee["uppercase_server status"] == "complete"
    assert lee["chat_server status"] == "no file"
    assert float(lee["total"]) == UPPERCASE_POINTS and lee["days late"] == "0"

    kim = learners["kim_bo_102"]
    kim_points = UPPERCASE_POINTS * (UPPERCASE_SIZE - 1) / UPPERCASE_SIZE
    assert kim["uppercase_server status"] == "incomplete"
    assert float(kim["points"]) == round(kim_points, 2)
    assert kim["days late"] == "2"
    assert float(kim["total"]) == round(kim_points * 0.8, 2)

    assert learners["ng_cy_103"]["uppercase_server status"] == "crashed"
    assert float(learners["ng_cy_103"]["total"]) == 0
    # Dee's timestamp says half an hour late: one day started, 10 % off her points.
    dee = learners["Dee Ro_104"]
    assert dee["days late"] == "1" and float(dee["total"]) == round(UPPERCASE_POINTS * 0.9, 2)
    assert all(learners["Zed Oh_105"][f"{name} status"] == "no file" for name in EXERCISES)

    feedback = sorted(path.name for path in (out / "feedback").iterdir())
    assert feedback == [
        "Dee_Ro_104.md",
        "Zed_Oh_105.md",
        "kim_bo_102.md",
        "lee_ann_101.md",
        "ng_cy_103.md",
    ]
    kim_text = (out / "feedback" / "kim_bo_102.md").read_text(encoding="utf-8")
    # The checker's own report: what was sent, expected and received, and the hint.
    assert "Letters beyond English are raised too" in kim_text
    assert 'The client sent "straße' in kim_text and "Hint: " in kim_text
    assert "2 day(s) after the due date" in kim_text and "10 % per day late" in kim_text
    assert (
        f"uppercase_server.py: {round(kim_points, 1):g} of {UPPERCASE_POINTS} points (incomplete)"
        in kim_text
    )
    ng_text = (out / "feedback" / "ng_cy_103.md").read_text(encoding="utf-8")
    assert "Python cannot read" in ng_text and "(crashed)" in ng_text


@pytest.mark.timeout(10 * HANG_LIMIT + 60)
def test_a_file_that_never_stops_is_marked_timed_out_and_the_rest_is_graded(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    (folder / "eve").mkdir(parents=True)
    (folder / "eve" / "chat_server.py").write_text(HANGING_SERVER, encoding="utf-8")
    (folder / "max_200_300_chat_server.py").write_text(SYNTAX_ERROR, encoding="utf-8")

    graded = chatlib("grade", str(folder), "--time-limit", str(HANG_LIMIT), timeout=10 * HANG_LIMIT)

    assert graded.returncode == 0, graded.stdout + graded.stderr
    _, learners = read_wide(folder / "grades-wide.csv")
    assert learners["eve"]["chat_server status"] == "timed out"
    assert learners["max_200"]["chat_server status"] == "crashed"
    eve = (folder / "feedback" / "eve.md").read_text(encoding="utf-8")
    assert f"did not finish within {HANG_LIMIT} s" in eve and "(timed out)" in eve
    if sys.platform == "linux":  # The hanging server died with its checker.
        assert processes_running(str(folder / "eve")) == []


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (["EMPTY"], "No learners in EMPTY: it should hold"),
        (["BROKEN_ZIP"], "BROKEN_ZIP cannot be unpacked"),
        (["EMPTY", "--late-penalty", "10"], "--late-penalty needs --due"),
        (["EMPTY", "--due", "soon"], "--due soon: not a date"),
    ],
    ids=["empty folder", "broken zip", "penalty without due date", "due date not a date"],
)
def test_bad_input_gets_one_clear_line(tmp_path: Path, arguments: list[str], line: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "download.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("lee_ann_1_2_chat_server.py", "print('hi')\n" * 100)
    # The end record still says "zip", the data under it is gone.
    data = broken.read_bytes()
    broken.write_bytes(data[:30] + b"\0" * 200 + data[230:])
    names = {"EMPTY": str(empty), "BROKEN_ZIP": str(broken)}

    graded = chatlib("grade", *[names.get(argument, argument) for argument in arguments])

    assert graded.stdout.splitlines()[-1].startswith(
        line.replace("EMPTY", str(empty)).replace("BROKEN_ZIP", str(broken))
    )
    assert graded.stderr == ""


def gradescope_schema() -> dict:
    return json.loads((SCHEMAS / "gradescope_results.schema.json").read_text(encoding="utf-8"))


@pytest.mark.timeout(2 * COMMAND_TIMEOUT)
def test_gradescope_autograder_writes_results_json_valid_for_gradescope(tmp_path: Path) -> None:
    """The shipped run_autograder, on a folder laid out as Gradescope's /autograder."""
    autograder = tmp_path / "autograder"
    (autograder / "submission").mkdir(parents=True)
    (autograder / "submission" / "uppercase_server.py").write_text(
        uppercase_ascii_only(), encoding="utf-8"
    )
    script = ROOT / "grading" / "gradescope" / "run_autograder"
    env = dict(
        os.environ,
        AUTOGRADER=str(autograder),
        CHATLIB_PYTHON=sys.executable,
        TIME_LIMIT=str(TIME_LIMIT),
        CHATLIB_GOOD_PRACTICE_VISIBILITY="after_due_date",
    )

    ran = subprocess.run(
        [str(script)], capture_output=True, text=True, env=env, timeout=COMMAND_TIMEOUT
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = json.loads((autograder / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, gradescope_schema())
    tests = results["tests"]
    assert len(tests) == sum(len(e.requirements.chosen(False)) for e in EXERCISES.values())
    assert sum(test["max_score"] for test in tests) == pytest.approx(MOST)
    earned = UPPERCASE_POINTS * (UPPERCASE_SIZE - 1) / UPPERCASE_SIZE
    assert sum(test["score"] for test in tests) == pytest.approx(earned)
    failed = [test for test in tests if test["status"] == "failed" and "uppercase" in test["name"]]
    assert [test["name"] for test in failed] == [
        "uppercase_server.py: Letters beyond English are raised too"
    ]
    assert 'The client sent "straße' in failed[0]["output"] and "Hint: " in failed[0]["output"]
    good_practice = [test for test in tests if "good practice" in test["tags"]]
    assert good_practice and all(test["visibility"] == "after_due_date" for test in good_practice)
    assert all(test["visibility"] == "visible" for test in tests if test not in good_practice)
    assert "No file handed in: chat_server.py." in {test["output"] for test in tests}


def test_check_format_gradescope_is_valid_for_a_file_that_cannot_run(tmp_path: Path) -> None:
    broken = tmp_path / "chat_server.py"
    broken.write_text(SYNTAX_ERROR, encoding="utf-8")
    ran = chatlib("check", "chat_server", "--path", str(broken), "--format", "gradescope")
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout)
    jsonschema.validate(results, gradescope_schema())
    assert all(
        test["score"] == 0 and "Python cannot read" in test["output"] for test in results["tests"]
    )


def reporter_total(results: list[dict]) -> tuple[float, float]:
    """What GitHub Classroom's reporter adds up: tests' scores, and max_score, per runner."""
    scored = [result for result in results if result["max_score"]]
    return sum(t["score"] for r in scored for t in r["tests"]), sum(r["max_score"] for r in scored)


def test_github_classroom_result_has_what_the_reporter_reads(tmp_path: Path) -> None:
    learner_file = tmp_path / "uppercase_server.py"
    learner_file.write_text(uppercase_ascii_only(), encoding="utf-8")

    ran = chatlib("check", "uppercase_server", "--path", str(learner_file), "--format", "classroom")

    assert ran.returncode == 0, ran.stderr  # A failing step would stop the workflow.
    (line,) = ran.stdout.splitlines()  # Appended to $GITHUB_OUTPUT as it is.
    key, encoded = line.split("=", 1)
    assert key == "result"
    result = json.loads(base64.b64decode(encoded).decode("utf-8"))
    schema = json.loads((SCHEMAS / "classroom_runner.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(result, schema)
    assert result["status"] == "fail" and result["max_score"] == UPPERCASE_POINTS
    earned, most = reporter_total([result])
    assert earned == pytest.approx(UPPERCASE_POINTS * (UPPERCASE_SIZE - 1) / UPPERCASE_SIZE)
    assert most == UPPERCASE_POINTS
    (failed,) = [test for test in result["tests"] if test["status"] == "fail"]
    assert failed["name"] == "Letters beyond English are raised too"
    assert 'The client sent "straße' in failed["message"]


def test_the_classroom_workflow_runs_every_exercise_and_reports_each() -> None:
    workflow = yaml.safe_load((ROOT / "grading" / "classroom.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    by_id = {step["id"]: step for step in steps if "id" in step}
    (reporter,) = [step for step in steps if "autograding-grading-reporter" in step.get("uses", "")]
    ids = [runner_id(exercise) for exercise in EXERCISES.values()]
    assert reporter["with"]["runners"] == ",".join(ids)
    for exercise in EXERCISES.values():
        step = by_id[runner_id(exercise)]
        assert runner_id(exercise).isalnum()  # The reporter's runner ids: letters and digits.
        assert f"check {exercise.name} --path exercises/{exercise.file_name}" in step["run"]
        assert step["run"].endswith('--format classroom >> "$GITHUB_OUTPUT"')
        assert f"({exercise.points} points)" in step["name"]
        variable = f"{runner_id(exercise).upper()}_RESULTS"
        assert reporter["env"][variable] == f"${{{{ steps.{runner_id(exercise)}.outputs.result }}}}"


def test_the_gradescope_zip_has_its_scripts_at_the_root_and_executable(tmp_path: Path) -> None:
    target = tmp_path / "autograder.zip"
    built = subprocess.run(
        [sys.executable, str(ROOT / "grading" / "gradescope" / "build_autograder.py"), str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        for script in ("setup.sh", "run_autograder"):
            assert script in names
            assert archive.getinfo(script).external_attr >> 16 & 0o111
        assert "chatlib-src/pyproject.toml" in names
        assert "chatlib-src/chatlib/course/cli.py" in names
        assert not any("__pycache__" in name for name in names)
