"""The chat server answers browsers: the chat page on ``GET /``, and no other site's pages.

These tests speak HTTP and WebSocket from Python; ``tests/test_browser.py`` drives the page
in a real browser.
"""

import asyncio
import urllib.error
import urllib.request

import pytest
from conftest import receive, refused_origin
from websockets.asyncio.client import connect

from chatlib.serving import page_url
from chatlib.web import OriginPolicy

FOREIGN_ORIGIN = "http://attacker.invalid"  # .invalid never resolves: nothing is sent there.


def http_get(url: str) -> tuple[int, dict[str, str], str]:
    """GET ``url``: its status, headers and body, also for an error status."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


async def test_get_slash_answers_the_chat_page_on_the_websocket_port(start_server_process):
    server = await start_server_process("chat-server")
    assert f"Chat page: open {page_url(server.url)} in a browser" in await next_line(server)

    status, headers, body = await asyncio.to_thread(http_get, page_url(server.url))

    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert '<script src="chat.js"' in body and 'href="chat.css"' in body
    assert 'src="/' not in body and 'href="/' not in body, "behind a proxy, / is not this server"
    assert "http://" not in body and "https://" not in body, "the page must work offline"


async def test_the_page_script_and_style_sheet_are_served_with_their_types(start_server_process):
    server = await start_server_process("chat-server")
    base = page_url(server.url)

    js_status, js_headers, script = await asyncio.to_thread(http_get, base + "chat.js")
    css_status, css_headers, _ = await asyncio.to_thread(http_get, base + "chat.css")

    assert (js_status, css_status) == (200, 200)
    assert js_headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert css_headers["Content-Type"] == "text/css; charset=utf-8"
    assert "textContent" in script and "innerHTML" not in script


async def test_any_other_plain_path_answers_404(start_server_process):
    server = await start_server_process("chat-server")

    status, _, body = await asyncio.to_thread(http_get, page_url(server.url) + "nope")

    assert status == 404
    assert "The chat page is at /" in body


async def test_the_page_and_its_files_are_found_under_a_proxys_path(start_server_process):
    # jupyter-server-proxy's proxy/absolute/PORT/ passes its own prefix on to the server.
    server = await start_server_process("chat-server")
    base = page_url(server.url) + f"user/alice/proxy/absolute/{server.port}/"

    page_status, _, page = await asyncio.to_thread(http_get, base)
    script_status, _, script = await asyncio.to_thread(http_get, base + "chat.js")

    assert (page_status, script_status) == (200, 200)
    assert '<script src="chat.js"' in page
    assert "new WebSocket(" in script


async def test_websocket_upgrades_on_the_page_url_still_reach_the_chat(start_server_process):
    server = await start_server_process("chat-server")
    async with connect(server.url + "/") as alice:
        await alice.send("Alice")
        assert await receive(alice) == "[Server]: Welcome, Alice! You are the first one here."


async def test_a_page_from_another_site_is_refused_with_403(start_server_process):
    server = await start_server_process("chat-server")

    body = await refused_origin(server.url, FOREIGN_ORIGIN)

    assert b"may not join this chat" in body


async def test_clients_without_origin_and_the_servers_own_page_are_accepted(
    start_server_process,
):
    server = await start_server_process("chat-server")
    own_page = f"http://127.0.0.1:{server.port}"

    async with connect(server.url) as terminal, connect(server.url, origin=own_page) as browser:
        await terminal.send("Terminal")
        await receive(terminal)
        await browser.send("Browser")
        assert "Welcome, Browser!" in await receive(browser)
        assert await receive(terminal) == "[Server]: Browser has joined the chat."


async def test_allow_origin_lets_another_site_join(start_server_process):
    server = await start_server_process("chat-server", "--allow-origin", FOREIGN_ORIGIN)
    async with connect(server.url, origin=FOREIGN_ORIGIN) as guest:
        await guest.send("Guest")
        assert "Welcome, Guest!" in await receive(guest)


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "localhost:8765", True),
        ("http://localhost:8765", "localhost:8765", True),
        ("http://127.0.0.1:8765", "127.0.0.1:8765", True),
        ("http://[::1]:8765", "[::1]:8765", True),
        ("http://127.0.0.2:8765", "127.0.0.2:8765", True),  # Any IP address the page came from.
        ("http://localhost:9999", "localhost:8765", False),  # Another server on this machine.
        (FOREIGN_ORIGIN, "localhost:8765", False),
        # DNS rebinding: a foreign name pointed at 127.0.0.1 makes Origin and Host agree.
        ("http://attacker.invalid:8765", "attacker.invalid:8765", False),
        ("null", "localhost:8765", False),  # A sandboxed frame or a file:// page.
        ("http://localhost:8765", None, False),
    ],
)
def test_origin_policy(origin, host, allowed):
    assert OriginPolicy("localhost").allows(origin, host) is allowed


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        # A hub reached by its name: the page and the WebSocket came through its proxy.
        ("http://hub.invalid:18000", "hub.invalid:18000", True),
        ("https://hub.invalid", "hub.invalid", True),
        # Another site's page, even through the proxy, is another origin.
        (FOREIGN_ORIGIN, "hub.invalid:18000", False),
        ("http://hub.invalid:18001", "hub.invalid:18000", False),
        ("null", "hub.invalid:18000", False),
    ],
)
def test_origin_policy_through_a_reverse_proxy(origin, host, allowed):
    assert OriginPolicy("localhost").allows(origin, host, via_proxy=True) is allowed


def test_origin_policy_can_be_told_not_to_trust_proxies():
    policy = OriginPolicy("localhost", trust_proxies=False)
    assert not policy.allows("http://hub.invalid:18000", "hub.invalid:18000", via_proxy=True)
    assert policy.allows("http://localhost:8765", "localhost:8765", via_proxy=True)


def test_origin_policy_trusts_the_servers_own_host_name():
    assert OriginPolicy("mybox.invalid").allows("http://mybox.invalid:8765", "mybox.invalid:8765")


async def test_a_foreign_name_pointed_at_the_server_is_refused_unless_a_proxy_forwarded_it(
    start_server_process,
):
    # DNS rebinding: the browser believes hub.invalid is a site of its own, and sends Origin and
    # Host alike. Straight from a browser, nothing proves the name is this server's.
    server = await start_server_process("chat-server")
    named = f"hub.invalid:{server.port}"
    to_the_server = {"host": "127.0.0.1", "port": server.port, "proxy": None}

    await refused_origin(f"ws://{named}/", f"http://{named}", **to_the_server)

    # The same request as JupyterHub's proxy passes it on: with its X-Forwarded-For.
    async with connect(
        f"ws://{named}/",
        origin=f"http://{named}",
        additional_headers={"X-Forwarded-For": "127.0.0.1"},
        **to_the_server,
    ) as hub_user:
        await hub_user.send("Alice")
        assert "Welcome, Alice!" in await receive(hub_user)


async def next_line(server) -> str:
    """The server's second line of output (the first one carries the ws:// URL)."""
    found = await server.program.stdout.wait_for(".", 5, start=1)
    assert found is not None, f"the server printed no second line: {server.program.stdout.text()}"
    return found.string
