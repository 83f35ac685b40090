"""The assignment, answered in full: a chat room where your first message is your name.

Read it like a chapter: the lines the server writes, the rules for names and messages, the
room (joining, relaying, leaving), and the connection handler that ties them together.

Data flows one way through the server. A frame arrives; the rules check it (is it a valid
name, a non-empty text message?); the room formats the line (``[Alice]: hello``); and one
fan-out, :meth:`ChatRoom.deliver` through :class:`chatlib.fanout.FanOut`, writes the line to
its recipients. Keeping those steps in
separate, named places lets each one be read and tested on its own.

This module is chatlib's *reference*: besides the assignment's four requirements it announces
arrivals, welcomes newcomers, enforces name rules and stops clients from faking lines. The
minimal answer a learner would hand in is ``solutions/chat_server.py``; the difference between
the two is on purpose.

A room may be private: started with a *room token* (``chat-server --token-file FILE``), it
admits only clients whose first message is that token (see "Who may join" below). With a
certificate (``--certfile``), the server speaks TLS: clients join at ``wss://``, and nobody on
the way can read the token or the chat.

The room here lives in one process and knows nothing else. :mod:`chatlib.shared_room` extends
it through its hooks (see :class:`ChatRoom`), to share one room between several processes
through Redis; the command line chooses which room to build (``chat-server --redis URL``).
"""

import asyncio
import enum
import hmac
import logging
import re
import ssl
import time
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from chatlib.fanout import FanOut
from chatlib.serving import serve_until_stopped
from chatlib.terminal import visible
from chatlib.web import OriginPolicy, chat_page
from chatlib.websockets_internals import abort

log = logging.getLogger(__name__)

SERVER_NAME = "Server"
MAX_NAME_LENGTH = 24
# \w matches letters and digits of every script, and "_": "Zoë" and "李雷" are valid names.
NAME_PATTERN = re.compile(r"[\w-]+")

BINARY_NOTICE = "This chat carries text only: binary messages are not relayed."
EMPTY_NOTICE = "Empty messages are not sent: type some text first."
FLOOD_NOTICE = "You are sending too fast: your messages are dropped for a moment."
LONE_SURROGATE = "That text holds a lone surrogate (not a character)"
UNENCODABLE_NOTICE = f"{LONE_SURROGATE}: it was not sent."


# --- The limits that protect the room ---------------------------------------------------------


def option(default: float, description: str) -> Any:
    """A limit with its default and the help text of its command-line option."""
    return field(default=default, metadata={"help": description})


@dataclass(frozen=True)
class ChatLimits:
    """Every protection of the chat server, with its default.

    Each field is also an option of ``python -m chatlib chat-server`` (``max_line`` becomes
    ``--max-line``), so an instructor can loosen or tighten them for a class.
    """

    max_buffer: int = option(1024 * 1024, "bytes waiting for one client before it is dropped")
    max_frame: int = option(64 * 1024, "largest message in bytes; bigger ones close with 1009")
    max_line: int = option(2000, "longest chat message in characters")
    flood_messages: int = option(20, "messages a client may send per --flood-window")
    flood_window: float = option(2.0, "seconds over which --flood-messages is counted")
    flood_strikes: int = option(3, "floods after which a client is disconnected")
    handshake_timeout: float = option(10.0, "seconds a new connection has to open the WebSocket")
    name_timeout: float = option(60.0, "seconds a new client has to choose a name")
    ping_interval: float = option(20.0, "seconds between keepalive pings")
    ping_timeout: float = option(20.0, "seconds to answer a ping before counting as gone")


class FloodVerdict(enum.Enum):
    """What the flood guard decides about one incoming message."""

    ACCEPT = "accept"  # Within the limit: the message rules judge it next.
    WARN = "warn"  # The first one over the limit: dropped, and the sender is told why.
    DROP = "drop"  # Over the limit again, in a burst already warned about: dropped silently.
    DISCONNECT = "disconnect"  # The strike that reaches the limit: the sender is cut.


