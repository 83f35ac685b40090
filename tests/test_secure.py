"""Secure WebSockets: the chat over TLS with a certificate the client verifies, and a private room.

Every certificate comes from a certificate authority that ``trustme`` makes in memory for the
test: the client trusts it through ``--cafile`` (the CA's certificate written to a file), as a
course would hand its own authority to its learners. Nothing leaves 127.0.0.1, and nothing
turns verification off.

The servers and clients are the real programs (``python -m chatlib chat-server`` and
``chat-client`` as subprocesses) or chatlib's handler served in the test's loop, where the
client is what the test is about. Every wait is for a line of output, a message or an exit,
and every wait is bounded.
"""

import asyncio
import base64
import hashlib
import ssl
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from browser import chromium_with, evidence_on_failure, expect_line, say
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.async_api import expect
from redis_server import redis_server  # noqa: F401 (a fixture)
from test_page_accessibility import require_axe, serious_violations
from websockets.asyncio.client import connect
from websockets.asyncio.server import basic_auth
from websockets.exceptions import ConnectionClosedError
from websockets.frames import CloseCode

from chatlib.chat_server import TOKEN_REFUSED, ChatServer, server_tls, token_matches
from chatlib.course.harness import RunningProgram
from chatlib.serving import BackgroundServer

ROOT = Path(__file__).resolve().parent.parent
WAIT = 10.0  # seconds: a generous bound for what takes well under one on a quiet machine
TOKEN = "correct-horse-battery-staple"
WRONG_TOKEN = "correct-horse-battery-stable"
LISTENING = r"wss://\S+:\d+"


@dataclass
class Credentials:
    """The files a course hands out: the server's certificate and key, the CA, the token."""

    certfile: Path
    keyfile: Path
    cafile: Path
    token_file: Path
    wrong_token_file: Path
    authority: trustme.CA


@pytest.fixture
def credentials(tmp_path: Path) -> Credentials:
    """A fresh CA, a certificate it signed for 127.0.0.1 and localhost, and token files."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    files = Credentials(
        certfile=tmp_path / "server.pem",
        keyfile=tmp_path / "server.key",
        cafile=tmp_path / "ca.pem",
        token_file=tmp_path / "token.txt",
        wrong_token_file=tmp_path / "wrong-token.txt",
        authority=authority,
    )
    certificate.cert_chain_pems[0].write_to_path(files.certfile)
    certificate.private_key_pem.write_to_path(files.keyfile)
    authority.cert_pem.write_to_path(files.cafile)
    files.token_file.write_text(TOKEN + "\n")
    files.wrong_token_file.write_text(WRONG_TOKEN + "\n")
    return files


def chatlib_command(*args: str | Path) -> list[str]:
    """``python -m chatlib ARGS`` with the interpreter running the tests."""
    return [sys.executable, "-m", "chatlib", *map(str, args)]


@dataclass
class SecureServer:
    """``chat-server`` running with a certificate and a token, and the URL it printed."""

    program: RunningProgram
    url: str


@pytest.fixture
async def start_secure_server(credentials: Credentials):
    """``start(*more_options)``: ``chat-server --certfile --keyfile --token-file`` on 127.0.0.1.

    Each server listens on a free port; all are stopped (Ctrl-C) at the end of the test.
    """
    started: list[RunningProgram] = []

    async def start(*more_options: str) -> SecureServer:
        command = chatlib_command(
            "chat-server",
            *("--host", "127.0.0.1", "--port", "0"),
            *("--certfile", credentials.certfile, "--keyfile", credentials.keyfile),
            *("--token-file", credentials.token_file),
            *more_options,
        )
        program = await RunningProgram.start(command, cwd=ROOT, keep_all_output=True)
        started.append(program)
        found = await program.stdout.wait_for(LISTENING, WAIT)
        if found is None:
            pytest.fail(f"chat-server printed no wss:// URL:\n{program.stderr.text()}")
        return SecureServer(program, found.group(0))

    yield start
    for program in started:
        await program.stop()


@pytest.fixture
async def secure_server(start_secure_server) -> SecureServer:
    """One ``chat-server`` with a certificate and a token, its room its own."""
    return await start_secure_server()


async def run_client(*args: str | Path, stdin_open: bool = True) -> RunningProgram:
    """Start ``chat-client ARGS``; its standard input stays open, as a terminal's would."""
    program = await RunningProgram.start(
        chatlib_command("chat-client", *args), cwd=ROOT, keep_all_output=True
    )
    if not stdin_open:
        program.end_input()
    return program


