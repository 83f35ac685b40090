"""The servers' command lines, run as subprocesses exactly as a learner starts them."""

import asyncio
import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

from chatlib.course.cli import OneLineFormatter

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ["echo-server", "uppercase-server", "broadcast-server", "chat-server"]
STOP_SIGNALS = [
    pytest.param(signal.SIGTERM, id="SIGTERM"),
    pytest.param(signal.SIGINT, id="SIGINT"),
]
TIMEOUT = 5  # seconds for a reply, a close, or a process to exit


def run_chatlib(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chatlib ARGS`` to completion (at most 10 s) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "chatlib", *args],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=ROOT,
    )


def test_help_lists_every_program():
    result = run_chatlib("--help")

    assert result.returncode == 0, result.stderr
    for program in [*SERVERS, "echo-client", "chat-client", "check"]:
        assert program in result.stdout


@pytest.mark.parametrize("program", SERVERS)
def test_server_help_explains_host_and_port(program):
    result = run_chatlib(program, "--help")

    assert result.returncode == 0, result.stderr
    assert "--host" in result.stdout
    assert "--port" in result.stdout


@pytest.mark.parametrize("program", SERVERS)
async def test_port_0_prints_the_real_port_and_accepts_clients(start_server_process, program):
    server = await start_server_process(program)

    assert server.port != 0
    assert server.url == f"ws://127.0.0.1:{server.port}"
    async with connect(server.url, open_timeout=TIMEOUT) as client:
        pong = await client.ping()
        async with asyncio.timeout(TIMEOUT):
            await pong


@pytest.mark.parametrize("stop_signal", STOP_SIGNALS)
@pytest.mark.parametrize("program", SERVERS)
async def test_stop_signal_closes_clients_with_1001_and_exits_0(
    start_server_process, program, stop_signal
):
    server = await start_server_process(program)
    async with connect(server.url, open_timeout=TIMEOUT) as client:
        server.send_signal(stop_signal)

        with pytest.raises(ConnectionClosedOK) as closed:
            async with asyncio.timeout(TIMEOUT):
                await client.recv()

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001
    ended = await server.exited(timeout=TIMEOUT)
    assert ended.returncode == 0, ended.stderr
    assert "Traceback" not in ended.stderr


async def test_stop_signal_exits_within_seconds_even_if_a_client_stopped_reading(
    start_server_process,
):
    # A frozen client (a laptop lid closed, a stuck program) never answers the closing
    # handshake. The server must not wait for it longer than a few seconds.
    server = await start_server_process("chat-server")
    frozen = await connect(server.url, open_timeout=TIMEOUT)
    try:
        await frozen.send("Frozen")
        async with asyncio.timeout(TIMEOUT):
            await frozen.recv()  # The welcome: Frozen is a member of the room.
        frozen.transport.pause_reading()

        server.send_signal(signal.SIGTERM)
        ended = await server.exited(timeout=TIMEOUT)
    finally:
        frozen.transport.abort()

    assert ended.returncode == 0, ended.stderr
    assert "Traceback" not in ended.stderr


@pytest.mark.parametrize("program", SERVERS)
def test_port_already_in_use_is_explained_without_a_traceback_and_exits_1(program):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_chatlib(program, "--host", "127.0.0.1", "--port", str(port))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error, advice = result.stderr.splitlines()
    assert "already in use" in error
    assert str(port) in error
    assert advice.startswith("Another program already listens on that port")


def test_a_host_that_is_not_this_machines_gets_its_own_advice_not_port_in_use():
    """192.0.2.1 is a documentation address (RFC 5737): no machine has it, so binding to it
    fails at once, without a packet sent."""
    result = run_chatlib("chat-server", "--host", "192.0.2.1", "--port", "0")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error, advice = result.stderr.splitlines()
    assert error.startswith("Cannot start the server: ") and "192.0.2.1" in error
    assert advice.startswith("This machine has no such address"), advice


def test_a_host_that_cannot_be_found_is_said_so_not_port_in_use():
    """.invalid names never resolve (RFC 6761): the lookup fails, and nothing is sent there."""
    result = run_chatlib("chat-server", "--host", "nosuch.invalid", "--port", "0")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error, advice = result.stderr.splitlines()
    assert error.startswith("Cannot start the server: "), error
    assert advice.startswith("No such host: check --host"), advice
    assert "port" not in advice


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-line", "0"),
        ("--flood-window", "-2"),
        ("--max-buffer", "lots"),
        ("--redis-expiry", "0"),
    ],
)
def test_a_limit_that_makes_no_sense_is_refused_in_one_line(option, value):
    result = run_chatlib("chat-server", "--port", "0", option, value)

    assert result.returncode == 2  # argparse's status for a usage error
    assert "Traceback" not in result.stderr
    problem = "'lots' is not a whole number" if value == "lots" else f"{value} is not above zero"
    assert result.stderr.splitlines()[-1].endswith(f"argument {option}: {problem}")


def test_the_one_process_chat_server_loads_no_redis_module() -> None:
    # The reference a learner compares with stands alone: Redis is the shared room's business.
    probe = (
        "import sys, chatlib.chat_server, chatlib.course.cli;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis'"
        " or m == 'chatlib.shared_room'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_a_logged_error_stays_on_the_line_of_its_message():
    """websockets logs a failed handshake with its traceback; the server's log shows one line."""
    formatter = OneLineFormatter("%(levelname)s %(message)s")
    try:
        try:
            raise EOFError("connection closed while reading HTTP request line")
        except EOFError as cause:
            raise ValueError("did not receive a valid HTTP request") from cause
    except ValueError:
        record = logging.LogRecord(
            "websockets.server", logging.ERROR, __file__, 1, "opening handshake failed", (),
            sys.exc_info(),
        )  # fmt: skip

    assert formatter.format(record) == (
        "ERROR opening handshake failed (ValueError: did not receive a valid HTTP request;"
        " caused by EOFError: connection closed while reading HTTP request line)"
    )
