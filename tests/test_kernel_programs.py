"""Programs started from a notebook outlive the interrupt button, and end with their kernel.

JupyterLab's interrupt button (■) sends SIGINT to the kernel's whole process group. A server
or a client started with ``notebook.start_program`` runs in a process group of its own, so
stopping a long cell (a ``watch`` cell, say) leaves them running; and it ends when the kernel
ends, shut down or restarted in order (atexit) or killed outright (Linux: the kernel asks for
it when it starts the program), so that its port is free for the next kernel.

A real ipykernel, started and interrupted by jupyter_client as JupyterLab does it.
"""

import asyncio
import contextlib
import queue
import re
import sys
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60  # seconds for a kernel to answer
REPLY_TIMEOUT = 60  # seconds for a cell to finish
GONE_TIMEOUT = 20  # seconds for a program to end once its kernel has

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="Windows kernels are interrupted by an event, not a signal"
)

START_ECHO_SERVER = """
from chatlib.course import notebook
server = await notebook.start_program("-m", "chatlib", "echo-server", server=True)
print("URL", server.url)
"""


@contextlib.contextmanager
def kernel_in_notebooks_folder():
    """A kernel started as JupyterLab starts one for a lesson; its manager and client."""
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT / "notebooks"))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        yield manager, client
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)


def run_cell(client, code: str) -> tuple[dict, str]:
    """Run ``code`` in the kernel; its execute_reply's content and what it printed."""
    message_id = client.execute(code)
    printed = ""
    deadline = time.monotonic() + REPLY_TIMEOUT
    while True:
        try:
            message = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no answer within {REPLY_TIMEOUT} s to:\n{code}")
        if message["parent_header"].get("msg_id") != message_id:
            continue
        if message["msg_type"] == "stream":
            printed += message["content"]["text"]
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=REPLY_TIMEOUT)
    return reply["content"], printed


def start_echo_server(client) -> str:
    """Start chatlib's echo server from a cell, as a lesson does; its URL."""
    reply, printed = run_cell(client, START_ECHO_SERVER)
    assert reply["status"] == "ok", reply
    return re.search(r"URL (\S+)", printed).group(1)


async def echo(url: str, text: str) -> str:
    """What the echo server at ``url`` answers to ``text``."""
    async with asyncio.timeout(10), connect(url) as websocket:
        await websocket.send(text)
        return await websocket.recv()


async def wait_until_refused(url: str) -> None:
    """Return once nothing listens at ``url`` any more; fail after GONE_TIMEOUT."""
    deadline = time.monotonic() + GONE_TIMEOUT
    while True:
        try:
            await echo(url, "anyone?")
        except OSError:
            return
        assert time.monotonic() < deadline, f"{url} still answers {GONE_TIMEOUT} s later"
        await asyncio.sleep(0.2)


# A program in the kernel's own process group, as a plain subprocess.Popen from a cell would
# be: it writes "ready" once it waits, and "interrupted" when a SIGINT reaches it.
WITNESS = """
import pathlib, sys, time
said = pathlib.Path(sys.argv[1])
said.write_text("ready")
try:
    time.sleep(300)
except KeyboardInterrupt:
    said.write_text("interrupted")
"""


def wait_for_text(file: Path, text: str) -> None:
    """Return once ``file`` says ``text``; fail after GONE_TIMEOUT."""
    deadline = time.monotonic() + GONE_TIMEOUT
    while not (file.exists() and file.read_text() == text):
        assert time.monotonic() < deadline, f"{file} did not say {text!r} within {GONE_TIMEOUT} s"
        time.sleep(0.05)


def press_the_interrupt_button(manager, client, witness_file: Path) -> None:
    """Press the interrupt button as JupyterLab does, and return once the signal has reached
    the kernel's process group (a witness program in that group says so)."""
    start_witness = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', {WITNESS!r}, {str(witness_file)!r}])"
    )
    reply, _ = run_cell(client, start_witness)
    assert reply["status"] == "ok", reply
    wait_for_text(witness_file, "ready")
    manager.interrupt_kernel()
    wait_for_text(witness_file, "interrupted")


async def test_a_server_started_from_a_cell_survives_the_interrupt_button(tmp_path: Path) -> None:
    with kernel_in_notebooks_folder() as (manager, client):
        url = start_echo_server(client)
        press_the_interrupt_button(manager, client, tmp_path / "witness")
        assert await echo(url, "still there?") == "still there?"


@pytest.mark.parametrize("how", ["in order", "killed"])
async def test_a_server_started_from_a_cell_ends_with_its_kernel(how: str) -> None:
    if how == "killed" and not sys.platform.startswith("linux"):
        pytest.skip("only Linux lets a program ask to end with the one that started it")
    with kernel_in_notebooks_folder() as (manager, client):
        url = start_echo_server(client)
        assert await echo(url, "hello") == "hello"
        manager.shutdown_kernel(now=how == "killed")
        await wait_until_refused(url)
