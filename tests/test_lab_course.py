"""The learner's hour in JupyterLab, started the way ``make lab`` starts it.

One JupyterLab for the module, started with ``python -m chatlib lab`` (what ``make lab``
runs) from a copy of the course folder, as a learner whose ``~/.bashrc`` puts another Python
first on PATH, as pyenv or conda set-ups do (the test's HOME is a temporary folder):

- JupyterLab serves the course folder and opens at the first lesson;
- its terminals run the course's ``python``, though ``~/.bashrc`` puts another first;
- in Chromium: a lesson's link opens the exercise in JupyterLab's editor, the learner pastes
  their answer and saves, and the lesson's check cell reports every requirement met, in a
  left-aligned table with nothing printed after it.

The terminal is driven over JupyterLab's own terminal WebSocket, as its page does.
"""

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import chromium, evidence_on_failure, require_chromium
from lab_process import running_lab
from websockets.asyncio.client import connect

from chatlib.course.checks.renderers import ALL_MET
from chatlib.course.tooling.lab import FIRST_LESSON, lab_environment, terminal_shell

pytestmark = [
    pytest.mark.xdist_group("course-lab"),  # One JupyterLab for the module.
    pytest.mark.skipif(
        sys.platform == "win32",
        reason="JupyterLab's terminals run PowerShell on Windows; these tests drive bash and zsh",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
TERMINAL_TIMEOUT = 30  # seconds for a command typed in a terminal to finish
# What the other Python says: the ~/.bashrc of the test's learner puts it first on PATH.
NOT_THE_COURSES = "this is not the course's python"


def copy_course(folder: Path) -> Path:
    """A copy of the course folder, as a learner's clone holds it after `make lab`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for name in ("exercises", "solutions", "notebooks", "chatlib"):
        shutil.copytree(ROOT / name, folder / name, ignore=ignore)
    shutil.copy(ROOT / "README.md", folder)
    (folder / "chatlib.egg-info").mkdir()  # What `make lab`'s editable install leaves there.
    return folder


def home_with_another_python(home: Path) -> Path:
    """A home whose ``.bashrc`` puts a ``python`` that is not the course's first on PATH."""
    other = home / "other-python" / "bin"
    other.mkdir(parents=True)
    python = other / "python"
    python.write_text(f'#!/bin/sh\necho "{NOT_THE_COURSES}"\nexit 1\n')
    python.chmod(0o755)
    (home / ".bashrc").write_text(f'export PATH="{other}:$PATH"\n')
    return home


@pytest.fixture(scope="module")
def course_lab(tmp_path_factory: pytest.TempPathFactory):
    """``python -m chatlib lab`` on a copy of the course; its URL, token, folder and home."""
    base = tmp_path_factory.mktemp("course-lab")
    course = copy_course(base / "my course")
    home = home_with_another_python(base / "home")
    environment = dict(os.environ, HOME=str(home), SHELL="/bin/bash")
    command = [sys.executable, "-m", "chatlib", "lab"]
    with running_lab(command, base, cwd=course, environment=environment) as (url, token):
        yield url, token, course, home


def api(url: str, token: str, path: str, method: str = "GET") -> dict:
    """One call of Jupyter's REST API, its JSON answer."""
    request = urllib.request.Request(
        f"{url}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


async def run_in_terminal(url: str, token: str, command: str) -> str:
    """Type ``command`` into a new JupyterLab terminal; what it printed until it finished."""
    name = api(url, token, "/api/terminals", method="POST")["name"]
    # The end marker is computed by the shell, so the echo of the typed line never matches it.
    done = "END-OF-COMMAND-42"
    socket_url = url.replace("http://", "ws://") + f"/terminals/websocket/{name}?token={token}"
    printed = ""
    async with connect(socket_url) as terminal:
        await terminal.send(json.dumps(["stdin", f"{command}; echo END-OF-COMMAND-$((6*7))\r"]))
        async with asyncio.timeout(TERMINAL_TIMEOUT):
            while done not in printed:
                kind, *content = json.loads(await terminal.recv())
                if kind == "stdout":
                    printed += content[0]
    return printed.split(done)[0]


def test_the_lab_serves_the_course_folder_and_opens_at_the_first_lesson(course_lab) -> None:
    url, token, _, _ = course_lab
    listed = {item["name"] for item in api(url, token, "/api/contents")["content"]}
    assert {"notebooks", "exercises", "solutions", "chatlib", "README.md"} <= listed
    assert not any(name.endswith(".egg-info") for name in listed), listed
    with urllib.request.urlopen(f"{url}/?token={token}", timeout=10) as response:
        assert response.url.split("?")[0] == f"{url}/lab/tree/{FIRST_LESSON}"


async def test_a_terminal_runs_the_courses_python_though_bashrc_puts_another_first(
    course_lab,
) -> None:
    url, token, _, home = course_lab
    # The learner's set-up really does put the other Python first in an ordinary shell.
    plain = subprocess.run(
        ["bash", "-i", "-c", "python"],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=TERMINAL_TIMEOUT,
    )
    assert NOT_THE_COURSES in plain.stdout

    printed = await run_in_terminal(
        url,
        token,
        'python -c "import sys, websockets; print(sys.prefix)"; python -m chatlib progress',
    )
    assert NOT_THE_COURSES not in printed
    assert sys.prefix in printed, printed
    # The terminal starts in the course folder, where chatlib finds the learner's files.
    assert "Your progress in exercises/" in printed, printed


# The lesson and the exercise the browser test works on, and the cell that checks the file.
LESSON = "notebooks/02_uppercase.ipynb"
EXERCISE = "exercises/uppercase_server.py"
CHECK_CELL = 'await notebook.check("uppercase_server")'
IMPORTS_CELL = "from chatlib.course import notebook"

# The open widget whose document has this path (a notebook or a file), and its model's cells.
WIDGET_SCRIPT = """
    const app = window.jupyterapp;
    const widget = app && [...app.shell.widgets('main')]
        .find(widget => widget.context?.path === path);
"""
OPEN_SCRIPT = f"""path => {{
    {WIDGET_SCRIPT}
    const kernel = widget?.sessionContext?.session?.kernel;
    return Boolean(widget?.context.isReady
                   && (!path.endsWith('.ipynb') || kernel?.status === 'idle'));
}}"""
# Run the cell whose source holds `start`, as Shift-Enter on it would.
RUN_CELL_SCRIPT = f"""([path, start]) => {{
    {WIDGET_SCRIPT}
    const notebook = widget.content;
    notebook.activeCellIndex = [...notebook.model.cells]
        .findIndex(cell => cell.type === 'code' && cell.sharedModel.getSource().includes(start));
    app.shell.activateById(widget.id);
    return app.commands.execute('notebook:run-cell');
}}"""
# The code cell whose source holds `start`, and its outputs as nbformat JSON.
CODE_CELL_SCRIPT = f"""
    {WIDGET_SCRIPT}
    const cell = [...widget.content.model.cells].find(
        cell => cell.type === 'code' && cell.sharedModel.getSource().includes(start));
    const outputs = cell.toJSON().outputs;
"""
OUTPUTS_SCRIPT = f"([path, start]) => {{ {CODE_CELL_SCRIPT} return outputs; }}"
# The check's report has come to its end ("All 7 requirements met", "2 of 7 requirements met").
CHECKED_SCRIPT = f"""([path, start]) => {{
    {CODE_CELL_SCRIPT}
    return JSON.stringify(outputs).includes('requirements met');
}}"""


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_an_exercise_opens_from_the_lessons_link_is_edited_and_passes_its_check_cell(
    course_lab,
) -> None:
    require_chromium()
    url, token, course, _ = course_lab
    answer = (ROOT / "solutions" / "uppercase_server.py").read_text()
    pages: list = []
    async with chromium() as browser, evidence_on_failure("lab-course", pages):
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        pages.append(page)
        page.set_default_timeout(30_000)
        await page.goto(f"{url}/lab/tree/{LESSON}?token={token}&reset")
        await page.wait_for_function(OPEN_SCRIPT, arg=LESSON, timeout=60_000)

        # The lesson's link, as rendered in its markdown, opens the exercise in the editor.
        # (JupyterLab rewrites the href of a link to a local file: found by its text.)
        await page.locator(".jp-RenderedMarkdown a", has_text=EXERCISE).first.click()
        await page.wait_for_function(OPEN_SCRIPT, arg=EXERCISE)
        await page.screenshot(path=screenshot("file-browser-and-exercise"))

        # The learner replaces the starter with their answer (select all, paste) and saves.
        editor = page.locator(".jp-FileEditor .cm-content").first
        await editor.click()
        await page.keyboard.press("Control+a")
        await page.keyboard.insert_text(answer)
        await page.keyboard.press("Control+s")
        saved = course / EXERCISE
        deadline = time.monotonic() + 20
        while saved.read_text() != answer:
            assert time.monotonic() < deadline, "the edited exercise was not saved within 20 s"
            await asyncio.sleep(0.2)
        await page.screenshot(path=screenshot("edited-exercise"))

        # Back in the lesson: its imports, then its check cell.
        for start in (IMPORTS_CELL, CHECK_CELL):
            await page.evaluate(RUN_CELL_SCRIPT, [LESSON, start])
        await page.wait_for_function(CHECKED_SCRIPT, arg=[LESSON, CHECK_CELL], timeout=90_000)
        outputs = await page.evaluate(OUTPUTS_SCRIPT, [LESSON, CHECK_CELL])
        report = page.locator(".jp-OutputArea-output table").last
        await report.scroll_into_view_if_needed()
        await page.screenshot(path=screenshot("check-report"))
        alignments = await report.locator("td").evaluate_all(
            "cells => cells.map(cell => getComputedStyle(cell).textAlign)"
        )

    text = json.dumps(outputs)
    assert re.search(rf"All \d+ {ALL_MET}", text), text
    assert [output["output_type"] for output in outputs] == ["display_data"], outputs
    assert alignments and set(alignments) == {"left"}, alignments


def screenshot(name: str) -> Path:
    """Where a screenshot of this test goes (kept for the record, as the README shows)."""
    folder = Path(os.environ.get("CHATLIB_SCREENSHOTS", "/tmp/chatlib-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (folder / f"{name}.png").unlink()
    return folder / f"{name}.png"


def home_for(shell: str, home: Path) -> Path:
    """A home whose start-up file for ``shell`` puts the other Python first on PATH."""
    home_with_another_python(home)
    other = home / "other-python" / "bin"
    (home / ".zshrc").write_text(f'export PATH="{other}:$PATH"\n')
    return home


@pytest.mark.parametrize("shell_name", ["bash", "zsh"])
def test_each_shell_reads_the_learners_start_up_file_then_puts_the_courses_python_first(
    shell_name: str, tmp_path: Path
) -> None:
    """The terminals' shell command, run as JupyterLab runs it, for each shell it knows."""
    shell = shutil.which(shell_name)
    if shell is None:
        message = f"no {shell_name} here (apt-get install {shell_name})"
        if os.environ.get("CI"):
            pytest.fail(f"CI must test every shell the lab knows, but there is {message}")
        pytest.skip(message)
    home = home_for(shell_name, tmp_path / "home")
    environment = lab_environment({**os.environ, "HOME": str(home)})
    environment.pop("ZDOTDIR", None)
    command = terminal_shell(shell)
    assert command is not None
    typed = (
        'echo "learner: $LEARNER_SETTING"; python -c "import sys, websockets; print(sys.prefix)"\n'
    )
    (home / ".bashrc").write_text((home / ".bashrc").read_text() + "LEARNER_SETTING=kept\n")
    (home / ".zshrc").write_text((home / ".zshrc").read_text() + "LEARNER_SETTING=kept\n")
    ran = subprocess.run(
        command,
        input=typed + "exit\n",
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TERMINAL_TIMEOUT,
    )
    assert NOT_THE_COURSES not in ran.stdout, ran.stdout + ran.stderr
    assert "learner: kept" in ran.stdout, ran.stdout + ran.stderr  # Their own file ran.
    assert sys.prefix in ran.stdout.splitlines(), ran.stdout + ran.stderr