class FloodGuard:
    """Counts one member's messages and says which ones the room should drop.

    At most ``limit`` messages are accepted in any ``window`` seconds. The first message
    dropped in a burst counts as a strike and earns the sender a notice; the strike that
    reaches ``strikes`` means the sender is disconnected.
    """

    def __init__(self, limit: int, window: float, strikes: int, clock=time.monotonic) -> None:
        self.limit, self.window, self.strikes_allowed = limit, window, strikes
        self.clock = clock
        self.recent: deque[float] = deque()
        self.strikes = 0
        self.in_burst = False

    def verdict(self) -> FloodVerdict:
        """Record one incoming message and decide what becomes of it."""
        now = self.clock()
        while self.recent and self.recent[0] <= now - self.window:
            self.recent.popleft()
        if len(self.recent) < self.limit:
            self.recent.append(now)
            self.in_burst = False
            return FloodVerdict.ACCEPT
        if self.in_burst:
            return FloodVerdict.DROP
        self.in_burst = True
        self.strikes += 1
        if self.strikes >= self.strikes_allowed:
            return FloodVerdict.DISCONNECT
        return FloodVerdict.WARN


# --- The lines the server writes --------------------------------------------------------------


def chat_line(name: str, text: str) -> str:
    """Format one line of the chat, as every client prints it: ``[Alice]: Hello!``."""
    return f"[{name}]: {text}"


def server_line(text: str) -> str:
    """Format a notice from the server itself: ``[Server]: Alice has left the chat.``."""
    return chat_line(SERVER_NAME, text)


def arrival_line(name: str) -> str:
    """What the others read when ``name`` joins."""
    return server_line(f"{name} has joined the chat.")


def departure_line(name: str) -> str:
    """What the others read when ``name`` leaves, however it left."""
    return server_line(f"{name} has left the chat.")


def greeting(name: str) -> str:
    """How every welcome starts: a client reads by it that ``name`` was accepted."""
    return f"Welcome, {name}!"


def welcome_text(name: str, others: list[str]) -> str:
    """The newcomer's welcome, which says who is already here."""
    if not others:
        return f"{greeting(name)} You are the first one here."
    return f"{greeting(name)} Here now: {', '.join(others)}."


# --- The rules for names and messages ---------------------------------------------------------


def name_problem(name: str, names_in_use: Iterable[str]) -> str | None:
    """Return why ``name`` cannot be used in this room, or ``None`` when it can.

    A name is one word of letters, digits, ``_`` or ``-``, at most 24 characters long. It may
    not be "Server" in any case, since server notices use that name, and it must differ from
    every name in use when case is ignored ("alice" would pass for "Alice").
    """
    if not name:
        return "Please type a name to join: one word of letters, digits, _ or -."
    if not encodable(name):
        return f"{LONE_SURROGATE}: choose another name."
    if len(name) > MAX_NAME_LENGTH:
        return f"That name is too long: at most {MAX_NAME_LENGTH} characters, please."
    if not NAME_PATTERN.fullmatch(name):
        return "A name is one word of letters, digits, _ or - (no spaces or symbols). Try again."
    if same_name(name, SERVER_NAME):
        return f'"{name}" is reserved for the server. Please choose another name.'
    if any(same_name(name, other) for other in names_in_use):
        return name_taken_notice(name)
    return None


def name_taken_notice(name: str) -> str:
    """What a client reads when someone in the room already has ``name``."""
    return f'"{name}" is already taken here. Please choose another name.'


def message_problem(message: str | bytes, max_line: int) -> str | None:
    """Return why ``message`` cannot be relayed, or ``None`` when it can.

    A message is text (a binary frame is not), holds only characters UTF-8 can encode, has at
    most ``max_line`` characters, and shows something once control characters and blank
    lines are gone (see :func:`message_lines`).
    """
    if isinstance(message, bytes):
        return BINARY_NOTICE
    if not encodable(message):
        return UNENCODABLE_NOTICE
    if len(message) > max_line:
        return too_long_notice(message, max_line)
    if not message_lines(message):
        return EMPTY_NOTICE
    return None


