"""A real JupyterHub on 127.0.0.1 for the tests, and what its users do there, in Chromium.

:func:`running_hub` starts ``jupyterhub`` (from PyPI) with ``jupyterhub_config.py`` beside
this file: its proxy is ``configurable-http-proxy`` (from npm, ``tests/js``), users log in
with a shared password, and each user's JupyterLab is a process of this machine started by
the simple local-process spawner, in a home folder of its own that holds a copy of the
course. That is The Littlest JupyterHub's arrangement: every learner shares one loopback.

:class:`Learner` is one user in a browser: log in through the hub's page, open a notebook,
choose *Run > Run All Cells*, run one cell, run code in the notebook's kernel, type a command
in a JupyterLab terminal. What a notebook shows is read from JupyterLab's notebook model
(``window.jupyterapp``), as ``tests/test_jupyterlab.py`` does, never by counting cells.

Without ``node``, the npm packages or Chromium the hub tests are skipped with the reason,
except in CI (``CI`` is set), where they fail.
"""

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_jupyterlab import (
    CELLS_SCRIPT,
    FINISHED_SCRIPT,
    NOTEBOOK_SETTINGS,
    NOTEBOOK_SETTINGS_FILE,
    PANEL_SCRIPT,
    READY_SCRIPT,
    WATCH_SCRIPT,
)
from test_notebooks import code_cells

from chatlib.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("jupyterhub_config.py")
PROXY = ROOT / "tests" / "js" / "node_modules" / ".bin" / "configurable-http-proxy"
SINGLEUSER = Path(sys.executable).with_name("jupyterhub-singleuser")
COURSE = "chatlib"  # The course's folder in each user's home.
# What the copy of the course leaves out: the virtual environment (every user's server runs
# this one, as on a hub where the instructor installed the course once), git and caches.
NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    ".git",
    "node_modules",
    "__pycache__",
    "*.egg-info",
    ".*_cache",
    ".hypothesis",
    "build",
    "*.png",
)
# The login shell of a hub's terminal starts from the system's PATH (Debian's /etc/profile),
# not the kernel's environment; the hub is started with it too, so nothing leaks through.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

HUB_STARTUP_TIMEOUT = 60  # seconds for the hub to answer (measured: about 6 s)
SPAWN_TIMEOUT = 120_000  # milliseconds for a user's JupyterLab, after login (measured: ~28 s)
OPEN_TIMEOUT = 60_000  # milliseconds for a notebook to open with its kernel idle
RUN_ALL_TIMEOUT = 150_000  # milliseconds for Run All of one notebook, two users at once
CELL_TIMEOUT = 60_000  # milliseconds for one cell, or one piece of code in a kernel
TERMINAL_TIMEOUT = 30_000  # milliseconds for a terminal to show what is awaited


def require(condition: bool, reason: str) -> None:
    """Skip the test when ``condition`` is false; in CI, fail instead."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the JupyterHub tests, but {reason}")
    pytest.skip(reason)


def require_hub_parts() -> None:
    """Skip (in CI: fail) when JupyterHub, its proxy, or jupyter-server-proxy is missing."""
    require(shutil.which("node") is not None, "there is no node (apt-get install nodejs npm)")
    require(PROXY.exists(), f"there is no {PROXY} (npm ci --prefix tests/js)")
    require(SINGLEUSER.exists(), f"there is no {SINGLEUSER} (pip install jupyterhub)")
    require(
        importable("jupyter_server_proxy"),
        "jupyter-server-proxy is not installed (pip install jupyter-server-proxy)",
    )


def importable(module: str) -> bool:
    """Whether ``module`` can be imported by this interpreter (without importing it)."""
    from importlib.util import find_spec

    return find_spec(module) is not None


@dataclass
class Hub:
    """A running JupyterHub: its public URL as a browser reaches it, and its users' password."""

    port: int
    password: str
    homes: Path
    log: Path

    def url(self, host: str) -> str:
        """The hub's address under the host name ``host`` (a name mapped to 127.0.0.1)."""
        return f"http://{host}:{self.port}"

    def course(self, user: str) -> Path:
        """The user's copy of the course, in their home folder."""
        return self.homes / user / COURSE

    def log_text(self) -> str:
        """Everything the hub, its proxy and the users' servers logged so far."""
        return self.log.read_text(errors="replace")

    def log_problems(self, last: int = 40) -> str:
        """The last ``last`` warnings and errors of the log, for a failure message.

        Requests are logged at level I, and every static file fetched over plain http gets a
        "Skipping XSRF check" warning: both are left out.
        """
        lines = [
            line
            for line in self.log_text().splitlines()
            if not line.startswith("[I ") and "Skipping XSRF check" not in line
        ]
        return "\n".join(lines[-last:]) or "(nothing)"


