"""A real JupyterLab for the tests, in a process group of its own, with nothing of the user's.

Two test modules start one: ``test_jupyterlab.py`` (``python -m jupyterlab`` on a copy of
the lessons) and ``test_lab_course.py`` (``python -m chatlib lab``, as ``make lab`` starts
it). Both go through :func:`running_lab`, which adds what every test's JupyterLab needs:

- 127.0.0.1, a free port and a token, no browser;
- temporary config, runtime, settings and workspace folders, so nothing of the user's
  JupyterLab is read or written (the data folders stay: they hold the kernel spec and the
  widgets' extension, in the virtual environment);
- ``window.jupyterapp`` (``expose_app_in_browser``): the tests read JupyterLab's models, not
  the page, which JupyterLab draws lazily;
- a session of its own, so that at the end the whole group goes, kernels and shells included.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlib.serving import free_port

STARTUP_TIMEOUT = 60  # seconds for JupyterLab to answer


def options_for_tests(base: Path, port: int, token: str) -> list[str]:
    """The options every test's JupyterLab gets (see the module's docstring)."""
    return [
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip


@contextlib.contextmanager
def running_lab(
    command: list[str], base: Path, cwd: Path | None = None, environment: dict | None = None
) -> Iterator[tuple[str, str]]:
    """Run ``command`` (a JupyterLab, given :func:`options_for_tests` here) until the block
    ends; yield its URL and token once it answers. Its log is ``base/jupyter.log``."""
    port, token = free_port(), secrets.token_hex(16)
    environment = dict(
        environment or os.environ,
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        PYTHONUNBUFFERED="1",
    )
    log_path = base / "jupyter.log"
    with log_path.open("w") as log:
        lab = subprocess.Popen(
            [*command, *options_for_tests(base, port, token)],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_it_answers(lab, f"{url}/api/status?token={token}", log_path)
            yield url, token
        finally:
            os.killpg(lab.pid, signal.SIGTERM)
            try:
                lab.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(lab.pid, signal.SIGKILL)
                lab.wait(5)


def wait_until_it_answers(lab: subprocess.Popen, status_url: str, log_path: Path) -> None:
    """Return once JupyterLab answers; fail with its log when it ends or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            urllib.request.urlopen(status_url, timeout=2).close()
            return
        except OSError:
            if lab.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{log_path.read_text()}")
            time.sleep(0.3)
