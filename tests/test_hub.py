"""The course on a real JupyterHub, where every learner shares one machine (as on TLJH).

One JupyterHub for the module (``tests/hub``): ``jupyterhub`` from PyPI on 127.0.0.1, its
``configurable-http-proxy`` from npm, a shared password, the simple local-process spawner.
Two learners, Ada and Bob, log in through the hub's page in Chromium, which reaches the hub as
``hub.test`` (mapped to 127.0.0.1 by a flag: a name that is not ``localhost`` or an address),
and each gets a JupyterLab of their own, with a copy of the course in their home folder.

- Both run notebooks 01-04 with *Run > Run All Cells* at the same time: no cell may fail
  (on fixed ports, the second learner got "PortInUse: Port 8702 is taken"), every server a
  notebook starts listens on a port the operating system chose (so two learners' servers
  never share one), and each notebook's own checks (who is in a room, what each client
  received) hold for both, which they would not if one's clients reached the other's servers.
- Each opens the chat page at the link their notebook prints (``/user/NAME/proxy/PORT/``),
  joins, and chats with a chat client started from their notebook; the two rooms run at once
  and neither page sees the other learner. A page of another site is refused, in Chromium
  with the learner's cookies (by the learner's Jupyter server) and straight at the chat server
  under a name pointed at 127.0.0.1 (by the chat server's Origin check).
- The chat-client command notebook 04 prints, typed as printed into a new JupyterLab terminal
  (a login shell in the home folder, whose PATH lacks the kernel's environment), joins the
  learner's room and chats with the notebook.

Skipped with the reason when node, the npm packages, JupyterHub or Chromium are missing,
except in CI, where it fails instead.
"""

import asyncio
import re
from pathlib import Path
from urllib.parse import urljoin

import nbformat
import pytest
from browser import (
    SCREENSHOTS,
    chromium_with,
    evidence_on_failure,
    expect_line,
    join_chat,
    require_chromium,
    resolve_to_loopback,
    say,
)
from conftest import refused_origin
from hub import COURSE, Hub, Learner, code_cell_count, running_hub
from test_jupyterlab import problems_in_lab
from test_notebooks import LESSONS, cell_text, code_cells, problems_in_outputs

HUB_NAME = "hub.test"  # The hub's name as the learners' browser knows it.
USERS = ["ada", "bob"]
RUN_ALL_LESSONS = [path for path in LESSONS if path.name[:2] in {"01", "02", "03", "04"}]

# Per test, the hub's start and the users' logins included. Measured on a busy 2-core machine:
# the hub ready in 4-16 s, Run All of four notebooks for two users at once 110-170 s, the chat
# 30-40 s, the terminal 15 s.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(400),
    # Under pytest-xdist, every test of the module on one worker: they share one hub.
    pytest.mark.xdist_group("jupyterhub"),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    """One JupyterHub for every test of this module, stopped at the end with its users."""
    require_chromium()  # Before the hub starts: without a browser nobody can use it.
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


def system_chosen_ports() -> range:
    """The ports Linux hands out for port 0 (its ephemeral range); fixed ports lie below."""
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


LISTENING = re.compile(r"listening on (?:ws|http)://[\w.-]+:(\d+)")


def ports_not_chosen_by_the_system(lesson: Path, shown: dict) -> list[str]:
    """Each server the notebook said it started on a port the system did not choose."""
    problems = []
    for index, cell in enumerate(shown["cells"]):
        text = cell_text(nbformat.from_dict(cell["json"]))
        problems += [
            f"{lesson.name}, cell {index} started a server on the fixed port {port}"
            for port in map(int, LISTENING.findall(text))
            if port not in system_chosen_ports()
        ]
    return problems


async def run_lessons(learner: Learner) -> list[str]:
    """Run All in each of notebooks 01-04, one after the other; what went wrong."""
    problems = []
    for lesson in RUN_ALL_LESSONS:
        notebook = nbformat.read(lesson, as_version=4)
        await learner.open_notebook(course_path(lesson))
        shown = await learner.run_all(course_path(lesson), code_cell_count(notebook))
        found = problems_in_lab(lesson, notebook, shown)
        found += ports_not_chosen_by_the_system(lesson, shown)
        problems += [f"{learner.name}: {problem}" for problem in found]
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


# --- The chat page through the hub, and a command in a terminal --------------------------------

