"""The lesson in JupyterLab itself, driven in Chromium as a learner would use it.

For each notebook: open it in a real ``jupyter lab`` (headless, on 127.0.0.1, with a token and
temporary Jupyter directories, on a copy of the notebooks), choose *Run > Run All Cells* from
the menu, wait until the kernel is idle, and check that every cell ran (no ``[*]`` and no
``[ ]`` prompt left), that only cells tagged ``raises-exception`` show an error, and that the
outputs named in the cells' ``expect`` metadata are on the page. This catches what nbclient
cannot: JupyterLab sends every cell at once, and renders widgets only with
``jupyterlab_widgets`` installed.

Skipped when Chromium is missing, except in CI (see ``tests/browser.py``). On failure the
message names a screenshot and the page's text.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from browser import chromium, evidence_on_failure, require_chromium
from playwright.async_api import TimeoutError as PlaywrightTimeout
from test_notebooks import LESSONS, RAISES, SKIP, expectations, notebook_params, tags

from chatlib.serving import free_port

STARTUP_TIMEOUT = 60  # seconds for JupyterLab to answer
RUN_ALL_TIMEOUT = 90_000  # milliseconds for Run All to finish a notebook


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory):
    """``jupyter lab`` on a copy of the notebooks; its URL and token. Stopped at the end."""
    require_chromium()
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    root.mkdir()
    for lesson in LESSONS:
        shutil.copy(lesson, root)
    # Temporary config, runtime, settings and workspaces: nothing of the user's JupyterLab
    # is read or written. The data directories stay: they hold the kernel spec and the
    # jupyterlab_widgets extension, in the virtual environment.
    environment = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        PYTHONUNBUFFERED="1",
    )
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = (base / "jupyter.log").open("w")
    # A session of its own: at the end, the whole group goes, kernels included.
    lab = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).close()
                break
            except OSError:
                if lab.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{(base / 'jupyter.log').read_text()}")
                time.sleep(0.3)
        yield url, token
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(5)
        log.close()


CELLS_SCRIPT = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    return [...panel.querySelectorAll('.jp-Notebook > .jp-WindowedPanel-outer .jp-Cell,'
                                      + ' .jp-Notebook .jp-Cell')]
        .filter((cell, i, all) => all.indexOf(cell) === i)
        .map(cell => ({
            code: cell.classList.contains('jp-CodeCell'),
            prompt: cell.querySelector('.jp-InputPrompt')?.textContent.trim() ?? '',
            outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(output => ({
                mime: output.dataset.mimeType ?? '',
                text: output.textContent,
            })),
        }));
}"""

# Run All has finished when the kernel is idle and the last code cell has its number. Idle
# alone is not enough: between two cells the kernel is idle for a moment, and no prompt shows
# `*`, as the next cell has not been sent yet (seen on a loaded machine, with notebook 03).
FINISHED_SCRIPT = """() => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
    const busy = prompts.some(prompt => prompt.textContent.includes('*'));
    const last = prompts.length ? prompts[prompts.length - 1].textContent : '[1]';
    const status = document.querySelector('#jp-main-statusbar')?.textContent ?? '';
    return status.includes('Idle') && !busy && /\\d/.test(last);
}"""


def is_error(output: dict) -> bool:
    """True for an exception shown by a cell; not for what its servers log on stderr.

    JupyterLab shows both on the same red background (mime type
    ``application/vnd.jupyter.stderr``). IPython starts a traceback with a dashed line; an
    exception with a short form of its own (``PortInUse: ...``) starts with its name.
    """
    if output["mime"] != "application/vnd.jupyter.stderr":
        return False
    text = output["text"].lstrip()
    return (
        text.startswith("-----") or re.match(r"\w+(Error|Exception|Interrupt)\b", text) is not None
    )


@pytest.mark.timeout(150)
@pytest.mark.parametrize("path", notebook_params(LESSONS))
async def test_run_all_cells_in_jupyterlab(jupyter_lab, path: Path) -> None:
    url, token = jupyter_lab
    notebook = nbformat.read(path, as_version=4)
    pages: list = []
    async with chromium() as browser, evidence_on_failure(f"lab-{path.stem}", pages):
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        pages.append(page)
        page.set_default_timeout(30_000)
        # "reset": a fresh workspace, so only this notebook is open.
        await page.goto(f"{url}/lab/tree/{path.name}?token={token}&reset")
        await page.locator(".jp-NotebookPanel:visible").wait_for()
        await page.locator("#jp-main-statusbar", has_text="Idle").wait_for(timeout=60_000)

        await page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        await page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        # On a timeout, an error stopped Run All or a cell hangs: the checks below say which.
        with contextlib.suppress(PlaywrightTimeout):
            await page.wait_for_function(FINISHED_SCRIPT, timeout=RUN_ALL_TIMEOUT)

        shown = await page.evaluate(CELLS_SCRIPT)
        assert len(shown) == len(notebook.cells), (
            f"the page shows {len(shown)} cells; {path.name} has {len(notebook.cells)}"
        )
        problems = []
        for index, (cell, on_page) in enumerate(zip(notebook.cells, shown, strict=True)):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            where = f"{path.name}, cell {index} (`{cell.source.strip().splitlines()[0]}`)"
            if SKIP in tags(cell):
                continue
            if not on_page["prompt"].strip("[]:").isdigit():
                problems.append(f"{where} did not finish: its prompt is {on_page['prompt']}")
            text = "\n".join(output["text"] for output in on_page["outputs"])
            errors = [output["text"] for output in on_page["outputs"] if is_error(output)]
            if RAISES in tags(cell):
                if not errors:
                    problems.append(f"{where} is tagged {RAISES} but shows no error")
            elif errors:
                problems.append(f"{where} shows an error:\n    {errors[0][:500]}")
            problems.extend(
                f"{where} should show {expected!r}; the page shows:\n    {text[:500]}"
                for expected in expectations(cell).get("expect", [])
                if expected not in text
            )
            if "VBox(children=" in text:
                problems.append(f"{where} shows a widget as text: is jupyterlab_widgets missing?")
        assert not problems, "\n".join(problems)
