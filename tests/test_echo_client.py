"""The echo client's command line, as a learner runs it against the echo and uppercase servers."""

import asyncio
import errno
import shlex
import socket
from pathlib import Path

import pytest
from conftest import chatlib_command

from chatlib.client_errors import explain_connection_failure
from chatlib.course.harness import start_server_program

REPLY_TIMEOUT = 10  # seconds for the whole client run: connect, two round trips, exit
OPEN_TIMEOUT = 10  # seconds: websockets' default open_timeout, after which connect() gives up


async def run_echo_client(
    url: str, typed: str, timeout: float = REPLY_TIMEOUT
) -> tuple[int, str, str]:
    """Run ``python -m chatlib echo-client --url URL`` with ``typed`` as its input."""
    process = await asyncio.create_subprocess_exec(
        *chatlib_command("echo-client", "--url", url),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(timeout):
        stdout, stderr = await process.communicate(typed.encode())
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.parametrize(
    ("program", "replies"),
    [("echo-server", ["< hello", "< wörld"]), ("uppercase-server", ["< HELLO", "< WÖRLD"])],
)
async def test_each_typed_line_gets_its_reply(start_server_process, program, replies):
    server = await start_server_process(program)
    code, stdout, stderr = await run_echo_client(server.url, "hello\nwörld\n")
    assert code == 0, stderr
    assert stdout.splitlines()[1:] == replies
    assert "Traceback" not in stderr


async def test_no_server_is_explained_in_one_line_whose_command_starts_the_missing_server(
    unused_tcp_port,
):
    url = f"ws://127.0.0.1:{unused_tcp_port}"
    code, stdout, stderr = await run_echo_client(url, "")
    assert code == 1
    assert not stderr
    [line] = stdout.splitlines()
    assert line.startswith(f"No server answers at {url}. Start one first with `"), line
    assert line.endswith("`, then retry."), line
    # The advice, run as printed (from the same folder), starts the server the client looked
    # for: on its port, not on the default 8765.
    advice = line.split("`")[1]
    assert advice.endswith(f"-m chatlib echo-server --port {unused_tcp_port}"), advice
    server = await start_server_program(shlex.split(advice), cwd=Path.cwd(), within=10)
    try:
        code, stdout, stderr = await run_echo_client(url, "hello\n")
        assert code == 0, stderr
        assert "< hello" in stdout.splitlines()
    finally:
        await server.kill()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
            "Cannot find the host of ws://192.0.2.7:8765",
            id="no-such-host",
        ),
        pytest.param(
            OSError(errno.EHOSTUNREACH, "No route to host"),
            "On macOS, Local Network privacy does this",
            id="macos-local-network",
        ),
        pytest.param(
            ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"),
            "No server answers at ws://192.0.2.7:8765. Start one first",
            id="refused",
        ),
    ],
)
def test_each_way_of_not_reaching_the_server_gets_its_own_one_line_advice(error, expected):
    """Errors that cannot be made on loopback alone (a name lookup, another network), built as
    the system raises them: each gets the advice for its cause, never "start a server"."""
    explained = explain_connection_failure("ws://192.0.2.7:8765", error, "echo-server")
    assert expected in explained
    assert "\n" not in explained


async def test_a_server_that_never_answers_the_handshake_gets_the_firewall_advice():
    """A listening socket that never accepts looks, to the client, like a firewall that drops
    the connection: both end in the opening timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}"
        # The client gives up after websockets' opening timeout (10 s): wait longer than that.
        code, stdout, stderr = await run_echo_client(url, "", timeout=OPEN_TIMEOUT + REPLY_TIMEOUT)
    assert code == 1, stderr
    [line] = stdout.splitlines()
    assert line.startswith(f"Nothing at {url} finished opening a WebSocket in time."), line
    assert "firewall" in line
