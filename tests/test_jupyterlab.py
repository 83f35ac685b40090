"""The lesson in JupyterLab itself, driven in Chromium as a learner would use it.

For each notebook: open it in a real ``jupyter lab`` (headless, on 127.0.0.1, with a token and
temporary Jupyter directories, on a copy of the notebooks), choose *Run > Run All Cells* from
the menu, wait until every cell has been answered, and check each cell as the nbclient tests
do (``problems_in_outputs`` in ``test_notebooks.py``): every cell ran, only cells tagged
``raises-exception`` raised (the exception they name), and the outputs named in the cells'
``expect`` metadata are there. This catches what nbclient cannot: JupyterLab sends every cell
at once, and renders widgets only with ``jupyterlab_widgets`` installed.

What is checked is read from JupyterLab's notebook *model* (``window.jupyterapp``, exposed by
``--LabApp.expose_app_in_browser``), never by counting cells in the page: JupyterLab 4 renders
long notebooks lazily, so a cell out of view may not be in the page yet (that made this test
fail at random on a busy machine). Only the widget check looks at what is drawn, and for it
the test's settings turn that windowing off (``windowingMode: "none"``), so every cell is drawn.

Skipped when Chromium is missing, except in CI (see ``tests/browser.py``). On failure the
message names a screenshot and the page's text.
"""

import contextlib
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from browser import chromium, evidence_on_failure, require_chromium
from lab_process import running_lab
from playwright.async_api import TimeoutError as PlaywrightTimeout
from test_notebooks import (
    LESSONS,
    RAISES,
    SKIP,
    code_cells,
    describe,
    notebook_params,
    problems_in_outputs,
    tags,
)

pytestmark = [
    # Six lessons in a real JupyterLab in Chromium: about three minutes by nature, so
    # `make test-slow` (and CI) runs them; make test runs each lesson's Run All in a kernel.
    pytest.mark.slow,
    # Every lesson in one JupyterLab, one after the other: pytest-xdist keeps the group on one
    # worker, so the module's JupyterLab starts once.
    pytest.mark.xdist_group("jupyterlab"),
]

OPEN_TIMEOUT = 60_000  # milliseconds for a notebook to open with its kernel idle
# A hang bound, not a speed target: several times the slowest lesson's quiet time (notebook
# 04, about 30 s), so that a busy machine is not taken for a hang.
RUN_ALL_TIMEOUT = 180_000  # milliseconds for Run All to finish a notebook

# The user settings of the test's JupyterLab: draw every cell, in view or not.
NOTEBOOK_SETTINGS = {"windowingMode": "none"}
NOTEBOOK_SETTINGS_FILE = Path("@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings")


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory):
    """``jupyter lab`` on a copy of the notebooks; its URL and token. Stopped at the end."""
    require_chromium()
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    root.mkdir()
    for lesson in LESSONS:
        shutil.copy(lesson, root)
    settings = base / "settings"  # The user settings folder that running_lab gives it.
    (settings / NOTEBOOK_SETTINGS_FILE).parent.mkdir(parents=True)
    (settings / NOTEBOOK_SETTINGS_FILE).write_text(json.dumps(NOTEBOOK_SETTINGS))
    command = [sys.executable, "-m", "jupyterlab", "--allow-root", f"--ServerApp.root_dir={root}"]
    with running_lab(command, base) as (url, token):
        yield url, token


# The notebook's panel in the JupyterLab app, found by its path. Each script below starts with
# it; `cells` are the model's cells in the notebook's order (in view or not).
PANEL_SCRIPT = """
    const app = window.jupyterapp;
    const panel = app && [...app.shell.widgets('main')]
        .find(widget => widget.context?.path === path);
    const notebook = panel?.content;
    const cells = notebook?.model ? [...notebook.model.cells] : [];
    const kernel = panel?.sessionContext?.session?.kernel;
"""

# The notebook is open, the settings are applied and its kernel is idle.
READY_SCRIPT = f"""path => {{
    {PANEL_SCRIPT}
    return Boolean(panel?.context.isReady && cells.length && kernel?.status === 'idle');
}}"""

# Watch the messages between JupyterLab and the kernel. A cell is done when the kernel has
# answered its request (execute_reply: ok, error or aborted) and has gone idle after it on
# the output channel (after its last output): the Jupyter protocol's definition, as nbclient
# waits for it. The model's cell states cannot say it: after a cell raises, JupyterLab shows
# the cells still queued behind it as not running ("[ ]"), though the kernel runs them later.
WATCH_SCRIPT = f"""path => {{
    {PANEL_SCRIPT}
    const run = window.chatlibRun = {{sent: new Map(), answered: new Set(), idle: new Set(),
                                     replies: []}};
    kernel.anyMessage.connect((_, {{msg, direction}}) => {{
        const parent = msg.parent_header?.msg_id;
        if (direction === 'send' && msg.header.msg_type === 'execute_request') {{
            run.sent.set(msg.header.msg_id, msg.content.code.trim().split('\\n')[0]);
        }} else if (direction === 'recv' && msg.header.msg_type === 'execute_reply') {{
            run.answered.add(parent);
            const {{status, ename, evalue}} = msg.content;
            run.replies.push({{cell: run.sent.get(parent) ?? '?', status, ename, evalue}});
        }} else if (direction === 'recv' && msg.header.msg_type === 'status'
                   && msg.content.execution_state === 'idle') {{
            run.idle.add(parent);
        }}
    }});
}}"""