async def refusal(*args: str | Path) -> tuple[int | None, str, str]:
    """Run a chat client that should give up on its own: its exit code, stdout and stderr."""
    client = await run_client(*args)
    try:
        exit_code = await client.wait_for_exit(WAIT)
    finally:
        await client.kill()
    return exit_code, client.stdout.text().strip(), client.stderr.text()


def assert_one_line(exit_code: int | None, stdout: str, stderr: str, expected: str) -> None:
    """The client gave up with status 1 and one line that says ``expected``; no traceback."""
    assert exit_code == 1, f"exit code {exit_code}; it printed:\n{stdout}\n{stderr}"
    assert len(stdout.splitlines()) == 1, f"expected one line, got:\n{stdout}"
    assert expected in stdout, f"expected {expected!r} in: {stdout}"
    assert "Traceback" not in stderr, stderr


# --- Who may join: the token ------------------------------------------------------------------


def test_token_matches_only_the_exact_token_whatever_its_type() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert token_matches(TOKEN, TOKEN.encode())
    assert not token_matches(TOKEN, WRONG_TOKEN)
    assert not token_matches(TOKEN, TOKEN[:-1])
    assert not token_matches(TOKEN, "")
    assert not token_matches("zoë", "zoe")


async def test_secure_server_prints_its_wss_and_https_addresses(secure_server) -> None:
    page_line = await secure_server.program.stdout.wait_for(r"https://\S+/", WAIT)

    assert secure_server.url.startswith("wss://127.0.0.1:")
    assert page_line is not None, secure_server.program.stdout.text()
    assert page_line.group(0) == "https" + secure_server.url.removeprefix("wss") + "/"


async def test_terminal_client_with_the_token_joins_over_wss_and_chats(
    secure_server, credentials
) -> None:
    trusting = ssl.create_default_context(cafile=credentials.cafile)
    async with connect(secure_server.url, ssl=trusting, open_timeout=WAIT) as bob:
        await bob.send(TOKEN)
        await bob.send("Bob")
        async with asyncio.timeout(WAIT):
            assert (await bob.recv()).startswith("[Server]: Welcome, Bob!")
        alice = await run_client(
            *("--url", secure_server.url, "--name", "Alice"),
            *("--cafile", credentials.cafile, "--token-file", credentials.token_file),
        )
        try:
            async with asyncio.timeout(WAIT):
                assert await bob.recv() == "[Server]: Alice has joined the chat."
            await alice.type("hello over TLS\n")
            async with asyncio.timeout(WAIT):
                assert await bob.recv() == "[Alice]: hello over TLS"
            await bob.send("hi Alice")
            assert await alice.stdout.wait_for(r"\[Bob\]: hi Alice", WAIT), alice.stdout.text()
        finally:
            await alice.stop()


@pytest.mark.parametrize("token_option", ["none", "wrong"])
async def test_client_without_the_right_token_is_refused_in_one_line(
    secure_server, credentials, token_option
) -> None:
    token_args = () if token_option == "none" else ("--token-file", credentials.wrong_token_file)

    outcome = await refusal(
        "--url", secure_server.url, "--name", "Mallory", "--cafile", credentials.cafile, *token_args
    )

    assert_one_line(*outcome, f"1008 (policy violation) {TOKEN_REFUSED}")


async def test_server_log_says_who_was_refused_but_never_a_token(secure_server, credentials):
    await refusal(
        *("--url", secure_server.url, "--name", "Mallory", "--cafile", credentials.cafile),
        *("--token-file", credentials.wrong_token_file),
    )
    async with connect(
        secure_server.url,
        ssl=ssl.create_default_context(cafile=credentials.cafile),
        open_timeout=WAIT,
    ) as alice:
        await alice.send(TOKEN)
        await alice.send("Alice")
        async with asyncio.timeout(WAIT):
            await alice.recv()

    joined = await secure_server.program.stderr.wait_for("Alice joined the chat", WAIT)
    log = secure_server.program.stdout.text() + secure_server.program.stderr.text()
    assert joined is not None, log
    assert "Refused a client without the room token" in log
    assert TOKEN not in log and WRONG_TOKEN not in log, log


