"""The course works from a regular install, as Binder (repo2docker) makes one: ``pip install .``.

A fresh virtual environment gets the course with ``pip install`` of a copy of the repository,
*not* editable: chatlib then lives in ``site-packages/``, away from the learner's files. In
that copy the learner has finished the uppercase exercise (``exercises/uppercase_server.py``
holds the solution), so a check that reads the wrong file (a starter, or nothing) shows it.

- Every lesson runs top to bottom with that environment's own kernel (nbclient, started by
  that environment's Python, in the copy's ``notebooks/``), and notebook 02 checks and runs
  the learner's finished file in the copy's ``exercises/``.
- From the copy's folder, ``python -m chatlib check chat_server --path
  solutions/chat_server.py`` and ``chatlib check uppercase_server`` pass.

pip takes the dependencies from its cache or the configured indexes; measured here, the
install takes about 30 s.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hub import copy_course
from test_notebooks import LESSONS, cell_text, describe, problems_in_outputs

from chatlib.course.checks.renderers import ALL_MET

ROOT = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT = 600  # seconds for pip to install the course and its dependencies
RUN_TIMEOUT = 600  # seconds to run every lesson in that environment
CHECK_TIMEOUT = 120  # seconds for one `chatlib check`
FINISHED = "uppercase_server.py"  # The exercise the learner has finished in the copy.

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(INSTALL_TIMEOUT + RUN_TIMEOUT + 4 * CHECK_TIMEOUT),
    # Under pytest-xdist, both tests on one worker: they share one installed environment.
    pytest.mark.xdist_group("regular-install"),
]

# Run by the new environment's Python: execute each notebook given in its own fresh kernel
# (the environment's own: jupyter_client starts "python3" with this interpreter), in the
# notebook's folder, and save it with its outputs in the output folder. A cell that raises
# stops nothing here: the test reads every cell's outputs and says what went wrong.
RUNNER = """
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

output_folder = Path(sys.argv[1])
for path in map(Path, sys.argv[2:]):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=60, startup_timeout=60,
        allow_errors=True, shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nbformat.write(notebook, output_folder / path.name)
import chatlib
print(json.dumps({"chatlib": chatlib.__file__}))
"""


def run(command: list, cwd: Path, timeout: float, **options) -> subprocess.CompletedProcess:
    """Run ``command``; fail the test with what it printed if it fails or takes too long."""
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, **options
        )
    except subprocess.TimeoutExpired as timed_out:
        pytest.fail(f"{' '.join(map(str, command))} took more than {timeout} s:\n{timed_out}")
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited with {done.returncode}:\n"
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the course, and a fresh environment with it installed (not editable)."""
    base = tmp_path_factory.mktemp("regular-install")
    course, environment = base / "course", base / "venv"
    copy_course(course)
    shutil.copy(course / "solutions" / FINISHED, course / "exercises" / FINISHED)
    run([sys.executable, "-m", "venv", str(environment)], base, 120)
    python = environment / "bin" / "python"
    started = time.monotonic()
    run([python, "-m", "pip", "install", "--quiet", str(course)], base, INSTALL_TIMEOUT)
    print(f"pip install of the course: {time.monotonic() - started:.0f} s")
    return course, environment


def cell_with(notebook: nbformat.NotebookNode, source: str) -> tuple[int, nbformat.NotebookNode]:
    """The notebook's first code cell whose source contains ``source``, with its index."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and source in cell.source:
            return index, cell
    raise AssertionError(f"no cell of the notebook contains {source!r}")


def test_every_lesson_runs_and_uses_the_learners_files_after_pip_install(installed) -> None:
    course, environment = installed
    output = course.parent / "executed"
    output.mkdir()
    lessons = [course / "notebooks" / lesson.name for lesson in LESSONS]
    done = run(
        [environment / "bin" / "python", "-c", RUNNER, output, *lessons],
        course / "notebooks",
        RUN_TIMEOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    imported_from = Path(json.loads(done.stdout.strip().splitlines()[-1])["chatlib"])
    assert imported_from.is_relative_to(environment), f"chatlib was imported from {imported_from}"

    problems = []
    for lesson in lessons:
        notebook = nbformat.read(output / lesson.name, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and cell.source.strip():
                problems += problems_in_outputs(lesson, index, cell)
    # Notebook 02 checks the learner's file, then runs it and talks to it.
    finished_file_checks = {
        'await notebook.check("uppercase_server")': ALL_MET,
        'await websocket.send("hello from a cell")': "received: HELLO FROM A CELL",
    }
    uppercase_path = output / "02_uppercase.ipynb"
    uppercase = nbformat.read(uppercase_path, as_version=4)
    for source, expected in finished_file_checks.items():
        index, cell = cell_with(uppercase, source)
        if expected not in cell_text(cell):
            problems.append(
                f"{describe(uppercase_path, index, cell)} should use the learner's finished"
                f" exercises/{FINISHED} and show {expected!r}; it showed:\n"
                f"    {cell_text(cell).strip() or '(nothing)'}"
            )
    assert not problems, "\n".join(problems)


def test_checks_run_from_the_course_folder_after_pip_install(installed) -> None:
    course, environment = installed
    solution = run(
        [environment / "bin" / "python", "-m", "chatlib", "check", "chat_server",
         "--path", "solutions/chat_server.py"],
        course, CHECK_TIMEOUT,
    )  # fmt: skip
    assert ALL_MET in solution.stdout
    # The installed command (its chatlib is the one in site-packages), on the learner's file.
    learner = run([environment / "bin" / "chatlib", "check", "uppercase_server"], course, 120)
    assert ALL_MET in learner.stdout
    assert f"exercises/{FINISHED}" in learner.stdout
