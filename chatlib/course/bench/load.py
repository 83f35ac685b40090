"""The load: many lean WebSocket clients in the benchmark's process, and the senders.

The clients speak just enough of the protocol (RFC 6455) to be cheap: a hand-written
handshake, then frames parsed straight from the socket, so that one process can read what a
server sends to a thousand of them without becoming the bottleneck. websockets' own client
would measure itself as much as the server. (Client frames use the all-zero mask: valid on
the wire, and free to apply; a real client must pick a random one.)

Each message a sender writes carries its send time, ``@<monotonic ns>``, so a receiver knows
each delivery's latency. ``time.monotonic_ns()`` is one clock for the whole machine on Linux.
"""

import asyncio
import base64
import os
import socket
import struct
import time
import zlib
from array import array

from chatlib.serving import LOOPBACK

MESSAGE_SIZE = 128  # bytes of each chat message, as in the issue.
INFLATE_TAIL = b"\x00\x00\xff\xff"


def frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked client frame (with the all-zero mask, see the module docstring)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    return header + b"\0\0\0\0" + payload


def chat_message(sent_ns: int) -> bytes:
    """One 128-byte text frame's payload that carries its send time."""
    stamp = b"@%d " % sent_ns
    return stamp + b"x" * (MESSAGE_SIZE - len(stamp))


class Deliveries:
    """What every receiver saw: a count and each latency (ns), while ``recording`` is on."""

    def __init__(self) -> None:
        # Seconds each receiver waits after a read before the next one. Under a flat-out
        # load, reading every few milliseconds rather than at every frame lets one process
        # read for a thousand clients; the paced phase reads at once, for exact latencies.
        self.read_pause = 0.0
        self.recording = False
        self.count = 0
        self.latencies = array("q")
        # Every delivery, recording or not: to set beside the kernel's counters.
        self.total = 0

    def reset(self) -> None:
        self.count = 0
        self.latencies = array("q")


class LeanClient(asyncio.Protocol):
    """One WebSocket client: handshake, then count and time the messages that carry ``@``."""

    def __init__(self, port: int, name: str, deliveries: Deliveries, compression: bool):
        self.port, self.name, self.deliveries = port, name, deliveries
        self.offer_compression = compression
        self.inflater = None
        self.buffer = b""
        self.received = 0  # timed messages received, recording or not
        self.stalled = False
        self.loop = asyncio.get_running_loop()
        self.open = self.loop.create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.can_write = asyncio.Event()
        self.can_write.set()

    # --- asyncio callbacks ---

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET / HTTP/1.1",
            f"Host: {LOOPBACK}:{self.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.offer_compression:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.open.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            head, buffer = buffer[:end].decode("latin-1"), buffer[end + 4 :]
            if " 101 " not in head.split("\r\n", 1)[0]:
                self.open.set_exception(ConnectionError(head.split("\r\n", 1)[0]))
                self.transport.abort()
                return
            if "permessage-deflate" in head.lower():
                self.inflater = zlib.decompressobj(wbits=-15)
            self.transport.write(frame(0x1, self.name.encode()))
            self.open.set_result(None)
        self.buffer = self.parse(buffer)
        if self.deliveries.read_pause and not self.stalled:
            self.transport.pause_reading()
            self.loop.call_later(self.deliveries.read_pause, self.read_again)

    def read_again(self) -> None:
        if not self.stalled and not self.is_closed:
            self.transport.resume_reading()

    def parse(self, buffer: bytes) -> bytes:
        """Handle every complete frame in ``buffer``; return the incomplete rest."""
        deliveries = self.deliveries
        now = time.monotonic_ns()
        position, size = 0, len(buffer)
        while size - position >= 2:
            first, length = buffer[position], buffer[position + 1] & 0x7F
            start = position + 2
            if length == 126:
                if size - position < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if size - position < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            end = start + length
            if end > size:
                break
            opcode = first & 0x0F
            if opcode == 0x1:
                payload = buffer[start:end]
                if first & 0x40 and self.inflater is not None:
                    payload = self.inflater.decompress(payload + INFLATE_TAIL)
                at = payload.find(b"@")
                if at >= 0:
                    self.received += 1
                    deliveries.total += 1
                if at >= 0 and deliveries.recording:
                    deliveries.count += 1
                    deliveries.latencies.append(now - int(payload[at + 1 : payload.find(b" ", at)]))
            elif opcode == 0x9:  # Ping: answer, or a keepalive would close us.
                self.transport.write(frame(0xA, buffer[start:end]))
            elif opcode == 0x8:
                self.transport.close()
            position = end
        return buffer[position:]

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def connection_lost(self, exc) -> None:
        if not self.open.done():
            self.open.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
        self.can_write.set()

    # --- used by the benchmark ---

    @property
    def is_closed(self) -> bool:
        return self.closed.done()

    def stall(self, receive_buffer: int | None = None) -> None:
        """Stop reading, like a client whose user closed the laptop lid.

        ``receive_buffer`` shrinks the socket's SO_RCVBUF first. Otherwise the kernel goes on
        accepting megabytes for a reader that stopped (its buffer grew while it read flat
        out) before the server's own buffer grows at all: a phase of a few seconds would
        show nothing. The kernel doubles the value asked for.
        """
        self.stalled = True
        if self.is_closed:
            return  # Already cut: nothing left to stall.
        if receive_buffer is not None:
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.transport.pause_reading()

    def unstall(self) -> None:
        """Read again, after a ping: if the server cut this connection, it answers at once.

        A server that aborts a connection still owes it the bytes in its kernel buffer; the
        client would learn of the cut only after reading them all. But data sent to a
        socket its program has closed earns a reset straight away, and a reset ends the
        connection for the client on its next read.
        """
        self.stalled = False
        if not self.is_closed:
            self.transport.write(frame(0x9, b"back"))
            self.transport.resume_reading()

    def abort(self) -> None:
        """Drop the connection at once, without a closing handshake."""
        if self.transport is not None:
            self.transport.abort()


