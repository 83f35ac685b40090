"""The chat page in a real browser (Chromium, driven by Playwright), with terminal users.

Skipped when Chromium is not installed, except in CI (see ``tests/browser.py``).
"""

import re
import signal

import pytest
from browser import (
    PAGE_TIMEOUT,
    SCREENSHOTS,
    chromium,
    evidence_on_failure,
    expect_line,
    expect_state,
    join_chat,
    say,
    terminal_client,
    terminal_sees,
)
from playwright.async_api import expect

from chatlib.serving import page_url

XSS = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.timeout(90)


async def open_chat(browser, url: str, name: str, dialogs: list):
    """A new browser page on the chat, joined as ``name``."""
    page = await browser.new_page()
    page.set_default_timeout(PAGE_TIMEOUT)
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(page_url(url))
    await join_chat(page, name)
    return page


async def test_two_pages_and_a_terminal_chat_in_one_room(start_server_process):
    server = await start_server_process("chat-server")
    dialogs: list[str] = []
    pages: list = []
    async with chromium() as browser, evidence_on_failure("chat-page", pages):
        ann = await open_chat(browser, server.url, "Ann", dialogs)
        pages.append(ann)
        ben = await open_chat(browser, server.url, "Ben", dialogs)
        pages.append(ben)
        await expect_line(ann, "[Server]: Ben has joined the chat.")
        terminal = await terminal_client(server.url, "Tess")
        try:
            await terminal_sees(terminal, "Welcome, Tess! Here now: Ann, Ben.")
            await expect_line(ann, "[Server]: Tess has joined the chat.")
            await expect_line(ben, "[Server]: Tess has joined the chat.")

            await say(ann, "Hello from Ann's browser")
            await expect_line(ann, "[Ann]: Hello from Ann's browser")  # Her own line.
            await expect_line(ben, "[Ann]: Hello from Ann's browser")
            await terminal_sees(terminal, "[Ann]: Hello from Ann's browser")

            await terminal.type("Hi from Tess's terminal\n")
            await expect_line(ann, "[Tess]: Hi from Tess's terminal")
            await expect_line(ben, "[Tess]: Hi from Tess's terminal")

            await say(ben, XSS)
            await expect_line(ann, f"[Ben]: {XSS}")
            await terminal_sees(terminal, f"[Ben]: {XSS}")
            shown = await ann.locator("#log li").last.text_content()
            assert shown == f"[Ben]: {XSS}", "the message must be shown exactly as typed"
            assert await ann.locator("#log img").count() == 0, "the message became HTML"
            await say(ann, "still here")  # A round trip gives a late alert() time to fire.
            await expect_line(ben, "[Ann]: still here")
            assert dialogs == [], f"a message ran script: dialogs {dialogs}"

            await terminal.type("/quit\n")
            assert await terminal.wait_for_exit(5) == 0
            await expect_line(ann, "[Server]: Tess has left the chat.")
            await expect_line(ben, "[Server]: Tess has left the chat.")
            await ben.close()
            pages.remove(ben)
            await expect_line(ann, "[Server]: Ben has left the chat.")

            SCREENSHOTS.mkdir(exist_ok=True)
            await ann.screenshot(path=SCREENSHOTS / "chat_page.png")
        finally:
            await terminal.stop()


async def test_a_name_refused_by_the_server_is_explained_on_the_page(start_server_process):
    server = await start_server_process("chat-server")
    dialogs: list[str] = []
    pages: list = []
    async with chromium() as browser, evidence_on_failure("chat-name", pages):
        await open_chat(browser, server.url, "Ann", dialogs)
        page = await browser.new_page()
        pages.append(page)
        page.set_default_timeout(PAGE_TIMEOUT)
        await page.goto(page_url(server.url))
        await page.get_by_label("Your name").fill("ann")
        await page.get_by_label("Your name").press("Enter")

        error = page.locator("#name-error")
        await expect(error).to_have_text('"ann" is already taken here. Please choose another name.')
        await page.get_by_label("Your name").fill("Bea")
        await page.get_by_label("Your name").press("Enter")
        await expect_line(page, "[Server]: Welcome, Bea! Here now: Ann.")
        await expect(error).to_be_hidden()


async def test_the_page_reconnects_when_the_server_restarts(start_server_process):
    server = await start_server_process("chat-server")
    dialogs: list[str] = []
    pages: list = []
    async with chromium() as browser, evidence_on_failure("chat-restart", pages):
        page = await open_chat(browser, server.url, "Ann", dialogs)
        pages.append(page)

        server.send_signal(signal.SIGINT)
        assert (await server.exited()).returncode == 0
        await expect_state(page, "disconnected")
        await expect_line(page, "Disconnected from the server: reconnecting…")
        await say(page, "anyone?")
        await expect_line(page, "Not connected: your message was not sent")

        # A failed attempt doubles the wait (0.5 s, then 1 s, 2 s...): the backoff at work. Any
        # whole number of seconds proves it; waiting for "1 s" itself missed it on a busy
        # machine, where that label lasts one second and the page may be at "2 s" already.
        await expect(page.locator("#state")).to_contain_text(
            re.compile(r"retrying in [1-9]\d* s"), timeout=10_000
        )
        restarted = await start_server_process("chat-server", "--port", str(server.port))
        await expect_state(page, "connected", timeout=15_000)
        await expect_line(page, "[Server]: Welcome, Ann! You are the first one here.")

        terminal = await terminal_client(restarted.url, "Tess")
        try:
            await terminal_sees(terminal, "Welcome, Tess! Here now: Ann.")
            await say(page, "anyone?")  # Still in the input line: sent now.
            await terminal_sees(terminal, "[Ann]: anyone?")
        finally:
            await terminal.stop()
