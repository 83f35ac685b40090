"""The websockets internals chatlib relies on (chatlib.websockets_internals) are still there.

websockets may change what it does not document in any release. These tests look for each
internal the module lists on a real server and a real client connection, and check that the
two it leans on for behaviour, the opening handshake and its failure, still act as assumed;
each failure names the attribute and the module to re-read.
"""

import asyncio
import importlib.metadata

import pytest
from chat_harness import TIMEOUT, RawClient
from conftest import LocalServer
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection

from chatlib.websockets_internals import (
    HandshakeReportingConnection,
    connections_still_open,
    missing_internals,
    text_frame,
)

WEBSOCKETS = f"websockets {importlib.metadata.version('websockets')}"
READ_AGAIN = "re-read chatlib/websockets_internals.py"


async def test_every_internal_chatlib_relies_on_exists_on_a_real_connection(serve_locally):
    connected: asyncio.Queue[ServerConnection] = asyncio.Queue()
    release = asyncio.Event()

    async def handler(websocket: ServerConnection) -> None:
        connected.put_nowait(websocket)
        await release.wait()

    local = await serve_locally(handler)
    async with connect(local.url, open_timeout=TIMEOUT):
        async with asyncio.timeout(TIMEOUT):
            connection = await connected.get()
        missing = missing_internals(local.server, connection)
        running = connections_still_open(local.server)
        release.set()

    assert not missing, f"{WEBSOCKETS} no longer has {', '.join(missing)}: {READ_AGAIN}"
    assert running == [connection], f"Server.all_connections in {WEBSOCKETS}: {READ_AGAIN}"


def test_a_text_frame_is_final_unmasked_and_carries_the_utf8_line():
    """What Frame.serialize() makes is what RFC 6455 says a server sends for a short line."""
    assert text_frame("hé") == b"\x81\x03h\xc3\xa9", f"Frame.serialize in {WEBSOCKETS}"


class Reported(HandshakeReportingConnection):
    """Puts how each failed opening handshake ended on ``endings``, for the test to read."""

    endings: asyncio.Queue[str]

    def handshake_failed(self, failure: Exception) -> None:
        self.endings.put_nowait(f"failed: {failure}")

    def handshake_abandoned(self) -> None:
        self.endings.put_nowait("abandoned")


@pytest.fixture
async def reported(serve_locally):
    """Start a server whose connections report failed handshakes; return it and the reports.

    A client has ``open_timeout`` seconds to complete its opening handshake.
    """

    async def start(open_timeout: float = TIMEOUT) -> tuple[LocalServer, asyncio.Queue[str]]:
        endings: asyncio.Queue[str] = asyncio.Queue()

        def create_connection(*args, **kwargs) -> Reported:
            connection = Reported(*args, **kwargs)
            connection.endings = endings
            return connection

        async def handler(websocket: ServerConnection) -> None:
            pass  # Return at once: the server closes the connection.

        options = {"create_connection": create_connection, "open_timeout": open_timeout}
        return await serve_locally(handler, **options), endings

    return start


async def next_ending(endings: asyncio.Queue[str], internal: str, within: float) -> str:
    """The next handshake reported; fail, naming ``internal``, if none comes ``within`` s."""
    try:
        async with asyncio.timeout(within):
            return await endings.get()
    except TimeoutError:
        pytest.fail(f"no handshake was reported: {internal} in {WEBSOCKETS}? {READ_AGAIN}")


def port_of(local: LocalServer) -> int:
    return local.server.sockets[0].getsockname()[1]


async def test_garbage_instead_of_a_handshake_is_reported_with_its_reason(reported):
    local, endings = await reported()
    garbage = await RawClient.connect(port_of(local))
    garbage.writer.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
    async with asyncio.timeout(TIMEOUT):
        assert await garbage.reader.read() == b""  # The server hung up its side.
    garbage.close()

    ending = await next_ending(endings, "ServerConnection.protocol.handshake_exc", TIMEOUT)
    assert ending == "failed: did not receive a valid HTTP request", ending


async def test_a_client_that_never_speaks_is_reported_as_abandoned(reported):
    local, endings = await reported(open_timeout=0.5)
    mute = await RawClient.connect(port_of(local))

    ending = await next_ending(endings, "ServerConnection.handshake", 0.5 + TIMEOUT)
    mute.close()
    assert ending == "abandoned", ending


async def test_a_completed_handshake_is_not_reported(reported):
    local, endings = await reported()
    async with connect(local.url, open_timeout=TIMEOUT) as websocket:
        async with asyncio.timeout(TIMEOUT):
            await websocket.wait_closed()  # The handler returned at once: the server closed.
    assert endings.empty(), endings.get_nowait()