def encodable(text: str) -> bool:
    """True when ``text`` can be sent: it holds no lone surrogate (``"\\ud800"``).

    Text from the network is valid UTF-8 (websockets closes with 1007 otherwise), but a
    Python string handed to the room by other code may hold half of a surrogate pair, which
    UTF-8 cannot encode: relayed, it would raise ``UnicodeEncodeError`` in the fan-out.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def too_long_notice(text: str, limit: int) -> str:
    """The notice for a message over ``limit`` characters."""
    return f"Your message has {len(text):,} characters; the limit is {limit:,}. It was not sent."


def name_identity(name: str) -> str:
    """What two names must share to look the same in the chat: equal identities clash.

    Case is ignored, and so are compatibility forms: NFKC turns "Server" written in
    fullwidth letters (U+FF33...) into plain "Server". Letters that merely look alike across
    alphabets, like the Cyrillic DZE (U+0405) for "S", are not caught: that needs Unicode's
    confusables table.
    """
    return unicodedata.normalize("NFKC", name).casefold()


def same_name(first: str, second: str) -> bool:
    """True when two names would look the same in the chat (see :func:`name_identity`)."""
    return name_identity(first) == name_identity(second)


def message_lines(text: str) -> list[str]:
    """Split a chat message into the lines to relay, each safe to show on one line.

    A message may contain newlines; relayed as they are, ``"hi\\n[Server]: Bob has left the
    chat."`` would show a fake server notice. So every line of a message is relayed as a line
    of its own, with the sender's name in front. Control characters (tabs, escape sequences
    that move the cursor, carriage returns) become spaces, and blank lines are dropped.
    """
    visible_lines = (visible(line).rstrip() for line in text.splitlines())
    return [line for line in visible_lines if line.strip()]


# --- The room ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Member:
    """A client that has chosen its name, with what the room keeps about it."""

    name: str
    websocket: ServerConnection
    flood_guard: FloodGuard


class ChatRoom:
    """The named members of the chat, and what happens when they join, talk and leave.

    The connection handler (:class:`ChatServer`) drives a client through four steps, each a
    method here: :meth:`admit_name`, :meth:`join`, :meth:`receive` for each message, and
    :meth:`leave`. They are the room's hooks: a room of another kind extends them, calling
    them through ``super()``, and relies on nothing they do inside
    (:class:`chatlib.shared_room.SharedRoom` shares one room between processes that way).
    """

    def __init__(self, limits: ChatLimits | None = None) -> None:
        self.limits = limits if limits is not None else ChatLimits()
        # Only clients that have chosen a valid name are members; a client still choosing
        # its name receives nothing from the room.
        self.members: dict[str, Member] = {}
        # Why the room itself cut a connection ("too slow", "flooding"), for the log.
        self.eviction_reasons: dict[ServerConnection, str] = {}
        # Everything the room sends goes through it (see write()).
        self.fanout = FanOut(self.limits.max_buffer, self.cut_too_slow)

    def names(self) -> list[str]:
        """The members' names, in the order they joined."""
        return list(self.members)

    async def admit_name(self, name: str) -> str | None:
        """Return why a client may not join as ``name``, or ``None`` when it may.

        The handler awaits this, then calls :meth:`join` at once. This room answers without
        waiting, so no other client can take the name in between; a room that must ask
        someone else first (a shared room asks Redis) may wait.
        """
        return name_problem(name, self.names())

    def join(self, name: str, websocket: ServerConnection, here: list[str] | None = None) -> Member:
        """Add a member, welcome it, and tell everyone else it arrived.

        The welcome names ``here``: by default everyone in the room now. A room whose
        :meth:`admit_name` waited passes who was here when the name arrived.
        """
        if here is None:
            here = self.names()
        others = list(self.members.values())
        limits = self.limits
        member = Member(
            name,
            websocket,
            FloodGuard(limits.flood_messages, limits.flood_window, limits.flood_strikes),
        )
        self.members[name] = member
        log.info("%s joined the chat (%d in the room).", name, len(self.members))
        self.tell(websocket, welcome_text(name, here))
        self.deliver(others, arrival_line(name))
        return member

    async def receive(self, member: Member, message: str | bytes) -> None:
        """Handle one message from a member: relay it, or tell the sender why not.

        The flood guard judges first (too many messages too fast?), then the rules
        (:func:`message_problem`). This room never waits here; a room that must (a shared
        room, while a newcomer's name is on its way) may.
        """
        verdict = member.flood_guard.verdict()
        if verdict is FloodVerdict.DISCONNECT:
            self.evict(member.websocket, "flooding")
        elif verdict is FloodVerdict.WARN:
            self.tell(member.websocket, FLOOD_NOTICE)
        elif verdict is FloodVerdict.ACCEPT:
            problem = message_problem(message, self.limits.max_line)
            if problem is None:
                self.relay(member, message)
            else:
                self.tell(member.websocket, problem)
        # FloodVerdict.DROP: dropped without a word; the sender was warned at the first one.

    def relay(self, sender: Member, text: str) -> None:
        """Send a member's message to every *other* member, one line at a time."""
        recipients = [member for member in self.members.values() if member is not sender]
        for line in message_lines(text):
            self.deliver(recipients, chat_line(sender.name, line))

    def leave(self, member: Member, reason: str) -> None:
        """Remove a member and tell the others it has gone."""
        del self.members[member.name]
        log.info("%s left the chat (%s; %d in the room).", member.name, reason, len(self.members))
        self.deliver(self.members.values(), departure_line(member.name))

    def tell(self, websocket: ServerConnection, text: str) -> None:
        """Send a server notice to one client only."""
        self.write([websocket], server_line(text))

    def deliver(self, recipients: Iterable[Member], line: str) -> None:
        """Write ``line`` to each member in ``recipients``."""
        self.write([member.websocket for member in recipients], line)

    def write(self, connections: list[ServerConnection], line: str) -> None:
        """The one place where the room sends anything: through the room's :class:`FanOut`.

        The line is framed once and queued for every connection; at the start of the next
        pass of the event loop each connection gets all its lines in one write. Nothing
        waits, so a member that reads slowly cannot delay the others, and lines reach each
        member in the order they were written here.

        A client that stops reading makes its queue grow forever (the keepalive cannot catch
        it: its pings wait in the same queue). So after each write, a connection holding more
        than ``max_buffer`` unsent bytes is cut (see :mod:`chatlib.fanout`).
        """
        self.fanout.write(connections, line)

    def cut_too_slow(self, websocket: ServerConnection) -> None:
        """Cut a client whose unsent bytes passed ``max_buffer``: it stopped reading."""
        self.evict(websocket, "too slow: stopped reading")

    def evict(self, websocket: ServerConnection, reason: str) -> None:
        """Cut a connection at once; its handler then announces the departure as usual.

        What the room had already said to it goes out first, then ``abort()`` rather than
        ``close()``: a closing handshake would wait in the same full queue, or be ignored by
        a client that floods.
        """
        self.eviction_reasons.setdefault(websocket, reason)
        self.fanout.send_queued_now(websocket)
        abort(websocket)

    def departure_reason(self, websocket: ServerConnection, closed: ConnectionClosed) -> str:
        """Say in a few words why a connection ended, for the log.

        The room's own reason comes first when it cut the connection; else the exception
        that ``recv()`` raised tells (see :func:`how_it_closed`).
        """
        return self.eviction_reasons.pop(websocket, None) or how_it_closed(closed)


