"""The room's fan-out (chatlib.fanout): many lines per loop pass, in order, and its limits.

The room queues every line written during one pass of the event loop and writes each member's
lines at the start of the next pass. These tests write many lines in one pass (no ``await``
between them, straight into the room of a server running in the test's loop) and check what
real clients receive: every line, in order, a stalled reader among them still cut, and
nothing after a close frame.
"""

import asyncio
import logging
import socket
import struct

import pytest
from chat_harness import RawClient, join, relays_still
from websockets.asyncio.server import ServerConnection
from websockets.frames import Opcode

from chatlib.chat_server import ChatLimits, ChatRoom, ChatServer, departure_line, serve_options

LINE_LENGTH = 1000  # characters of each line in a burst
BURST = 40  # lines written in one loop pass: 40 kB for each member
MAX_BUFFER = 128 * 1024
# The server's kernel send buffer for each client. Left to itself, Linux lets it grow to 4 MiB
# on 127.0.0.1, and a stalled reader would hide that much in the kernel before the room's own
# buffer grows: this keeps the test to a few bursts (a slow network fills it sooner anyway).
SEND_BUFFER = 16 * 1024
MOST_BURSTS = 100  # 4 MB for the stalled reader: far more than its buffers can hide


@pytest.fixture
async def room_server(serve_locally):
    """A chat server in the test's loop, served as the real one is (no compression)."""
    room = ChatRoom(ChatLimits(max_buffer=MAX_BUFFER))
    handler = ChatServer(room).handler

    async def with_small_send_buffer(websocket: ServerConnection) -> None:
        sock = websocket.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        await handler(websocket)

    server = await serve_locally(with_small_send_buffer, **serve_options(room.limits))
    return room, server


def burst_line(burst: int, index: int) -> str:
    """Line ``index`` of burst number ``burst``, padded to LINE_LENGTH characters."""
    return f"[Alice]: {burst}:{index} ".ljust(LINE_LENGTH, "x")


async def test_lines_of_one_pass_reach_everyone_in_order_and_a_stalled_reader_is_cut(
    room_server, caplog
):
    caplog.set_level(logging.INFO, logger="chatlib.chat_server")
    room, server = room_server
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    carol = await join(server.url, "Carol", [alice, bob])
    stalled = await join(server.url, "Stalled", [alice, bob, carol])
    readers = [alice, bob, carol]
    sock = stalled.websocket.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.websocket.transport.pause_reading()
    everyone = list(room.members.values())
    alice_connection = room.members["Alice"].websocket
    departures_seen = dict.fromkeys(member.name for member in readers)

    for burst in range(MOST_BURSTS):
        # One pass of the loop: every line below is queued before any is written. Alice
        # also gets a notice of her own after every tenth line, which must keep its place.
        expected = {member.name: [] for member in readers}
        for index in range(BURST):
            line = burst_line(burst, index)
            room.write([member.websocket for member in everyone], line)
            for member in readers:
                expected[member.name].append(line)
            if index % 10 == 9:
                room.tell(alice_connection, f"notice {burst}:{index}")
                expected["Alice"].append(f"[Server]: notice {burst}:{index}")
        for member in readers:
            received = []
            while len(received) < len(expected[member.name]):
                line = await member.next_line()
                if line == departure_line("Stalled"):
                    departures_seen[member.name] = burst
                else:
                    received.append(line)
            assert received == expected[member.name], f"{member.name}, burst {burst}"
        if all(seen is not None for seen in departures_seen.values()):
            break
        if "Stalled" not in room.members:
            # Cut during this burst: the others hear it before the next one's lines.
            everyone = list(room.members.values())
    else:
        pytest.fail(f"Stalled was not cut after {MOST_BURSTS} bursts of {BURST} lines")

    departures = [m for m in caplog.messages if m.startswith("Stalled left the chat")]
    assert departures and "(too slow: stopped reading;" in departures[0], departures


async def read_frame(client: RawClient) -> tuple[int, bytes]:
    """The next frame the server sent a raw client: its opcode and payload."""
    async with asyncio.timeout(5):
        first, length = struct.unpack("!BB", await client.reader.readexactly(2))
        if length == 126:
            (length,) = struct.unpack("!H", await client.reader.readexactly(2))
        return first & 0x0F, await client.reader.readexactly(length)


async def test_no_line_follows_a_close_frame_sent_after_it_was_queued(room_server):
    """A close frame sent between queuing a line and writing it: the line is not written."""
    room, server = room_server
    alice = await join(server.url, "Alice")
    raw = await RawClient.connect(int(server.url.rsplit(":", 1)[1]))
    await raw.open_handshake()
    raw.send_text("Raw")
    assert (await raw.receive_text()).startswith("[Server]: Welcome, Raw!")
    assert await alice.next_line() == "[Server]: Raw has joined the chat."
    raw_connection = room.members["Raw"].websocket
    alice_connection = room.members["Alice"].websocket

    # In one pass: the server starts closing Raw's connection (its first step, which sends
    # the close frame, runs first in the next pass), then the room writes a line to both.
    closing = asyncio.create_task(raw_connection.close())
    room.write([raw_connection, alice_connection], "[Server]: too late for Raw")

    assert await alice.next_line() == "[Server]: too late for Raw"
    opcode, _ = await read_frame(raw)
    assert opcode == Opcode.CLOSE, f"expected the close frame, received opcode {opcode}"
    raw.writer.write(b"\x88\x80\0\0\0\0")  # The client's close frame: handshake complete.
    async with asyncio.timeout(5):
        # The server half-closes after the handshake: read up to its end of the stream.
        assert await raw.reader.read() == b"", "the server wrote after its close frame"
    raw.close()
    await asyncio.wait_for(closing, 5)


async def test_a_member_that_negotiated_compression_reads_every_line(serve_locally):
    """The fan-out writes uncompressed frames, which RFC 7692 allows on a deflate connection.

    The chat serves without compression; a server started with it (the benchmark's
    ``--compression deflate``) must still deliver every line, in order, intact.
    """
    room = ChatRoom()
    options = {**serve_options(room.limits), "compression": "deflate"}
    server = await serve_locally(ChatServer(room).handler, **options)
    alice = await join(server.url, "Alice")
    bob = await join(server.url, "Bob", [alice])
    extensions = bob.websocket.response.headers.get("Sec-WebSocket-Extensions", "")
    assert extensions.startswith("permessage-deflate"), extensions

    lines = [burst_line(0, index) for index in range(BURST)]
    for line in lines:  # One pass of the loop: all written together, in one write.
        room.write([member.websocket for member in room.members.values()], line)
    for member in (alice, bob):
        assert [await member.next_line() for _ in lines] == lines, member.name
    await relays_still(alice, bob, text="ça passe")
