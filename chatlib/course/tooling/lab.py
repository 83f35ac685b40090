"""``python -m chatlib lab``: open the lesson in JupyterLab, with the course's Python everywhere.

``make lab`` runs this, and so do the README's other routes (``uv run chatlib lab``, ``poetry
run chatlib lab``, ``.venv/bin/chatlib lab``), so that JupyterLab opens the same way whatever
installed it:

- **on the course folder**, so that its file browser shows the notebooks, the exercises, the
  solutions, chatlib and the README, and the notebooks' links to them open (JupyterLab cannot
  open anything above the folder it serves);
- **at the first lesson**, ``notebooks/01_echo.ipynb``;
- **with the course's Python first in its terminals.** A terminal runs the learner's shell,
  which reads their start-up file (``~/.bashrc``, ``~/.zshrc``); one that sets up pyenv or
  conda puts *that* Python first on PATH, and ``python -m chatlib check ...`` then fails with
  "No module named 'websockets'". So the terminals' shell reads the learner's start-up file
  first, then puts the course's Python first (the files in ``chatlib/course/tooling/shell/``);
- as root (a container, often), with ``--allow-root``, which JupyterLab refuses to start
  without.

Options after ``lab`` go to JupyterLab as they are: ``chatlib lab --no-browser --port 8899``.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from chatlib.commands import interpreter_folder
from chatlib.course.folders import course_folder

# The lesson JupyterLab opens first, relative to the course folder.
FIRST_LESSON = "notebooks/01_echo.ipynb"
# The start-up files of the terminals' shells (see the module's docstring).
SHELL_FILES = Path(__file__).resolve().parent / "shell"
# What the file browser hides: JupyterLab's own list, and the editable install's metadata.
HIDDEN_FILES = ["__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*~", "*.egg-info"]


def terminal_shell(shell: str) -> list[str] | None:
    """The command JupyterLab runs for a terminal: ``shell``, told to put the course's Python
    first after reading the learner's own start-up files; ``None`` to keep JupyterLab's own
    choice (a shell this does not know, or Windows, where terminals run PowerShell).

    bash reads the start-up file it is given (``--rcfile``), which reads ``~/.bashrc``; zsh
    reads its files from ``$ZDOTDIR``; fish runs ``--init-command`` after its own files.
    """
    if sys.platform == "win32" or not shell:
        return None
    name = Path(shell).name
    if name == "bash":
        return [shell, "--rcfile", str(SHELL_FILES / "bashrc"), "-i"]
    if name == "zsh":
        return ["/usr/bin/env", f"ZDOTDIR={SHELL_FILES / 'zsh'}", shell, "-i"]
    if name == "fish":
        return [shell, "--init-command", "set -gx PATH $CHATLIB_COURSE_BIN $PATH"]
    return None


def lab_environment(environment: dict[str, str]) -> dict[str, str]:
    """JupyterLab's environment: the course's Python first on PATH (its kernels and terminals
    inherit it), and what the terminals' start-up files need to put it first again."""
    bin_folder = str(interpreter_folder())
    changed = dict(environment)
    changed["PATH"] = os.pathsep.join([bin_folder, environment.get("PATH", "")])
    changed["CHATLIB_COURSE_BIN"] = bin_folder
    # zsh reads the learner's files from here (their ZDOTDIR, else their home).
    user_zdotdir = environment.get("ZDOTDIR") or environment.get("HOME") or str(Path.home())
    changed["CHATLIB_USER_ZDOTDIR"] = user_zdotdir
    if sys.prefix != sys.base_prefix:  # A virtual environment: say so, as activate would.
        changed["VIRTUAL_ENV"] = sys.prefix
    return changed


def lab_command(folder: Path, options: list[str], shell: str | None) -> list[str]:
    """The ``jupyter lab`` command line for the course in ``folder``."""
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={folder}",
        f"--LabApp.default_url=/lab/tree/{FIRST_LESSON}",
    ]
    # The file browser shows the course, not the install's leftovers (chatlib.egg-info).
    command += [f"--ContentsManager.hide_globs={pattern}" for pattern in HIDDEN_FILES]
    shell_command = terminal_shell(shell or "")
    if shell_command is not None:
        setting = json.dumps({"shell_command": shell_command})
        command.append(f"--ServerApp.terminado_settings={setting}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return [*command, *options]


def open_lab(options: list[str]) -> int:
    """Start JupyterLab on the course folder (see the module's docstring); its exit status."""
    folder = course_folder()
    if importlib.util.find_spec("jupyterlab") is None:
        print(
            f"JupyterLab is not installed for {sys.executable}: run `make lab`, or install the"
            " course with its dependencies (pip install -e .), then try again.",
            file=sys.stderr,
        )
        return 2
    command = lab_command(folder, options, os.environ.get("SHELL"))
    environment = lab_environment(dict(os.environ))
    if os.name == "posix":
        # This process becomes JupyterLab: Ctrl-C, a SIGTERM or a hub's stop reach it
        # directly, and no parent is left behind to outlive it or be outlived.
        os.chdir(folder)
        os.execve(sys.executable, command, environment)
    try:
        return subprocess.call(command, cwd=folder, env=environment)
    except KeyboardInterrupt:
        # JupyterLab got the Ctrl-C too and shuts itself down; nothing more to say.
        return 130