CHAT_LESSON = next(path for path in LESSONS if path.name.startswith("04"))
CHAT_CELL = "ChatServer()"  # Notebook 04's cell that starts the chat server (and its page).
# Its cell that prints the commands to type in a terminal, the chat client's among them.
COMMANDS_CELL = 'terminal_command("-m", "chatlib", "chat-client"'
ATTACKER = "attacker.test"  # Another site's name, pointed at 127.0.0.1 (DNS rebinding).
BROWSER_FLAGS = [resolve_to_loopback(HUB_NAME, ATTACKER)]
# In a page: open a WebSocket to the URL given; "open" if it opened, "refused" if it failed.
OPEN_WEBSOCKET_SCRIPT = """url => new Promise(resolve => {
    const websocket = new WebSocket(url);
    websocket.onopen = () => { websocket.close(); resolve('open'); };
    websocket.onerror = () => resolve('refused');
    setTimeout(() => resolve('no answer within 10 s'), 10000);
})"""


async def run_cells(learner: Learner, lesson: Path, *fragments: str) -> list[str]:
    """Open ``lesson``, run its first code cell (the imports), then the cells whose source
    contains each fragment, in order, as a learner who picks cells would; what each showed."""
    notebook = nbformat.read(lesson, as_version=4)
    indexes = [code_cells(notebook)[0][0]]
    for fragment in fragments:
        found = [index for index, cell in code_cells(notebook) if fragment in cell.source]
        assert found, f"{lesson.name} has no cell with {fragment!r}"
        indexes.append(found[0])
    path = course_path(lesson)
    await learner.open_notebook(path)
    shown = []
    for index in indexes:
        cell = nbformat.from_dict(await learner.run_cell(path, index))
        problems = problems_in_outputs(lesson, index, cell)
        assert not problems, f"{learner.name}: " + "\n".join(problems)
        shown.append(cell_text(cell))
    return shown[1:]


async def start_chat_server(learner: Learner) -> str:
    """Run notebook 04's cell that starts the chat server; what it showed.

    Afterwards the notebook's kernel has ``server``, the running chat server, and
    ``notebook``, chatlib's notebook helpers.
    """
    (shown,) = await run_cells(learner, CHAT_LESSON, CHAT_CELL)
    return shown


def proxied_link(learner: Learner, shown: str) -> tuple[str, int]:
    """The chat page's link through the hub in what the chat cell showed, and its port."""
    found = re.search(rf"(https?://[^\s\"'<>]+)?/user/{learner.name}/proxy/(\d+)/", shown)
    assert found, (
        f"{learner.name}'s notebook should show the chat page's link through the hub"
        f" (/user/{learner.name}/proxy/PORT/); it showed:\n{shown}"
    )
    return urljoin(learner.hub_url + "/", found.group(0)), int(found.group(2))


async def start_notebook_client(learner: Learner, variable: str, name: str) -> None:
    """From notebook 04, start a chat client as ``variable`` and wait until it has joined."""
    joined = await learner.run_in_kernel(
        course_path(CHAT_LESSON),
        f"{variable} = await notebook.start_program("
        f"'-m', 'chatlib', 'chat-client', '--url', server.url, '--name', '{name}')\n"
        f"print(await {variable}.wait_for_output('Welcome, {name}!', 10))",
    )
    assert joined.strip().endswith("True"), f"{name} did not join {learner.name}'s chat: {joined}"


async def chat_through_the_hub(learner: Learner, pages: list) -> tuple[object, int]:
    """The learner opens the chat page at their notebook's link, joins, and chats with a
    client started from that notebook. Returns the chat page and the chat server's port."""
    link, port = proxied_link(learner, await start_chat_server(learner))
    path = course_path(CHAT_LESSON)
    me, my_notebook = learner.name.capitalize(), f"{learner.name.capitalize()}Notebook"
    await start_notebook_client(learner, "hub_test_client", my_notebook)
    page = await learner.page.context.new_page()
    pages.append(page)
    await page.goto(link)
    await join_chat(page, me)
    await expect_line(page, f"Here now: {my_notebook}.")

    await say(page, f"Hello from {me}'s browser")
    received = await learner.run_in_kernel(
        path, f"print(await hub_test_client.wait_for_output('[{me}]: Hello from', 10))"
    )
    assert received.strip() == "True", f"{my_notebook} did not get {me}'s line: {received}"
    await learner.run_in_kernel(path, f"await hub_test_client.type('Hi {me}, from a cell')")
    await expect_line(page, f"[{my_notebook}]: Hi {me}, from a cell")
    return page, port


