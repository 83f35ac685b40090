"""The chat page works wherever it is served: behind a hub's path, under a host name, over TLS.

On a JupyterHub the page is opened at ``https://HUB/user/NAME/proxy/PORT/``. Here a small
reverse proxy (``tests/hub_proxy.py``) plays the hub: it strips (or, like
``proxy/absolute/``, keeps) that prefix, passes ``Host`` and ``Origin`` on unchanged and adds
the ``X-Forwarded-*`` headers of JupyterHub's proxy. Chromium reaches it as ``hub.test``, a
name mapped to 127.0.0.1 by a command-line flag (no DNS is asked), and over TLS with a
certificate made for the test by ``openssl``.

Skipped when Chromium is not installed, except in CI (see ``tests/browser.py``).
"""

import os
import shutil
import ssl
import subprocess

import pytest
from browser import (
    PAGE_TIMEOUT,
    SCREENSHOTS,
    chromium_with,
    evidence_on_failure,
    expect_line,
    expect_state,
    join_chat,
    resolve_to_loopback,
    say,
    terminal_client,
    terminal_sees,
)
from conftest import refused_origin
from hub_proxy import hub_proxy

HUB = "hub.test"  # The hub's name as the browser knows it; Chromium maps it to 127.0.0.1.
ATTACKER = "attacker.test"  # A foreign site's name, pointed at 127.0.0.1 (DNS rebinding).
BROWSER_FLAGS = [resolve_to_loopback(HUB, ATTACKER), "--ignore-certificate-errors"]
BACKGROUND = "element => getComputedStyle(element).backgroundColor"

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> ssl.SSLContext:
    """A TLS server context with a self-signed certificate for ``hub.test``."""
    if shutil.which("openssl") is None:
        reason = "no openssl to make a test certificate (apt-get install openssl)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the https test, but there is {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "hub.pem", folder / "hub.key"
    new_certificate = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", f"/CN={HUB}", "-addext", f"subjectAltName=DNS:{HUB}"]
    subprocess.run(
        [*new_certificate, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize(
    ("scheme", "strip_prefix"),
    [("http", True), ("https", True), ("http", False)],
    ids=["http-proxy-strips-prefix", "https-proxy-strips-prefix", "http-proxy-absolute"],
)
async def test_the_page_chats_behind_a_hubs_path_under_a_host_name(
    start_server_process, request, scheme, strip_prefix
):
    server = await start_server_process("chat-server")
    absolute = "" if strip_prefix else "absolute/"
    prefix = f"/user/alice/proxy/{absolute}{server.port}"
    tls = request.getfixturevalue("tls") if scheme == "https" else None
    pages: list = []
    async with (
        hub_proxy(prefix, server.port, strip_prefix=strip_prefix, tls=tls) as proxy,
        chromium_with(BROWSER_FLAGS) as browser,
        evidence_on_failure("page-behind-a-hub", pages),
    ):
        page = await browser.new_page()
        pages.append(page)
        page.set_default_timeout(PAGE_TIMEOUT)
        answers: dict[str, int] = {}
        page.on("response", lambda response: answers.setdefault(response.url, response.status))
        page_address = f"{scheme}://{HUB}:{proxy.port}{prefix}/"

        await page.goto(page_address)
        await join_chat(page, "Alice")

        # Its style sheet and script came from the page's own folder, not from the hub's root.
        for name in ("chat.css", "chat.js"):
            status = answers.get(page_address + name)
            assert status == 200, f"{name} should load from {page_address}; loaded: {answers}"
        assert proxy.upgrades >= 1, "the page's WebSocket must go through the proxy"
        unstyled = "rgba(0, 0, 0, 0)"
        assert await page.locator("#state").evaluate(BACKGROUND) != unstyled, "no style sheet"
        terminal = await terminal_client(server.url, "Tess")
        try:
            await terminal_sees(terminal, "Welcome, Tess! Here now: Alice.")
            await expect_line(page, "[Server]: Tess has joined the chat.")
            await say(page, f"Hello over {scheme}")
            await terminal_sees(terminal, f"[Alice]: Hello over {scheme}")
            await terminal.type("Hi Alice\n")
            await expect_line(page, "[Tess]: Hi Alice")
            SCREENSHOTS.mkdir(exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / f"chat_page_{scheme}_behind_a_hub.png")
        finally:
            await terminal.stop()


async def test_the_hub_link_without_its_final_slash_still_opens_a_working_page(
    start_server_process,
):
    # jupyter-server-proxy forwards /user/alice/proxy/PORT as "/", like the link with a slash;
    # only the page itself can tell which one the browser has, and add the slash.
    server = await start_server_process("chat-server")
    prefix = f"/user/alice/proxy/{server.port}"
    pages: list = []
    async with (
        hub_proxy(prefix, server.port) as proxy,
        chromium_with(BROWSER_FLAGS) as browser,
        evidence_on_failure("page-without-slash", pages),
    ):
        page = await browser.new_page()
        pages.append(page)
        page.set_default_timeout(PAGE_TIMEOUT)
        blocked: list[str] = []
        page.on("console", lambda message: blocked.append(message.text))

        await page.goto(f"http://{HUB}:{proxy.port}{prefix}")
        await join_chat(page, "Alice")

        assert page.url == f"http://{HUB}:{proxy.port}{prefix}/"
        assert "/chat.js" in proxy.paths
        assert not [text for text in blocked if "Content Security Policy" in text], blocked


async def test_a_page_of_another_site_is_refused_through_the_hub(start_server_process):
    server = await start_server_process("chat-server")
    prefix = f"/user/alice/proxy/{server.port}"
    async with hub_proxy(prefix, server.port) as proxy:
        hub_address = f"ws://127.0.0.1:{proxy.port}{prefix}/"

        body = await refused_origin(hub_address, f"http://{ATTACKER}", proxy=None)

    assert b"may not join this chat" in body


async def test_a_foreign_name_pointed_at_the_server_gets_the_page_but_no_chat(
    start_server_process,
):
    # DNS rebinding: the attacker's name now means 127.0.0.1, so the browser takes the chat
    # server for the attacker's own site. The page loads, but its WebSocket is refused.
    server = await start_server_process("chat-server")
    pages: list = []
    async with (
        chromium_with(BROWSER_FLAGS) as browser,
        evidence_on_failure("page-rebinding", pages),
    ):
        page = await browser.new_page()
        pages.append(page)
        page.set_default_timeout(PAGE_TIMEOUT)
        await page.goto(f"http://{ATTACKER}:{server.port}/")

        refusal = f"Refused a WebSocket from a page of http://{ATTACKER}:{server.port}"
        await server.log_line(refusal)
        await expect_state(page, "disconnected")