async def test_first_message_that_is_not_the_token_closes_with_1008_before_any_room_message():
    async with (
        BackgroundServer(ChatServer(token=TOKEN).handler) as server,
        connect(server.url, open_timeout=WAIT) as client,
    ):
        await client.send("Alice")  # A name where the token should be.
        with pytest.raises(ConnectionClosedError) as closed:
            async with asyncio.timeout(WAIT):
                await client.recv()

    assert closed.value.rcvd.code == CloseCode.POLICY_VIOLATION
    assert closed.value.rcvd.reason == TOKEN_REFUSED


async def join_over_tls(url: str, cafile: Path, name: str):
    """Connect to a private room at ``url``, send the token and ``name``; return the client."""
    client = await connect(url, ssl=ssl.create_default_context(cafile=cafile), open_timeout=WAIT)
    await client.send(TOKEN)
    await client.send(name)
    async with asyncio.timeout(WAIT):
        assert (await client.recv()).startswith(f"[Server]: Welcome, {name}!")
    return client


async def test_a_room_shared_through_redis_is_private_on_every_server(
    redis_server,  # noqa: F811 (a fixture; first, so that it stops after the chat servers)
    start_secure_server,
    credentials,
) -> None:
    shared = ("--redis", redis_server.url)
    server_a, server_b = await start_secure_server(*shared), await start_secure_server(*shared)
    alice = await join_over_tls(server_a.url, credentials.cafile, "Alice")
    bob = await join_over_tls(server_b.url, credentials.cafile, "Bob")
    try:
        async with asyncio.timeout(WAIT):
            assert await alice.recv() == "[Server]: Bob has joined the chat."
        await bob.send("across servers, over TLS")
        async with asyncio.timeout(WAIT):
            assert await alice.recv() == "[Bob]: across servers, over TLS"

        outcome = await refusal(
            *("--url", server_b.url, "--name", "Mallory", "--cafile", credentials.cafile)
        )
        assert_one_line(*outcome, TOKEN_REFUSED)
    finally:
        await alice.close()
        await bob.close()


# --- TLS mistakes, each explained in one line -------------------------------------------------


@pytest.fixture
async def served_room(credentials: Credentials):
    """Serve a public room in this test's loop: ``start(tls)`` returns its port."""
    servers: list[BackgroundServer] = []

    async def start(tls: ssl.SSLContext | None) -> int:
        servers.append(await BackgroundServer(ChatServer().handler, ssl=tls).start())
        return servers[-1].port

    yield start
    for server in servers:
        await server.stop()


async def test_client_refuses_a_certificate_from_an_unknown_authority(served_room, credentials):
    port = await served_room(server_tls(str(credentials.certfile), str(credentials.keyfile)))

    outcome = await refusal("--url", f"wss://127.0.0.1:{port}", "--name", "Alice")

    assert_one_line(*outcome, "CERTIFICATE_VERIFY_FAILED")
    assert "--cafile" in outcome[1]


async def test_client_refuses_a_certificate_made_for_another_name(
    served_room, credentials, tmp_path
) -> None:
    elsewhere = credentials.authority.issue_cert("chat.invalid")
    certfile = tmp_path / "elsewhere.pem"
    elsewhere.private_key_and_cert_chain_pem.write_to_path(certfile)
    port = await served_room(server_tls(str(certfile)))

    outcome = await refusal(
        "--url", f"wss://127.0.0.1:{port}", "--name", "Alice", "--cafile", credentials.cafile
    )

    assert_one_line(*outcome, "certificate made for another name")


async def test_ws_url_to_a_tls_server_says_to_use_wss(served_room, credentials):
    port = await served_room(server_tls(str(credentials.certfile), str(credentials.keyfile)))

    outcome = await refusal("--url", f"ws://127.0.0.1:{port}", "--name", "Alice")

    assert_one_line(*outcome, "use wss:// instead of ws://")


async def test_wss_url_to_a_server_without_tls_says_to_use_ws(served_room, credentials):
    port = await served_room(None)

    outcome = await refusal(
        "--url", f"wss://127.0.0.1:{port}", "--name", "Alice", "--cafile", credentials.cafile
    )

    assert_one_line(*outcome, "does not speak TLS")
    assert "try ws:// instead of wss://" in outcome[1]


