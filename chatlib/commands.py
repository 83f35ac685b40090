"""How to write a chatlib command so that the learner can type it as printed.

Every program of the course tells the learner what to type next: "start a server first with
`python -m chatlib chat-server`", "run `python -m chatlib check chat_server`". Plain ``python``
is right only where it is the course's Python: an activated virtual environment, JupyterLab's
terminals under ``chatlib lab``, a JupyterHub's environment. In a terminal whose start-up file
sets up pyenv or conda, ``python`` is another interpreter, without websockets or chatlib.

So a command names ``python`` only when the ``python`` on this process's PATH is this very
interpreter; otherwise it names this interpreter as the learner would type it from here
(``.venv/bin/python`` in the course folder, the full path elsewhere). Inside a Jupyter kernel
the terminal's PATH cannot be seen (a hub's terminal may lack the kernel's environment), so
the full path is used there, except under ``chatlib lab``, whose terminals put this
interpreter first. ``chatlib.course.notebook.terminal_command`` goes further for notebooks:
it also changes to the course folder first.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path


def in_kernel() -> bool:
    """True inside a Jupyter kernel (whose PATH says nothing of the learner's terminals)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    return shell is not None and hasattr(shell, "kernel")


def interpreter_folder() -> Path:
    """The folder of this interpreter, not following links: ``.venv/bin`` (``Scripts`` on
    Windows) in a virtual environment, where the ``chatlib`` command is too."""
    return Path(os.path.abspath(sys.executable)).parent


def _python_on_path_is_this_one() -> bool:
    """True when typing ``python`` here runs this interpreter.

    Compared as paths, without following links: a virtual environment's ``python`` is a link
    to the interpreter it was made from, which lacks the environment's packages.
    """
    found = shutil.which("python")
    if found is None:
        return False
    return Path(os.path.abspath(found)).parent == interpreter_folder()


def _lab_terminals_run_this_one() -> bool:
    """True in a kernel of a JupyterLab that ``chatlib lab`` started for this interpreter: its
    terminals put this interpreter's folder first on PATH (``chatlib/course/tooling/lab.py``)."""
    course_bin = os.environ.get("CHATLIB_COURSE_BIN")
    return course_bin is not None and Path(course_bin) == interpreter_folder()


def typed_python() -> str:
    """This interpreter as the learner types it here: ``python``, ``.venv/bin/python`` or a
    full path (see the module's docstring)."""
    if in_kernel() and _lab_terminals_run_this_one():
        return "python"
    if not in_kernel() and _python_on_path_is_this_one():
        return "python"
    executable = Path(os.path.abspath(sys.executable))
    here = Path(os.path.abspath(os.getcwd()))
    if not in_kernel() and executable.is_relative_to(here):
        return str(executable.relative_to(here))
    return str(executable)


# The shells a printed command is written for. JupyterLab's terminals on Windows, and Windows
# Terminal, run PowerShell; cmd.exe is the older console's; everything else is a POSIX shell.
POSIX, POWERSHELL, CMD = "posix", "powershell", "cmd"
# What PowerShell takes as one word without quotes (a path, an option, a URL).
_POWERSHELL_PLAIN_WORD = re.compile(r"[\w.:\\/=+-]+")


def default_shell() -> str:
    """The shell a learner's terminal runs on this system: PowerShell on Windows, else POSIX."""
    return POWERSHELL if sys.platform == "win32" else POSIX


def _powershell_word(word: str) -> str:
    """``word`` for PowerShell: as is when plain, else in single quotes (a quote doubled)."""
    if _POWERSHELL_PLAIN_WORD.fullmatch(word):
        return word
    return "'" + word.replace("'", "''") + "'"


def quoted(words: list[str], shell: str | None = None) -> str:
    """``words`` as one command line for ``shell`` (this system's by default), each word
    quoted as that shell needs.

    PowerShell takes a quoted word at the start of a line as a string, not a command: the
    call operator ``&`` goes in front of it (``& 'C:\\Users\\Jane Doe\\python.exe' -m ...``).
    """
    shell = shell or default_shell()
    if shell == POSIX:
        return shlex.join(words)
    if shell == CMD:
        return subprocess.list2cmdline(words)
    written = [_powershell_word(word) for word in words]
    if written and written[0] != words[0]:
        written[0] = f"& {written[0]}"
    return " ".join(written)


def in_folder(folder: str, words: list[str], shell: str | None = None) -> str:
    """The command line that goes to ``folder``, then runs ``words``, in ``shell``.

    PowerShell 5.1 (Windows' own) has no ``&&``: its separator is ``;``. cmd's ``cd`` changes
    drive only with ``/d``.
    """
    shell = shell or default_shell()
    if shell == POWERSHELL:
        return f"Set-Location -LiteralPath {_powershell_word(folder)}; {quoted(words, shell)}"
    if shell == CMD:
        return f"cd /d {subprocess.list2cmdline([folder])} && {quoted(words, shell)}"
    return f"cd {shlex.quote(folder)} && {quoted(words, shell)}"


def chatlib_command(*args: str) -> str:
    """The command line that runs ``python -m chatlib ARGS`` with this interpreter, as the
    learner types it here: ``chatlib_command("check", "chat_server")`` is
    ``python -m chatlib check chat_server`` in an activated environment."""
    return quoted([typed_python(), "-m", "chatlib", *args])
