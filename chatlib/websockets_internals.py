"""Every place where chatlib reaches past websockets' documented API, in one module.

websockets documents what an application may use: ``serve()`` and its options, a
connection's ``send()``, ``recv()``, ``close()``, ``state`` and ``remote_address``, a server's
``connections``, ``close()`` and ``wait_closed()``. Two things this course does need a little
more, and this module is where they get it:

- the room's fan-out (:mod:`chatlib.fanout`) frames a chat line once and writes the same
  bytes to every member, then cuts a member that stopped reading, by its unsent bytes;
- the servers (:mod:`chatlib.serving`) log, in one line, a client that failed the opening
  handshake (websockets drops it without a word), and cut at shutdown the connections that
  never answered the close frame.

Each access is a small function or class below; its docstring says what it relies on, why
the course needs it, and why websockets 17 has no public way to do it. :data:`RELIED_ON` lists
them, and ``tests/test_websockets_internals.py`` checks each on a real server and client: an
upgrade of websockets that removes one fails that test, naming the attribute. websockets is
pinned to ``>=17,<18`` in ``pyproject.toml``; read this module again before moving the pin.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.connection import Connection
from websockets.asyncio.server import Server, ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State


@dataclass(frozen=True)
class Internal:
    """An attribute that websockets 17 has but does not document, and what chatlib needs it for.

    ``path`` starts from a real object, ``Server``, ``ServerConnection`` or ``Frame``, and
    follows attributes: ``ServerConnection.protocol.handshake_exc``.
    """

    path: str
    used_by: str


RELIED_ON = (
    Internal("Frame.serialize", "text_frame()"),
    Internal("ServerConnection.transport", "writable(), write_frames(), unsent_bytes(), abort()"),
    Internal("ServerConnection.handshake", "HandshakeReportingConnection"),
    Internal("ServerConnection.protocol.handshake_exc", "HandshakeReportingConnection"),
    Internal("Server.all_connections", "connections_still_open()"),
)


def missing_internals(server: Server, connection: ServerConnection) -> list[str]:
    """The paths of :data:`RELIED_ON` that these real objects lack: none with websockets 17.

    ``connection`` must be one of ``server``'s, made by websockets' own ``ServerConnection``
    (a subclass, such as :class:`HandshakeReportingConnection`, would hide a method that
    websockets dropped behind its own).
    """
    roots = {"Server": server, "ServerConnection": connection, "Frame": Frame(Opcode.TEXT, b"")}
    missing = []
    for internal in RELIED_ON:
        root, *names = internal.path.split(".")
        found: Any = roots[root]
        for name in names:
            if not hasattr(found, name):
                missing.append(internal.path)
                break
            found = getattr(found, name)
    return missing


# --- Frames, written by the fan-out itself ----------------------------------------------------


def text_frame(line: str) -> bytes:
    """``line`` as the bytes of one final, unmasked text frame: what a server sends.

    Relies on ``Frame.serialize()``: ``Frame`` is documented, its ``serialize()`` is not. It
    is what websockets' own ``send()`` runs for each frame; here it runs once per line, and the
    same bytes go to every member. No public API hands out a frame's bytes.
    """
    return Frame(Opcode.TEXT, line.encode()).serialize(mask=False)


def writable(connection: ServerConnection) -> bool:
    """True when a chat frame may be written to ``connection`` now.

    ``connection.state`` (public) is ``OPEN`` until websockets produces a close frame, sent or
    echoed: after it, RFC 6455 allows no data frame. A transport that is closing was cut
    (``abort()``); writing to it would only log asyncio's warnings. Relies on
    ``connection.transport``: websockets' connection is an asyncio ``Protocol`` and keeps its
    transport there, undocumented.
    """
    return connection.state is State.OPEN and not connection.transport.is_closing()


def write_frames(connection: ServerConnection, frames: bytes) -> None:
    """Hand ``frames`` (whole frames, one or several) to ``connection``'s socket, in one write.

    Relies on ``connection.transport``. websockets' public ``send()`` frames its argument
    itself, one message per call, and ``broadcast()`` frames it again for every recipient:
    neither takes bytes already framed. The library writes its own frames (pings, pongs, the
    close frame) whole to the same transport, so whole frames from here interleave with them
    only at frame boundaries, which the protocol allows.
    """
    connection.transport.write(frames)


def unsent_bytes(connection: ServerConnection) -> int:
    """How many bytes written to ``connection`` still wait to leave this process.

    A member that stopped reading lets them pile up. Relies on ``connection.transport``:
    websockets exposes no buffer size; its ``send()`` instead *waits* while the buffer is above
    ``write_limit``, and a room must never wait for one member.
    """
    return connection.transport.get_write_buffer_size()


def abort(connection: Connection) -> None:
    """Cut ``connection`` (a server's or a client's) now, without a closing handshake.

    For a peer that stopped reading, whose unsent bytes would hold a close frame back for
    ever, and for a test or a check that plays a crash or a lost network. Relies on
    ``connection.transport``: the public ``close()`` sends a close frame and waits for it to
    leave, which is what such a peer never lets happen.
    """
    connection.transport.abort()


# --- Servers ----------------------------------------------------------------------------------


def connections_still_open(server: Server) -> list[ServerConnection]:
    """Every connection of ``server`` whose handler is still running, closing ones included.

    Relies on ``Server.all_connections``. The public ``Server.connections`` leaves out the
    connections that started closing, and after ``server.close()`` those are exactly the ones
    a shutdown waits for: the clients that never answered the close frame.
    """
    return list(server.all_connections)


class HandshakeReportingConnection(ServerConnection):
    """A server connection that says when its opening handshake failed; override the hooks.

    websockets 17 drops a client that fails the opening handshake (garbage instead of an HTTP
    request, a request that is not a WebSocket upgrade, a connection that never speaks) with
    nothing above DEBUG in its log. No public hook sees it: ``process_request`` runs only once
    a valid HTTP request arrived, and the handler never starts. So this wraps
    ``ServerConnection.handshake()``, the undocumented coroutine that ``serve()`` awaits for
    each connection before the handler, without depending on its arguments, and reads why it
    failed from ``protocol.handshake_exc`` (documented on the protocol object, but the
    connection's ``protocol`` attribute is not). ``serve(create_connection=...)``, which is
    documented, puts this class in place.
    """

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().handshake(*args, **kwargs)
        except asyncio.CancelledError:  # serve()'s open_timeout ran out first.
            self.handshake_abandoned()
            raise
        failure = self.protocol.handshake_exc
        if failure is not None:
            self.handshake_failed(failure)

    def handshake_failed(self, failure: Exception) -> None:
        """Called when the client's opening handshake was refused; ``failure`` says why."""

    def handshake_abandoned(self) -> None:
        """Called when the client did not complete the opening handshake within the time."""