# Run All has finished when JupyterLab has sent every non-empty code cell and each is done.
FINISHED_SCRIPT = """([path, expected]) => {
    const run = window.chatlibRun;
    return run.sent.size === expected
        && [...run.sent.keys()].every(id => run.answered.has(id) && run.idle.has(id));
}"""

# Each cell as nbformat JSON (its outputs and execution count from the model), and the text
# drawn in its output area (for the widget check).
CELLS_SCRIPT = f"""path => {{
    {PANEL_SCRIPT}
    return {{
        windowingMode: notebook.notebookConfig.windowingMode,
        replies: window.chatlibRun.replies,
        unanswered: [...window.chatlibRun.sent]
            .filter(([id]) => !window.chatlibRun.answered.has(id)
                              || !window.chatlibRun.idle.has(id))
            .map(([, firstLine]) => firstLine),
        cells: cells.map((cell, index) => ({{
            json: cell.toJSON(),
            drawn: [...(notebook.widgets[index]?.node
                        .querySelectorAll('.jp-OutputArea-output') ?? [])]
                   .map(output => output.textContent).join('\\n'),
        }})),
    }};
}}"""

# A traceback or an exception written on stderr (by a server's task, say), not raised by the
# cell: IPython starts a traceback with a dashed line.
STDERR_ERROR = re.compile(r"\s*(-----|\w+(Error|Exception|Interrupt)\b)")


def problems_in_lab(path: Path, notebook: nbformat.NotebookNode, shown: dict) -> list[str]:
    """What is wrong with the notebook as JupyterLab ran it; empty when all is well."""
    if shown["windowingMode"] != NOTEBOOK_SETTINGS["windowingMode"]:
        return [
            f"JupyterLab ignored the test's settings: windowingMode is {shown['windowingMode']}"
        ]
    cells = [nbformat.from_dict(cell["json"]) for cell in shown["cells"]]
    if [cell.source for cell in cells] != [cell.source for cell in notebook.cells]:
        return [f"JupyterLab's model of {path.name} does not hold the notebook's cells"]
    problems = []
    for index, _ in code_cells(notebook):
        cell = cells[index]  # As JupyterLab ran it: with its outputs and execution count.
        if SKIP in tags(cell):
            continue
        where = describe(path, index, cell)
        if cell.execution_count is None:
            problems.append(f"{where} did not finish: it has no execution count")
            continue
        problems.extend(problems_in_outputs(path, index, cell))
        if RAISES not in tags(cell):
            problems.extend(
                f"{where} wrote an error on stderr:\n    {output.text[:500]}"
                for output in cell.outputs
                if output.output_type == "stream"
                and output.name == "stderr"
                and STDERR_ERROR.match(output.text)
            )
        if "VBox(children=" in shown["cells"][index]["drawn"]:
            problems.append(f"{where} shows a widget as text: is jupyterlab_widgets missing?")
    if problems:  # Say what the kernel answered, or did not: that tells why cells are missing.
        problems.extend(f"no answer from the kernel to `{line}`" for line in shown["unanswered"])
        may_raise = {first_line(cell) for cell in notebook.cells if RAISES in tags(cell)}
        problems.extend(
            f"the kernel answered {reply['status']} to `{reply['cell']}`"
            + (f": {reply['ename']}: {reply['evalue']}" if reply.get("ename") else "")
            for reply in shown["replies"]
            if reply["status"] != "ok" and reply["cell"] not in may_raise
        )
    return problems


def first_line(cell: nbformat.NotebookNode) -> str:
    """A cell's first line, as the page names the cell it sent."""
    return cell.source.strip().split("\n")[0]


# The page's own waits, with a minute to spare: they, not pytest, say what went wrong.
@pytest.mark.timeout((OPEN_TIMEOUT + RUN_ALL_TIMEOUT) // 1000 + 60)
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
        await page.wait_for_function(READY_SCRIPT, arg=path.name, timeout=OPEN_TIMEOUT)

        await page.evaluate(WATCH_SCRIPT, path.name)
        await page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        await page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        # On a timeout, an error stopped Run All or a cell hangs: the checks below say which.
        with contextlib.suppress(PlaywrightTimeout):
            await page.wait_for_function(
                FINISHED_SCRIPT, arg=[path.name, len(code_cells(notebook))], timeout=RUN_ALL_TIMEOUT
            )

        problems = problems_in_lab(path, notebook, await page.evaluate(CELLS_SCRIPT, path.name))
        assert not problems, "\n".join(problems)
