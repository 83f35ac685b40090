"""Helpers for the chat server's fault, property and soak tests.

- :class:`Member` is a chat client that has joined the room and keeps what it receives;
- :class:`RawClient` speaks WebSocket by hand over a plain TCP connection, for the faults a
  well-behaved library never commits (half a frame, then a reset);
- :func:`resident_memory` reads a process's memory use from ``/proc``.
"""

import asyncio
import base64
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

TIMEOUT = 5  # seconds to wait for any one message, log line or exit


# --- Clients ----------------------------------------------------------------------------------


async def receive(websocket: ClientConnection, timeout: float = TIMEOUT, who: str = "") -> Any:
    """The next message on ``websocket``; fail the test if none arrives within ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            return await websocket.recv()
    except TimeoutError:
        pytest.fail(f"{who or 'a client'} received nothing within {timeout} s")


async def closed_with(websocket: ClientConnection, timeout: float = TIMEOUT) -> ConnectionClosed:
    """Read until the server ends the connection; return how it ended."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await websocket.recv()
    except ConnectionClosed as closed:
        return closed
    except TimeoutError:
        pytest.fail(f"the server did not close the connection within {timeout} s")


@dataclass(eq=False)
class Member:
    """A client that joined the room under ``name``."""

    name: str
    websocket: ClientConnection

    async def say(self, text: str | bytes) -> None:
        await self.websocket.send(text)

    async def next_line(self, timeout: float = TIMEOUT) -> Any:
        return await receive(self.websocket, timeout, who=self.name)

    async def lines_until(self, last: str, timeout: float = TIMEOUT) -> list[str]:
        """Read lines up to and including ``last``; return them all."""
        lines: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                while not lines or lines[-1] != last:
                    lines.append(await self.websocket.recv())
        except TimeoutError:
            pytest.fail(f"{self.name} waited {timeout} s for {last!r}; received {lines!r}")
        return lines


async def join(url: str, name: str, others: Sequence[Member] = ()) -> Member:
    """Connect, choose ``name``, read the welcome, and read the arrival notice of ``others``."""
    websocket = await connect(url, open_timeout=TIMEOUT)
    await websocket.send(name)
    welcome = await receive(websocket, who=name)
    assert welcome.startswith(f"[Server]: Welcome, {name}!"), welcome
    for other in others:
        assert await other.next_line() == f"[Server]: {name} has joined the chat."
    return Member(name, websocket)


async def relays_still(sender: Member, *recipients: Member, text: str = "still there?") -> None:
    """Prove that the room still relays: ``sender`` talks, every recipient hears it next."""
    await sender.say(text)
    for recipient in recipients:
        assert await recipient.next_line() == f"[{sender.name}]: {text}"


@dataclass
class RawClient:
    """A WebSocket client written by hand on a TCP connection, free to break the protocol."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    unread: bytearray = field(default_factory=bytearray)

    @classmethod
    async def connect(cls, port: int) -> "RawClient":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def open_handshake(self) -> None:
        """Send the HTTP upgrade request and check the ``101 Switching Protocols`` answer."""
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        async with asyncio.timeout(TIMEOUT):
            response = await self.reader.readuntil(b"\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 101"), response

    def send_text(self, text: str) -> None:
        """Send one complete, masked text frame."""
        self.writer.write(Frame(Opcode.TEXT, text.encode()).serialize(mask=True))

    async def receive_text(self) -> str:
        """Read one unmasked text frame from the server."""
        async with asyncio.timeout(TIMEOUT):
            opcode, length = struct.unpack("!BB", await self.reader.readexactly(2))
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            assert opcode == 0x81, f"expected a text frame, got opcode byte {opcode:#x}"
            return (await self.reader.readexactly(length)).decode()

    def send_half_a_text_frame(self, text: str) -> None:
        """Send a masked frame's header and only the first half of its payload."""
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=True)
        self.writer.write(frame[: len(frame) - len(text.encode()) // 2])

    def reset(self) -> None:
        """Drop the connection with a TCP reset (RST) instead of an orderly close (FIN)."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.transport.abort()


# --- Memory -----------------------------------------------------------------------------------


def resident_memory(pid: int) -> dict[str, int] | None:
    """The process's resident memory in bytes: current (``VmRSS``) and peak (``VmHWM``).

    ``None`` where ``/proc`` does not exist (macOS, Windows).
    """
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return None
    fields = {}
    for line in status.read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024  # The kernel writes "1234 kB".
    return fields


MiB = 1024 * 1024
