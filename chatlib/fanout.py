"""The room's fan-out: each line framed once, one write per recipient per pass of the loop.

Where the time of a chat server goes
------------------------------------
A chat line of 128 bytes reaches a hundred members as a hundred TCP segments: the kernel's
``send()`` on each socket is what costs (about 10 µs each on loopback, a third of it the
receiving side's work charged to the sender). Python's own work is smaller, but it adds up:
websockets' ``broadcast()`` does, *for each recipient*, what the line needs only once. It
checks the connection, builds a ``Frame``, serializes it (``struct.pack``, a ``BytesIO``,
about eight Python calls), hands the bytes to the transport, and the transport makes one
``send()`` system call at once. A room that then walks every connection a second time to
check its buffer pays for the walk twice.

:class:`FanOut` pays each cost once:

- **Frame once.** A line becomes the bytes of one WebSocket text frame (header + UTF-8
  payload) once, and the very same ``bytes`` object goes to every recipient.
- **One write per recipient per loop pass.** Lines written during one pass of the event loop
  (one sender's message of several lines, or twenty senders whose messages arrived together)
  are only *queued*. At the start of the next pass (``loop.call_soon``, never a timer:
  nothing waits for a clock) each recipient gets everything queued for it in ONE
  ``transport.write()``: one system call and, mostly, one TCP segment, whatever the number
  of lines. The fastest WebSocket servers in other languages do the same; uWebSockets calls
  it *corking* (after TCP_CORK: hold the cork in while writing, pull it to send).
- **Cut the stalled in the same walk.** Right after writing to a connection, the fan-out
  checks its buffer: above ``max_buffer`` unsent bytes, ``on_overflow`` cuts it. A member
  that stopped reading never makes the others wait: nothing here awaits anything.

The guarantees, and what they rest on
-------------------------------------
This code sits below websockets' public ``send()``: it writes frames to the transport
itself, through the few functions of :mod:`chatlib.websockets_internals`. That is safe
because of facts about *this* server, each checked or written down here:

- **The same bytes are right for everyone.** A server's frames are unmasked (RFC 6455 has
  only clients mask theirs, with a fresh key each), and the chat serves with
  ``compression=None``: no per-connection deflate state (RFC 7692) that a frame must go
  through. A connection that did negotiate permessage-deflate still reads these frames
  right: their RSV1 bit is clear, which marks a message sent uncompressed (RFC 7692,
  section 1).
- **Only to an open connection, never after a close frame.** The check runs when the bytes
  are written, not when the line was queued: a close frame may be sent in between (a client
  closing, the server shutting down). ``connection.state`` stays ``OPEN`` until websockets
  produces a close frame; a transport already closing (cut by the room) is skipped too.
- **Never inside a fragmented message.** Only websockets' ``send()`` fragments a message,
  and the room never calls it: every line it sends goes through this fan-out.
- **Whole frames only.** The library writes its own frames (pings, pongs, the close frame)
  to the same transport, each whole, at once. This fan-out writes whole frames too, so the
  two interleave only at frame boundaries, which the protocol allows: a ping may come
  between two chat lines. Keepalive and the closing handshake work as before.
- **Order.** A recipient's lines are kept in one list, in the order written; a sender's lines
  are written in order, so every recipient gets them in order, ``tell()`` notices included.

The price: the protocol object no longer sees the chat's frames (they are not in its debug
log), and :mod:`chatlib.websockets_internals` must be re-read when websockets changes.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence

from websockets.asyncio.server import ServerConnection

from chatlib.websockets_internals import text_frame, unsent_bytes, writable, write_frames

log = logging.getLogger(__name__)


def frames_by_connection(
    queued: list[tuple[tuple[ServerConnection, ...], bytes]],
) -> dict[ServerConnection, list[bytes]]:
    """Each connection's frames, in the order they were queued (a dict keeps its keys' order)."""
    frames: dict[ServerConnection, list[bytes]] = {}
    for connections, frame in queued:
        for connection in connections:
            mine = frames.get(connection)
            if mine is None:
                frames[connection] = [frame]
            else:
                mine.append(frame)
    return frames


class FanOut:
    """Writes chat lines to many connections: each framed once, one write per pass of the loop.

    ``on_overflow(connection)`` is called for a connection holding more than ``max_buffer``
    unsent bytes after a write; it must cut the connection (the room aborts it).
    """

    def __init__(self, max_buffer: int, on_overflow: Callable[[ServerConnection], None]) -> None:
        self.max_buffer = max_buffer
        self.on_overflow = on_overflow
        # What was written during this pass, in order: (recipients, frame), one per line.
        self.queued: list[tuple[tuple[ServerConnection, ...], bytes]] = []
        self.flush_scheduled = False

    def write(self, connections: Iterable[ServerConnection], line: str) -> None:
        """Queue ``line`` for every connection; it is written at the start of the next pass.

        Returns at once and never waits. Lines queued for one connection keep their order.
        Queuing costs the same for 1 or 1,000 recipients: the work per recipient is done
        once per pass, in :meth:`flush`.
        """
        self.queued.append((tuple(connections), text_frame(line)))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write what every connection is owed, one ``transport.write()`` each; cut the stalled.

        The event loop calls this at the start of the pass after the lines were queued.
        """
        queued, self.queued = self.queued, []
        self.flush_scheduled = False
        if len(queued) == 1:  # One line this pass (a quiet room): the same frame for all.
            connections, frame = queued[0]
            frames = (frame,)
            for connection in connections:
                self.send(connection, frames)
            return
        for connection, frames in frames_by_connection(queued).items():
            self.send(connection, frames)

    def send_queued_now(self, connection: ServerConnection) -> None:
        """Write what is queued for ``connection`` now, because the room cuts it next.

        What the room said to a member before cutting it goes out first, as it did when every
        line was written at once. The caller closes the connection right after: the next
        flush skips a closing transport, so nothing goes out twice.
        """
        frames = [frame for connections, frame in self.queued if connection in connections]
        if frames:
            self.send(connection, frames)

    def send(self, connection: ServerConnection, frames: Sequence[bytes]) -> None:
        """Write ``frames`` to ``connection`` in one write, if it may still receive them."""
        if not writable(connection):
            return  # Closing or closed: its handler announces the departure.
        try:
            write_frames(connection, frames[0] if len(frames) == 1 else b"".join(frames))
        except Exception as error:  # Like broadcast(): one failed write spares the others.
            log.warning("Could not write to a client (%s: %s).", type(error).__name__, error)
            return
        if unsent_bytes(connection) > self.max_buffer:
            self.on_overflow(connection)
