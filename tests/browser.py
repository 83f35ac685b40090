"""Helpers for the tests that drive a real browser: Debian's Chromium, through Playwright.

No browser is ever downloaded (``playwright install`` is never run): Playwright's wheel brings
its driver, and the browser is the system's ``/usr/bin/chromium`` (``apt-get install
chromium``; ``.ci/run`` installs it). Without it the browser tests are skipped with the reason,
except in CI (the ``CI`` environment variable is set), where they must run and so fail.

When a browser test fails, :func:`evidence_on_failure` saves a screenshot and the text of
every open page, and adds their paths to the failure message.
"""

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import ROOT

from chatlib.course.harness import RunningProgram

CHROMIUM = Path(os.environ.get("CHATLIB_CHROMIUM", "/usr/bin/chromium"))
# As root, Chromium needs --no-sandbox. The machine's network is closed: without the
# background-networking flags Chromium keeps trying to reach Google's servers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(tempfile.gettempdir()) / "chatlib-browser"


def require_chromium() -> None:
    """Skip the test when Chromium is missing; in CI, fail instead."""
    if CHROMIUM.exists():
        return
    reason = (
        f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium`"
        " (or set CHATLIB_CHROMIUM to another Chromium) to run the browser tests"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but there is {reason}")
    pytest.skip(reason)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator:
    """A headless Chromium, closed at the end whatever happens."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def evidence_on_failure(name: str, pages: list) -> AsyncIterator[None]:
    """On a failure inside the block, save each page's screenshot and text; say where."""
    try:
        yield
    except Exception as error:
        folder = Path(tempfile.mkdtemp(prefix=f"chatlib-{name}-"))
        saved = []
        for number, page in enumerate(pages, 1):
            with contextlib.suppress(Exception):
                await page.screenshot(path=folder / f"page{number}.png", full_page=True)
                saved.append(str(folder / f"page{number}.png"))
            with contextlib.suppress(Exception):
                text = await page.inner_text("body")
                (folder / f"page{number}.txt").write_text(text)
                saved.append(str(folder / f"page{number}.txt"))
        where = "\n".join(f"  {path}" for path in saved) or "  (no page could be saved)"
        raise AssertionError(f"{error}\nScreenshots and page texts:\n{where}") from error


def literal(text: str) -> re.Pattern:
    """A pattern that matches ``text`` exactly, for Playwright's ``has_text``."""
    return re.compile(re.escape(text))


@contextlib.asynccontextmanager
async def chromium_with(extra_args: list[str]) -> AsyncIterator:
    """Like :func:`chromium`, with more command-line flags for Chromium.

    For example ``--host-resolver-rules=MAP hub.test 127.0.0.1``, so that pages can be opened
    under a host name that is not ``localhost`` (as on a JupyterHub), without any DNS.
    """
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


def resolve_to_loopback(*host_names: str) -> str:
    """The Chromium flag that makes ``host_names`` mean 127.0.0.1, and nothing else change."""
    return "--host-resolver-rules=" + ", ".join(f"MAP {name} 127.0.0.1" for name in host_names)


# --- The chat page, seen by its user -----------------------------------------------------------

PAGE_TIMEOUT = 10_000  # milliseconds for anything to appear on a chat page


async def join_chat(page, name: str) -> None:
    """Type ``name`` in the chat page's name box, press Enter, and wait for the welcome."""
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Your name").press("Enter")
    await expect_line(page, f"[Server]: Welcome, {name}!")
    await expect_state(page, "connected")


async def say(page, text: str) -> None:
    """Type ``text`` in the chat page's input line and press Enter."""
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_label("Message", exact=True).press("Enter")


async def expect_line(page, text: str) -> None:
    """Wait until the chat page's message log has a line containing ``text``."""
    from playwright.async_api import expect

    await expect(page.locator("#log li", has_text=literal(text)).first).to_be_visible()


async def expect_state(page, state: str, timeout: float = PAGE_TIMEOUT) -> None:
    """Wait until the chat page shows the connection state ``state``."""
    from playwright.async_api import expect

    await expect(page.locator("#state")).to_have_attribute("data-state", state, timeout=timeout)


async def terminal_client(url: str, name: str) -> RunningProgram:
    """``python -m chatlib chat-client`` as a subprocess, as if run in a terminal."""
    command = [sys.executable, "-m", "chatlib", "chat-client", "--url", url, "--name", name]
    return await RunningProgram.start(command, cwd=ROOT)


async def terminal_sees(terminal: RunningProgram, text: str) -> None:
    """Wait until the terminal client printed a line containing ``text``."""
    found = await terminal.stdout.wait_for(re.escape(text), 10)
    assert found, f"the terminal should show {text!r}; it showed:\n{terminal.stdout.text()}"
