"""The course works wherever it is installed and wherever it is opened.

- The learner's files are found from the current folder (a terminal in the course folder, a
  notebook's kernel in ``notebooks/``), not from where chatlib is installed: after a regular
  ``pip install .`` (Binder, a JupyterHub's shared environment) chatlib is in
  ``site-packages/``, far from any ``exercises/``. That case is set up here by pointing
  :data:`chatlib.course.folders.PACKAGE_PARENT` elsewhere, as an installed package's would be.
- A command a notebook prints runs as printed in a shell whose PATH does not hold the
  kernel's environment (a JupyterHub's terminal), from any folder.
- The chat page link goes through the hub's proxy on a JupyterHub, and is the server's own
  address elsewhere.
"""

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from hub_proxy import hub_proxy
from websockets.asyncio.client import connect

from chatlib.chat_server import ChatServer, serve_options
from chatlib.commands import default_shell, in_folder, quoted
from chatlib.course import cli, folders, notebook
from chatlib.course.checks.catalogue import EXERCISES
from chatlib.course.folders import (
    CourseFolderNotFound,
    course_folder,
    learner_file,
    solution_file,
)
from chatlib.course.notebook import chat_page_link, terminal_command

ROOT = Path(__file__).resolve().parent.parent
CHAT_SERVER = EXERCISES["chat_server"]


@pytest.fixture
def installed_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """chatlib as a regular install sees it: its package's folder holds no course."""
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.setattr(folders, "PACKAGE_PARENT", site_packages)
    return site_packages


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the course's learner folders, as a learner's clone holds them."""
    folder = tmp_path / "my course"
    for name in ("exercises", "solutions"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "notebooks").mkdir()
    return folder


def test_a_notebook_in_the_course_finds_its_exercises_though_chatlib_is_installed_elsewhere(
    installed_elsewhere: Path, course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(course / "notebooks")
    assert course_folder() == course.resolve()
    assert learner_file(CHAT_SERVER.file_name) == course.resolve() / "exercises" / "chat_server.py"
    assert solution_file(CHAT_SERVER.file_name).is_file()


def test_a_terminal_in_the_course_folder_or_below_finds_the_same_folder(
    installed_elsewhere: Path, course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for where in (course, course / "exercises"):
        monkeypatch.chdir(where)
        assert course_folder() == course.resolve()


def test_a_checkout_is_found_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An editable install (make lab): chatlib's own folder is the course folder."""
    monkeypatch.chdir(tmp_path)
    assert course_folder() == ROOT


def test_no_course_folder_is_one_line_from_the_command_line(
    installed_elsewhere: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CourseFolderNotFound):
        course_folder()
    assert cli.main(["progress"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("No course folder found:") and error.count("\n") == 1, error
    assert "--folder DIR" in error


def test_a_file_given_by_path_needs_no_course_folder(
    installed_elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chatlib check chat_server --path FILE`` works from anywhere."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "solutions" / "chat_server.py", tmp_path / "mine.py")
    assert cli.main(["check", "chat_server", "--path", "mine.py"]) == 0


def test_a_printed_command_runs_in_a_shell_without_the_kernels_environment(tmp_path: Path):
    """Pasted into a login shell whose PATH lacks this Python, from another folder, it runs."""
    command = terminal_command("-c", "import chatlib, os, sys; print(os.getcwd(), sys.executable)")
    assert sys.executable in command
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": os.environ.get("LANG", "C")}
    ran = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=bare, capture_output=True, text=True, timeout=30
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(ROOT), sys.executable]


def get(url: str) -> str:
    """The body of a plain GET, as text."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


async def test_the_chat_page_link_goes_through_the_hub_on_a_hub(monkeypatch: pytest.MonkeyPatch):
    """On a hub the link is PREFIX proxy/PORT/: through a hub-like proxy it is the chat page."""
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    chat = ChatServer()
    server = await notebook.start_server(
        chat.handler, title="Linked chat", **serve_options(chat.room.limits)
    )
    try:
        link = chat_page_link(server.url)
        assert link.href == f"/user/alice/proxy/{server.port}/"
        assert f'href="{link.href}"' in link._repr_html_()
        async with hub_proxy(link.href.rstrip("/"), server.port) as proxy:
            page = await asyncio.to_thread(get, f"http://127.0.0.1:{proxy.port}{link.href}")
            assert "<title>" in page and "chat.js" in page
            through = f"ws://127.0.0.1:{proxy.port}{link.href}"
            async with connect(through, origin=f"http://127.0.0.1:{proxy.port}") as websocket:
                await websocket.send("Alice")
                async with asyncio.timeout(2):
                    assert "Welcome" in await websocket.recv()
    finally:
        await server.stop()


def test_the_chat_page_link_is_the_servers_address_elsewhere(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert chat_page_link("ws://127.0.0.1:41234").href == "http://127.0.0.1:41234/"


# --- Commands written for the learner's shell -------------------------------------------------

JANE = r"C:\Users\Jane Doe\course"
JANES_PYTHON = rf"{JANE}\.venv\Scripts\python.exe"


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        pytest.param(
            "powershell",
            f"Set-Location -LiteralPath '{JANE}'; & '{JANES_PYTHON}' -m chatlib chat-client"
            " --url ws://127.0.0.1:4242 --name 'O''Neil'",
            id="powershell",
        ),
        pytest.param(
            "cmd",
            f'cd /d "{JANE}" && "{JANES_PYTHON}" -m chatlib chat-client'
            " --url ws://127.0.0.1:4242 --name O'Neil",
            id="cmd",
        ),
    ],
)
def test_a_printed_command_is_written_for_the_windows_shell_it_is_pasted_into(
    shell: str, expected: str
) -> None:
    """PowerShell 5.1 has no && and takes a quoted path as a string (& runs it); cmd's cd
    changes drive only with /d. A folder with a space, and a quote in a name."""
    words = [JANES_PYTHON, "-m", "chatlib", "chat-client", "--url", "ws://127.0.0.1:4242"]
    assert in_folder(JANE, [*words, "--name", "O'Neil"], shell) == expected


def test_a_plain_python_path_needs_no_call_operator_in_powershell() -> None:
    assert quoted([r".venv\Scripts\python.exe", "-m", "chatlib"], "powershell") == (
        r".venv\Scripts\python.exe -m chatlib"
    )


def test_windows_kernels_write_for_powershell_the_shell_of_jupyterlabs_terminals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert default_shell() == "powershell"
    assert terminal_command("-m", "chatlib", "progress").startswith("Set-Location -LiteralPath ")


def test_a_command_names_python_only_where_python_is_this_interpreter(tmp_path: Path) -> None:
    """With another python first on PATH (pyenv, conda), the advice names this one's path."""
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "python").write_text("#!/bin/sh\nexit 1\n")
    (other / "python").chmod(0o755)
    ours = str(Path(sys.executable).parent)
    show = "from chatlib.commands import chatlib_command; print(chatlib_command('progress'))"

    def printed_with(path: str) -> str:
        environment = {**os.environ, "PATH": path}
        ran = subprocess.run(
            [sys.executable, "-c", show], env=environment, cwd=tmp_path, capture_output=True,
            text=True, timeout=30,
        )  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.strip()

    assert printed_with(f"{other}{os.pathsep}{ours}") == shlex.join(
        [sys.executable, "-m", "chatlib", "progress"]
    )
    assert printed_with(f"{ours}{os.pathsep}{other}") == "python -m chatlib progress"