async def connect_client(
    port: int,
    name: str,
    deliveries: Deliveries,
    compression: bool,
    receive_buffer: int | None = None,
    client_class: type[LeanClient] = LeanClient,
) -> LeanClient:
    """Open one client (a ``client_class``) and wait for its handshake; ``receive_buffer``
    shrinks SO_RCVBUF."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await loop.sock_connect(sock, (LOOPBACK, port))
    _, client = await loop.create_connection(
        lambda: client_class(port, name, deliveries, compression), sock=sock
    )
    await asyncio.wait_for(client.open, 10)
    return client


async def connect_many(
    port: int,
    prefix: str,
    count: int,
    deliveries: Deliveries,
    compression: bool,
    first_index: int = 0,
    at_once: int = 50,
    client_class: type[LeanClient] = LeanClient,
) -> list[LeanClient]:
    """Open ``count`` clients (``client_class``) named ``prefix<first_index>``...,
    ``at_once`` at a time."""
    clients: list[LeanClient] = []
    last = first_index + count
    for first in range(first_index, last, at_once):
        batch = range(first, min(first + at_once, last))
        clients += await asyncio.gather(
            *(
                connect_client(port, f"{prefix}{i}", deliveries, compression, None, client_class)
                for i in batch
            )
        )
    return clients


async def send_paced(sender: LeanClient, rate: float, stop: asyncio.Event) -> int:
    """Send ``rate`` messages per second until ``stop``; return how many were sent."""
    interval = 1 / rate
    start = time.monotonic()
    sent = 0
    while not stop.is_set() and not sender.is_closed:
        due = start + sent * interval
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # Catch up after a late wake-up, at most a few messages at a time.
        behind = min(8, int((time.monotonic() - start) / interval) - sent + 1)
        for _ in range(max(1, behind)):
            sender.transport.write(frame(0x1, chat_message(time.monotonic_ns())))
            sent += 1
        await sender.can_write.wait()
    return sent


async def send_flat_out(
    sender: LeanClient, stop: asyncio.Event, probe: LeanClient, window: int = 32
) -> int:
    """Send as fast as the room delivers until ``stop``; return how many were sent.

    At most ``window`` messages are on their way at any time (sent, but not yet received by
    ``probe``, a receiver that keeps reading): enough to keep the server busy all the time,
    without piling up seconds of backlog in socket buffers that would then be measured as
    latency. When the room stops
    delivering (a stalled loop), the sender stops too.
    """
    sent, already_received = 0, probe.received
    while not stop.is_set() and not sender.is_closed:
        if sent - (probe.received - already_received) >= window:
            await asyncio.sleep(0.0002)
            continue
        sender.transport.write(frame(0x1, chat_message(time.monotonic_ns())))
        sent += 1
        if sent % 4 == 0:
            await sender.can_write.wait()
            await asyncio.sleep(0)  # Let the receivers read.
    return sent