# --- Why a connection ended -------------------------------------------------------------------

# The close frame (code, reason) that websockets sends when a keepalive ping goes unanswered.
# websockets 17 has no flag or exception class for it; this is the shape its FAQ quotes ("sent
# 1011 (internal error) keepalive ping timeout; no close frame received"). The code alone would
# not do: 1011 also ends a connection whose handler crashed.
KEEPALIVE_TIMEOUT = (CloseCode.INTERNAL_ERROR, "keepalive ping timeout")


def how_it_closed(closed: ConnectionClosed) -> str:
    """Say in a few words how a connection closed, from the close frames of its closing.

    ``closed.sent`` and ``closed.rcvd`` are the close frames (code and reason) the server sent
    and received, ``None`` for one that never came: both are ``None`` when the network
    dropped. ``closed.rcvd_then_sent`` says which came first.
    """
    sent, rcvd = closed.sent, closed.rcvd
    if sent is not None and (sent.code, sent.reason) == KEEPALIVE_TIMEOUT:
        return "timed out: no answer to ping"
    goodbyes = (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY)
    shutting_down = sent is not None and sent.code == CloseCode.GOING_AWAY
    if shutting_down and not closed.rcvd_then_sent:
        return "server shutting down"
    if rcvd is not None and rcvd.code in goodbyes:
        return "closed"
    if sent is not None and sent.code not in goodbyes:
        return f"closed by the server: {sent}"
    if rcvd is None:
        return "connection reset"
    return f"closed with {rcvd}"


