"""The chat page for everyone: axe-core finds no serious or critical problem in any state.

axe-core (Deque's accessibility rules engine, from npm: ``npm ci --prefix tests/js``) is
injected into the page by Playwright and run in each state a user goes through: before
joining, with the name refused, joined with a few lines, and disconnected. Screen-reader
users hear connection changes from the page's status region, so those are checked too.

Skipped when ``tests/js/node_modules`` or Chromium is missing, except in CI (``CI`` set),
where the test must run and so fails instead.
"""

import os
import signal

import pytest
from browser import (
    PAGE_TIMEOUT,
    chromium,
    evidence_on_failure,
    expect_line,
    expect_state,
    join_chat,
    say,
)
from conftest import ROOT, receive
from playwright.async_api import expect
from websockets.asyncio.client import connect

from chatlib.serving import page_url

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")  # axe's two highest impacts, of four.

pytestmark = pytest.mark.timeout(90)


def require_axe() -> None:
    """Skip the test when axe-core is not installed; in CI, fail instead."""
    if AXE.exists():
        return
    reason = f"no axe-core at {AXE}: install it with `npm ci --prefix tests/js`"
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the accessibility test, but there is {reason}")
    pytest.skip(reason)


async def serious_violations(page, state: str) -> list[str]:
    """Run axe-core on ``page`` as it is now; one line per serious or critical violation."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=AXE)
    results = await page.evaluate("axe.run(document)")
    return [
        f"{state}: {violation['id']} ({violation['impact']}): {violation['help']};"
        f" at {', '.join(str(node['target']) for node in violation['nodes'])}"
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]


async def test_every_state_of_the_page_passes_axe_and_connection_changes_are_announced(
    start_server_process,
):
    require_axe()
    server = await start_server_process("chat-server")
    found: list[str] = []
    pages: list = []
    async with (
        chromium() as browser,
        evidence_on_failure("page-accessibility", pages),
        connect(server.url) as ann,
    ):
        await ann.send("Ann")
        await receive(ann)
        # The page allows only its own scripts (Content-Security-Policy); axe is the test's.
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        pages.append(page)
        page.set_default_timeout(PAGE_TIMEOUT)
        status = page.get_by_role("status")

        await page.goto(page_url(server.url))
        await expect_state(page, "connected")
        await expect(status).to_have_text("Connected to the chat server.")
        found += await serious_violations(page, "before joining")

        await page.get_by_label("Your name").fill("ann")
        await page.get_by_label("Your name").press("Enter")
        await expect(page.get_by_role("alert")).to_contain_text('"ann" is already taken')
        found += await serious_violations(page, "name refused")

        await join_chat(page, "Bea")
        assert await receive(ann) == "[Server]: Bea has joined the chat."
        await say(page, "Hello Ann")
        assert await receive(ann) == "[Bea]: Hello Ann"
        await ann.send("Hi Bea, welcome")
        await expect_line(page, "[Ann]: Hi Bea, welcome")
        found += await serious_violations(page, "joined")

        await ann.close()
        server.send_signal(signal.SIGINT)
        assert (await server.exited()).returncode == 0
        await expect_state(page, "disconnected")
        await expect(status).to_have_text("Disconnected from the chat server. Trying to reconnect…")
        found += await serious_violations(page, "disconnected")

        assert found == [], "axe-core found serious problems:\n" + "\n".join(found)