async def test_each_learner_chats_through_the_hub_with_their_notebook(hub: Hub) -> None:
    pages: list = []
    async with (
        chromium_with(BROWSER_FLAGS) as browser,
        evidence_on_failure("hub-chat", pages),
    ):
        learners = await asyncio.gather(*(logged_in(browser, hub, u, pages) for u in USERS))
        chats = await asyncio.gather(*(chat_through_the_hub(one, pages) for one in learners))

        # Both chat servers run at once, one per learner; neither page saw the other room.
        ports = [port for _, port in chats]
        assert len(set(ports)) == len(USERS), f"the learners' chat servers share a port: {ports}"
        for learner, (page, _) in zip(learners, chats, strict=True):
            shown = await page.locator("#log").inner_text()
            others = [name.capitalize() for name in USERS if name != learner.name]
            assert not any(other in shown for other in others), (
                f"{learner.name}'s chat page shows another learner's room:\n{shown}"
            )
        SCREENSHOTS.mkdir(exist_ok=True)
        await chats[0][0].screenshot(path=SCREENSHOTS / "hub-chat.png")

        # A page of another site may not chat in the learner's name: not in the browser
        # (the learner's cookies and all), not through the hub, not straight at the server
        # under a name pointed at 127.0.0.1 (DNS rebinding).
        learner, (_, port) = learners[0], chats[0]
        chat_through_hub = f"ws://{HUB_NAME}:{hub.port}/user/{learner.name}/proxy/{port}/"
        other_site = await learner.page.context.new_page()
        pages.append(other_site)
        await other_site.goto(f"http://{ATTACKER}:{hub.port}/hub/login")
        opened = await other_site.evaluate(OPEN_WEBSOCKET_SCRIPT, chat_through_hub)
        assert opened == "refused", f"a page of {ATTACKER} opened {chat_through_hub}"

        cookies = await learner.page.context.cookies()
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        await refused_origin(
            chat_through_hub, f"http://{ATTACKER}:{hub.port}",
            host="127.0.0.1", port=hub.port, additional_headers={"Cookie": cookie},
        )  # fmt: skip
        await refused_origin(
            f"ws://{ATTACKER}:{port}/", f"http://{ATTACKER}:{port}", host="127.0.0.1", port=port
        )


def printed_command(shown: str, program: str) -> str:
    """The command line that runs ``python -m chatlib PROGRAM`` in a cell's output, whole."""
    lines = [line for line in shown.splitlines() if f" -m chatlib {program}" in line]
    assert lines, f"the cell should print the command to run {program}; it showed:\n{shown}"
    return lines[0].strip()


async def test_a_command_copied_from_the_notebook_runs_in_the_learners_terminal(
    hub: Hub,
) -> None:
    pages: list = []
    async with chromium_with(BROWSER_FLAGS) as browser, evidence_on_failure("hub-term", pages):
        learner = await logged_in(browser, hub, USERS[0], pages)
        _, shown = await run_cells(learner, CHAT_LESSON, CHAT_CELL, COMMANDS_CELL)
        command = printed_command(shown, "chat-client")
        me = learner.name.capitalize()
        path = course_path(CHAT_LESSON)
        await start_notebook_client(learner, "hub_test_listener", f"{me}Notebook")

        # In the home folder, where a new terminal starts. There the course's own folder
        # ("chatlib", as git names a clone) would shadow the package for a plain
        # `python -m chatlib`: the command must work from anywhere, as printed.
        await learner.open_terminal("")
        await learner.type_in_terminal(command + "\r")
        named = re.search(r"--name (\w+)", command)
        if named is None:
            await learner.terminal_shows("Your name: ")
            await learner.type_in_terminal(f"{me}Terminal\r")
        name = named.group(1) if named else f"{me}Terminal"
        await learner.terminal_shows(rf"Welcome, {name}! Here now: {me}Notebook")
        await learner.type_in_terminal(f"Hello from {me}'s terminal\r")
        received = await learner.run_in_kernel(
            path,
            f"print(await hub_test_listener.wait_for_output('[{name}]: Hello from {me}', 10))",
        )
        assert received.strip() == "True", f"the notebook's client did not get it: {received}"
        await learner.type_in_terminal("/quit\r")
        await learner.terminal_shows(r"Hello from [\s\S]*[$#] $")  # The shell again.
        await learner.run_in_kernel(path, "await hub_test_listener.stop()")
        await learner.close_terminal()