async def test_server_with_a_key_that_is_not_its_certificates_stops_in_one_line(credentials):
    other_key = credentials.authority.issue_cert("localhost").private_key_pem
    other_key.write_to_path(credentials.keyfile)
    command = chatlib_command(
        "chat-server", "--port", "0", "--certfile", credentials.certfile,
        "--keyfile", credentials.keyfile,
    )  # fmt: skip
    program = await RunningProgram.start(command, cwd=ROOT, keep_all_output=True)
    try:
        exit_code = await program.wait_for_exit(WAIT)
    finally:
        await program.kill()

    stderr = program.stderr.text().strip()
    assert exit_code == 1
    assert stderr == (
        f"Cannot start the chat server: cannot use {credentials.certfile}: KEY_VALUES_MISMATCH."
    )


async def test_a_401_is_explained_and_the_urls_password_is_not_repeated() -> None:
    password_asked = basic_auth(realm="chat", credentials=("alice", TOKEN))
    async with BackgroundServer(ChatServer().handler, process_request=password_asked) as server:
        port = server.port
        outcome = await refusal("--url", f"ws://alice:{WRONG_TOKEN}@127.0.0.1:{port}")

    assert_one_line(*outcome, f"ws://alice:***@127.0.0.1:{port} refused the connection (401)")
    assert WRONG_TOKEN not in outcome[1]


# --- The chat page over https, in Chromium ----------------------------------------------------

# Where the browser test keeps its screenshots of the page over https, for review.
SCREENSHOTS = Path(tempfile.gettempdir()) / "chatlib-browser"


def spki_hash(certfile: Path) -> str:
    """The base64 SHA-256 of the certificate's public key: what Chromium is told to trust.

    ``--ignore-certificate-errors-spki-list`` makes Chromium accept a certificate with exactly
    this key (no other), the way a browser trusts a course's CA once it is installed.
    """
    certificate = x509.load_pem_x509_certificate(certfile.read_bytes())
    key = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(key).digest()).decode()


@pytest.mark.timeout(90)
async def test_page_over_https_asks_for_the_token_and_chats_over_wss(
    secure_server, credentials
) -> None:
    page_address = "https" + secure_server.url.removeprefix("wss") + "/"
    trust = f"--ignore-certificate-errors-spki-list={spki_hash(credentials.certfile)}"
    async with chromium_with([trust]) as browser:
        page = await browser.new_page()
        async with evidence_on_failure("secure-page", [page]):
            await page.goto(page_address)
            await page.get_by_label("Your name").fill("Alice")
            await page.get_by_label("Your name").press("Enter")
            await expect(page.locator("#name-error")).to_contain_text("This room is private")

            await page.get_by_label("Room token").fill(WRONG_TOKEN)
            await page.get_by_label("Room token").press("Enter")
            await expect(page.locator("#name-error")).to_contain_text("That token was refused")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=SCREENSHOTS / "secure-chat-token.png")

            await page.get_by_label("Room token").fill(TOKEN)
            await page.get_by_label("Room token").press("Enter")
            await expect_line(page, "[Server]: Welcome, Alice!")
            bob = await run_client(
                *("--url", secure_server.url, "--name", "Bob"),
                *("--cafile", credentials.cafile, "--token-file", credentials.token_file),
            )
            try:
                await expect_line(page, "[Server]: Bob has joined the chat.")
                await bob.type("hello from the terminal\n")
                await expect_line(page, "[Bob]: hello from the terminal")
                await say(page, "hello from https")
                assert await bob.stdout.wait_for(r"\[Alice\]: hello from https", WAIT)
                await page.screenshot(path=SCREENSHOTS / "secure-chat-page.png")
            finally:
                await bob.stop()
            assert page.url.startswith("https://127.0.0.1:")


@pytest.mark.timeout(90)
async def test_page_asking_for_the_token_passes_axe(secure_server, credentials) -> None:
    require_axe()
    page_address = "https" + secure_server.url.removeprefix("wss") + "/"
    trust = f"--ignore-certificate-errors-spki-list={spki_hash(credentials.certfile)}"
    async with chromium_with([trust]) as browser:
        # The page allows only its own scripts (Content-Security-Policy); axe is the test's.
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        async with evidence_on_failure("secure-page-axe", [page]):
            await page.goto(page_address)
            await page.get_by_label("Your name").fill("Alice")
            await page.get_by_label("Your name").press("Enter")
            await expect(page.locator("#name-error")).to_contain_text("This room is private")
            await expect(page.get_by_label("Room token")).to_be_focused()

            assert await serious_violations(page, "token prompt") == []
