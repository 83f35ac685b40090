"""The course on a real JupyterHub, where every learner shares one machine (as on TLJH).

One JupyterHub for the module (``tests/hub``): ``jupyterhub`` from PyPI on 127.0.0.1, its
``configurable-http-proxy`` from npm, a shared password, the simple local-process spawner.
Two learners, Ada and Bob, log in through the hub's page in Chromium, which reaches the hub as
``hub.test`` (mapped to 127.0.0.1 by a flag: a name that is not ``localhost`` or an address),
and each gets a JupyterLab of their own, with a copy of the course in their home folder.

- Both run notebooks 01-04 with *Run > Run All Cells* at the same time: no cell may fail
  (a port taken by the other learner would), every server a notebook starts listens on a port
  the operating system chose, and neither learner's clients reach the other's servers.
- Each opens the chat page at the link their notebook prints, through the hub, joins, and
  chats with a chat client started from their notebook; a page of another site is refused.
- A command copied from a notebook's output into the learner's JupyterLab terminal runs.

Skipped with the reason when node, the npm packages, JupyterHub or Chromium are missing,
except in CI, where it fails instead.
"""

import asyncio
from pathlib import Path

import nbformat
import pytest
from browser import chromium_with, evidence_on_failure, resolve_to_loopback
from hub import COURSE, Hub, Learner, code_cell_count, running_hub
from test_jupyterlab import problems_in_lab
from test_notebooks import LESSONS

HUB_NAME = "hub.test"  # The hub's name as the learners' browser knows it.
USERS = ["ada", "bob"]
RUN_ALL_LESSONS = [path for path in LESSONS if path.name[:2] in {"01", "02", "03", "04"}]

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    """One JupyterHub for every test of this module, stopped at the end with its users."""
    with running_hub(tmp_path_factory.mktemp("jupyterhub"), USERS) as running:
        yield running


def course_path(lesson: Path) -> str:
    """A lesson's path in a user's home folder, as JupyterLab names it."""
    return f"{COURSE}/notebooks/{lesson.name}"


async def logged_in(browser, hub: Hub, user: str, pages: list) -> Learner:
    """A browser context of the user's own, logged in through the hub's page."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(30_000)
    pages.append(page)
    learner = Learner(user, hub.url(HUB_NAME), page)
    await learner.log_in(hub.password)
    return learner


async def run_lessons(learner: Learner) -> list[str]:
    """Run All in each of notebooks 01-04, one after the other; what went wrong."""
    problems = []
    for lesson in RUN_ALL_LESSONS:
        notebook = nbformat.read(lesson, as_version=4)
        await learner.open_notebook(course_path(lesson))
        shown = await learner.run_all(course_path(lesson), code_cell_count(notebook))
        problems += [f"{learner.name}: {p}" for p in problems_in_lab(lesson, notebook, shown)]
    return problems


async def test_two_learners_run_all_lessons_at_once(hub: Hub) -> None:
    pages: list = []
    async with (
        chromium_with([resolve_to_loopback(HUB_NAME)]) as browser,
        evidence_on_failure("hub-run-all", pages),
    ):
        learners = await asyncio.gather(*(logged_in(browser, hub, u, pages) for u in USERS))
        problems = await asyncio.gather(*(run_lessons(learner) for learner in learners))
        problems = [problem for each in problems for problem in each]
        assert not problems, "\n".join(problems) + f"\nThe hub's log:\n{hub.log_problems()}"