# --- Who may join -----------------------------------------------------------------------------

# The reason of the close frame (code 1008, policy violation) a client without the room's
# token gets. It says the same for a wrong and a missing token: a guesser learns nothing.
TOKEN_REFUSED = "this room needs its token: wrong or missing token"


def token_matches(expected: str, offered: str | bytes) -> bool:
    """True when ``offered`` (a client's first message) is the room token ``expected``.

    ``hmac.compare_digest`` takes as long whatever the first differing character: ``==``
    stops at the first difference, and timing many tries would reveal the token one
    character at a time.
    """
    offered_bytes = offered if isinstance(offered, bytes) else offered.encode("utf-8")
    return hmac.compare_digest(expected.encode("utf-8"), offered_bytes)


# --- The connection handler -------------------------------------------------------------------


class ChatServer:
    """Connects each client to the room: name first, then messages, then departure.

    It takes its room, so a room of another kind can be served by the same handler. With a
    ``token``, the room is private: a client's first message must be that token, before its
    name (see :meth:`admit`).
    """

    def __init__(self, room: ChatRoom | None = None, token: str | None = None) -> None:
        self.room = room if room is not None else ChatRoom()
        self.token = token

    async def handler(self, websocket: ServerConnection) -> None:
        """Serve one client from its first message to its departure.

        websockets runs this coroutine once per connection. The ``finally`` clause announces
        the departure however the connection ends: a clean close, a dropped network, the
        room cutting a client that is too slow, or the server shutting down.
        """
        name = await self.receive_name_in_time(websocket)
        if name is None:
            return  # Left (or was closed) before choosing a name: nobody knew it was here.
        member = self.room.join(name, websocket)
        reason = "its handler stopped"  # Cancelled, or a bug: it leaves the room all the same.
        try:
            reason = await self.relay_messages(member)
        finally:
            self.room.leave(member, reason)

    async def relay_messages(self, member: Member) -> str:
        """Hand each message of a member to the room until its connection closes; say why.

        ``recv()`` raises ``ConnectionClosed`` however the connection ends, and the exception
        tells how: which close frames each side sent. (``async for message in websocket``
        would end quietly after a clean close and keep that to itself.) An abrupt disconnect
        is an ordinary way to leave a chat, not an error to log with a traceback.
        """
        while True:
            try:
                message = await member.websocket.recv()
            except ConnectionClosed as closed:
                return self.room.departure_reason(member.websocket, closed)
            await self.room.receive(member, message)

    async def receive_name_in_time(self, websocket: ServerConnection) -> str | None:
        """Wait for a valid name, at most ``name_timeout`` seconds; ``None`` if none came.

        In a private room the token comes first, within the same time.
        """
        timeout = self.room.limits.name_timeout
        try:
            async with asyncio.timeout(timeout):
                if not await self.admit(websocket):
                    return None
                return await self.receive_name(websocket)
        except TimeoutError:
            log.info("A client sent no valid name within %g s; closing it.", timeout)
            await websocket.close(CloseCode.POLICY_VIOLATION, "no name chosen in time")
        except ConnectionClosed as closed:
            # Invalid UTF-8, a frame too big, a reset: nobody was told it came, but the log is.
            reason = self.room.departure_reason(websocket, closed)
            log.info("A client left before choosing a name (%s).", reason)
        return None

    async def admit(self, websocket: ServerConnection) -> bool:
        """In a private room, let in only a client whose first message is the token.

        A wrong or missing token closes the connection with 1008 (policy violation) before the
        client has heard anything from the room. The log says a client was refused, never
        what it sent: a token mistyped in a log file is a token given away.
        """
        if self.token is None:
            return True
        if token_matches(self.token, await websocket.recv()):
            return True
        log.info("Refused a client without the room token (closed with 1008).")
        await websocket.close(CloseCode.POLICY_VIOLATION, TOKEN_REFUSED)
        return False

    async def receive_name(self, websocket: ServerConnection) -> str | None:
        """Wait for a name the room admits, explaining each refusal; ``None`` if it leaves."""
        async for name in self.proposed_names(websocket):
            problem = await self.room.admit_name(name)
            if problem is None:
                return name  # The handler joins it at once (see ChatRoom.admit_name).
            self.room.tell(websocket, problem)
        return None

    async def proposed_names(self, websocket: ServerConnection) -> AsyncIterator[str]:
        """Each text message of a client that has no name yet, tidied up to be tried as one."""
        async for message in websocket:
            if isinstance(message, bytes):
                self.room.tell(websocket, BINARY_NOTICE)
                continue
            # NFC: "Zoë" typed as "Zoe" + a combining accent becomes the one-letter "ë", so it
            # matches the name pattern and compares equal to the other spelling.
            yield unicodedata.normalize("NFC", message.strip())