def copy_course(destination: Path) -> None:
    """A copy of the course as a learner gets it: the repository's files, no environment."""
    shutil.copytree(ROOT, destination, ignore=NOT_COPIED)


def prepare_home(homes: Path, user: str) -> None:
    """A user's home: a copy of the course, and JupyterLab settings that draw every cell."""
    home = homes / user
    copy_course(home / COURSE)
    settings = home / ".jupyter" / "lab" / "user-settings" / NOTEBOOK_SETTINGS_FILE
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps(NOTEBOOK_SETTINGS))


@contextlib.contextmanager
def running_hub(base: Path, users: list[str]) -> Iterator[Hub]:
    """Start JupyterHub with a home per user in ``base``; stop it and every server at the end."""
    require_hub_parts()
    homes, state = base / "home", base / "state"
    state.mkdir()
    for user in users:
        prepare_home(homes, user)
    hub = Hub(port=free_port(), password=secrets.token_hex(8), homes=homes, log=base / "hub.log")
    environment = {
        "PATH": SYSTEM_PATH,
        "LANG": "C.UTF-8",
        "HOME": str(base),
        "CHATLIB_HUB_PORT": str(hub.port),
        "CHATLIB_HUB_API_PORT": str(free_port()),
        "CHATLIB_HUB_PROXY_API_PORT": str(free_port()),
        "CHATLIB_HUB_PROXY": str(PROXY),
        "CHATLIB_HUB_STATE": str(state),
        "CHATLIB_HUB_PASSWORD": hub.password,
        "CHATLIB_HUB_HOMES": str(homes),
        "CHATLIB_HUB_SINGLEUSER": str(SINGLEUSER),
    }
    command = [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)]
    with hub.log.open("w") as log:
        # A session of its own: at the end the whole group goes, proxy and users' servers too.
        process = subprocess.Popen(
            command, cwd=state, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_until_answering(f"http://127.0.0.1:{hub.port}/hub/api/", process, hub)
            yield hub
        finally:
            stop_group(process)


def wait_until_answering(url: str, process: subprocess.Popen, hub: Hub) -> None:
    """Return once ``url`` answers; fail with the hub's log if it exits or takes too long."""
    deadline = time.monotonic() + HUB_STARTUP_TIMEOUT
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterHub did not start; its log:\n{hub.log_text()[-5000:]}")
            time.sleep(0.3)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group (JupyterHub stops its proxy and servers), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(20)
    # The users' servers and kernels are in the same group: nothing may outlive the test.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


# --- A user of the hub, in a browser ------------------------------------------------------------

# Run one cell as the user would (select it, Run > Run Selected Cell); resolve when it is done.
RUN_CELL_SCRIPT = f"""async ([path, index]) => {{
    {PANEL_SCRIPT}
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    await window.jupyterapp.commands.execute('notebook:run-cell');
    return cells[index].toJSON();
}}"""

# Run code in the notebook's kernel, as a cell would; what it printed, and how it ended.
KERNEL_SCRIPT = f"""async ([path, code]) => {{
    {PANEL_SCRIPT}
    const printed = [];
    const future = kernel.requestExecute({{code, store_history: false}});
    future.onIOPub = ({{header, content}}) => {{
        if (header.msg_type === 'stream') printed.push(content.text);
        if (header.msg_type === 'error') printed.push(content.ename + ': ' + content.evalue);
        if (header.msg_type === 'execute_result') printed.push(content.data['text/plain']);
    }};
    const reply = await future.done;
    return {{status: reply.content.status, printed: printed.join('')}};
}}"""

# A new terminal through JupyterLab's own services, in a folder (as the launcher opens it in
# the file browser's folder); what it shows is kept in window.chatlibTerminal.shown.
OPEN_TERMINAL_SCRIPT = """async cwd => {
    const terminal = await window.jupyterapp.serviceManager.terminals.startNew({cwd});
    const record = window.chatlibTerminal = {terminal, shown: ''};
    terminal.messageReceived.connect((_, message) => {
        if (message.type === 'stdout') record.shown += message.content[0];
    });
    return terminal.name;
}"""
TYPE_IN_TERMINAL_SCRIPT = """text => {
    window.chatlibTerminal.terminal.send({type: 'stdin', content: [text]});
}"""
TERMINAL_SHOWS_SCRIPT = """pattern => new RegExp(pattern).test(
    window.chatlibTerminal.shown.replace(/\\x1b\\[[0-9;?]*[A-Za-z]/g, ''))"""
TERMINAL_TEXT_SCRIPT = """() => window.chatlibTerminal.shown"""
CLOSE_TERMINAL_SCRIPT = """() => window.chatlibTerminal.terminal.shutdown()"""


@dataclass
class Learner:
    """One user of the hub in a browser context of their own (their own cookies)."""

    name: str
    hub_url: str  # As the browser reaches the hub, e.g. http://hub.test:PORT
    page: object  # A Playwright page

    @property
    def server_url(self) -> str:
        """The user's Jupyter server, through the hub: ``/user/NAME/``."""
        return f"{self.hub_url}/user/{self.name}"

    async def evaluate(self, script: str, arg: object) -> object:
        """Evaluate ``script`` in the page; fail if it takes more than CELL_TIMEOUT."""
        try:
            async with asyncio.timeout(CELL_TIMEOUT / 1000):
                return await self.page.evaluate(script, arg)
        except TimeoutError:
            pytest.fail(f"{self.name}'s page took more than {CELL_TIMEOUT / 1000:.0f} s")

    async def log_in(self, password: str) -> None:
        """Log in on the hub's page; wait until the hub has started their JupyterLab."""
        await self.page.goto(f"{self.hub_url}/hub/login")
        await self.page.get_by_label("Username").fill(self.name)
        await self.page.get_by_label("Password", exact=False).first.fill(password)
        await self.page.locator("#login_submit").click()
        await self.page.wait_for_url(
            re.compile(rf"/user/{re.escape(self.name)}/lab"), timeout=SPAWN_TIMEOUT
        )

    async def open_notebook(self, path: str) -> None:
        """Open ``path`` (relative to the home folder) alone, and wait for its idle kernel."""
        await self.page.goto(f"{self.server_url}/lab/tree/{path}?reset")
        await self.page.wait_for_function(READY_SCRIPT, arg=path, timeout=OPEN_TIMEOUT)

    async def run_all(self, path: str, code_cell_count: int) -> dict:
        """Run > Run All Cells; wait until the kernel has answered every cell; the model."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        await self.page.evaluate(WATCH_SCRIPT, path)
        await self.page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        await self.page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        # On a timeout, an error stopped Run All or a cell hangs: the caller's checks say which.
        with contextlib.suppress(PlaywrightTimeout):
            await self.page.wait_for_function(
                FINISHED_SCRIPT, arg=[path, code_cell_count], timeout=RUN_ALL_TIMEOUT
            )
        return await self.page.evaluate(CELLS_SCRIPT, path)

    async def run_cell(self, path: str, index: int) -> dict:
        """Run the notebook's cell ``index`` alone; return it (nbformat JSON) with its outputs."""
        return await self.evaluate(RUN_CELL_SCRIPT, [path, index])

    async def run_in_kernel(self, path: str, code: str) -> str:
        """Run ``code`` in the notebook's kernel; return what it printed; fail if it raised."""
        result = await self.evaluate(KERNEL_SCRIPT, [path, code])
        assert result["status"] == "ok", f"{self.name}'s kernel: {result['printed']}"
        return result["printed"]

    async def open_terminal(self, folder: str) -> None:
        """A new JupyterLab terminal in ``folder`` (relative to home); wait for its prompt."""
        await self.evaluate(OPEN_TERMINAL_SCRIPT, folder)
        await self.terminal_shows(r"[$#] $")

    async def type_in_terminal(self, text: str) -> None:
        """Type ``text`` in the terminal (end it with ``\\r`` to press Enter)."""
        await self.page.evaluate(TYPE_IN_TERMINAL_SCRIPT, text)

    async def close_terminal(self) -> None:
        """Shut the terminal down (its shell ends), as its tab's close button would."""
        await self.evaluate(CLOSE_TERMINAL_SCRIPT, None)

    async def terminal_shows(self, pattern: str) -> None:
        """Wait until the terminal has shown text matching ``pattern`` (colors left out).

        ``pattern`` is a JavaScript regular expression: ``[\\s\\S]`` for any character.
        """
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            await self.page.wait_for_function(
                TERMINAL_SHOWS_SCRIPT, arg=pattern, timeout=TERMINAL_TIMEOUT
            )
        except PlaywrightTimeout:
            shown = await self.page.evaluate(TERMINAL_TEXT_SCRIPT)
            pytest.fail(
                f"{self.name}'s terminal should show /{pattern}/ within"
                f" {TERMINAL_TIMEOUT / 1000:.0f} s; it showed:\n{shown[-3000:]}"
            )


def code_cell_count(notebook) -> int:
    """How many cells Run All sends to the kernel (the non-empty code cells)."""
    return len(code_cells(notebook))