def serve_options(limits: ChatLimits, origins: OriginPolicy | None = None) -> dict[str, Any]:
    """The options of ``serve()`` that enforce the limits at the protocol level.

    ``process_request`` answers a browser's plain ``GET /`` with the chat page, and refuses
    WebSocket connections opened by pages of other sites (see :mod:`chatlib.web`).
    """
    return {
        "process_request": chat_page(origins if origins is not None else OriginPolicy()),
        # Chat lines are short, so compression saves little bandwidth, while it costs about
        # 50 KiB of memory per connection (measured: ~64 KiB with it, ~14 KiB without).
        "compression": None,
        "max_size": limits.max_frame,
        "open_timeout": limits.handshake_timeout,
        "ping_interval": limits.ping_interval,
        "ping_timeout": limits.ping_timeout,
    }


def server_tls(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """The TLS context of a server that shows the certificate in ``certfile``.

    ``keyfile`` holds its private key, unless ``certfile`` holds both. A missing file raises
    ``OSError``; a key that does not belong to the certificate raises ``ssl.SSLError``.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    return context


async def run(
    server: ChatServer,
    host: str,
    port: int,
    allowed_origins: Iterable[str] = (),
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve ``server``'s room on ``host:port`` until Ctrl-C or SIGTERM.

    Browsers get the chat page at ``http://host:port/`` (``https://`` with ``tls``, a context
    from :func:`server_tls`); pages of other sites may connect only when their origin is in
    ``allowed_origins``.
    """
    origins = OriginPolicy(host, frozenset(allowed_origins))
    await serve_until_stopped(
        server.handler,
        host,
        port,
        title="Chat server",
        page="Chat page",
        ssl=tls,
        **serve_options(server.room.limits, origins),
    )


async def main(
    host: str,
    port: int,
    limits: ChatLimits | None = None,
    allowed_origins: Iterable[str] = (),
    tls: ssl.SSLContext | None = None,
    token: str | None = None,
) -> None:
    """Run a chat server with a room of its own on ``host:port`` until Ctrl-C or SIGTERM.

    ``tls`` makes it speak TLS (``wss://``); ``token`` makes the room private.
    """
    await run(ChatServer(ChatRoom(limits), token), host, port, allowed_origins, tls)
