"""The assignment, answered in full: a chat room where your first message is your name.

Read it like a chapter: the lines the server writes, the rules for names and messages, the
room (joining, relaying, leaving), and the connection handler that ties them together.

Data flows one way through the server. A frame arrives; the rules check it (is it a valid
name, a non-empty text message?); the room formats the line (``[Alice]: hello``); and one
fan-out, :meth:`ChatRoom.deliver`, writes the line to its recipients. Keeping those steps in
separate, named places lets each one be read and tested on its own.

This module is chatlib's *reference*: besides the assignment's four requirements it announces
arrivals, welcomes newcomers, enforces name rules and stops clients from faking lines. The
minimal answer a learner would hand in is ``solutions/chat_server.py``; the difference between
the two is on purpose.
"""

import logging
import re
import unicodedata
from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosedError

from chatlib.serving import serve_until_stopped

log = logging.getLogger(__name__)

SERVER_NAME = "Server"
MAX_NAME_LENGTH = 24
# \w matches letters and digits of every script, and "_": "Zoë" and "李雷" are valid names.
NAME_PATTERN = re.compile(r"[\w-]+")

BINARY_NOTICE = "This chat carries text only: binary messages are not relayed."
EMPTY_NOTICE = "Empty messages are not sent: type some text first."


# --- The lines the server writes --------------------------------------------------------------


def chat_line(name: str, text: str) -> str:
    """Format one line of the chat, as every client prints it: ``[Alice]: Hello!``."""
    return f"[{name}]: {text}"


def server_line(text: str) -> str:
    """Format a notice from the server itself: ``[Server]: Alice has left the chat.``."""
    return chat_line(SERVER_NAME, text)


def welcome_text(name: str, others: list[str]) -> str:
    """The newcomer's welcome, which says who is already here."""
    if not others:
        return f"Welcome, {name}! You are the first one here."
    return f"Welcome, {name}! Here now: {', '.join(others)}."


# --- The rules for names and messages ---------------------------------------------------------


def name_problem(name: str, names_in_use: Iterable[str]) -> str | None:
    """Return why ``name`` cannot be used in this room, or ``None`` when it can.

    A name is one word of letters, digits, ``_`` or ``-``, at most 24 characters long. It may
    not be "Server" in any case, since server notices use that name, and it must differ from
    every name in use when case is ignored ("alice" would pass for "Alice").
    """
    if not name:
        return "Please type a name to join: one word of letters, digits, _ or -."
    if len(name) > MAX_NAME_LENGTH:
        return f"That name is too long: at most {MAX_NAME_LENGTH} characters, please."
    if not NAME_PATTERN.fullmatch(name):
        return "A name is one word of letters, digits, _ or - (no spaces or symbols). Try again."
    if name.casefold() == SERVER_NAME.casefold():
        return f'"{name}" is reserved for the server. Please choose another name.'
    if name.casefold() in {other.casefold() for other in names_in_use}:
        return f'"{name}" is already taken here. Please choose another name.'
    return None


def message_lines(text: str) -> list[str]:
    """Split a chat message into the lines to relay, each safe to show on one line.

    A message may contain newlines; relayed as they are, ``"hi\\n[Server]: Bob has left the
    chat."`` would show a fake server notice. So every line of a message is relayed as a line
    of its own, with the sender's name in front. Control characters (tabs, escape sequences
    that move the cursor, carriage returns) become spaces, and blank lines are dropped.
    """
    visible_lines = (
        "".join(" " if unicodedata.category(char) == "Cc" else char for char in line).rstrip()
        for line in text.splitlines()
    )
    return [line for line in visible_lines if line.strip()]


# --- The room ---------------------------------------------------------------------------------


class ChatRoom:
    """The named members of the chat, and what happens when they join, talk and leave."""

    def __init__(self) -> None:
        # Only clients that have chosen a valid name are members; a client still choosing
        # its name receives nothing from the room.
        self.members: dict[str, ServerConnection] = {}

    def names(self) -> list[str]:
        """The members' names, in the order they joined."""
        return list(self.members)

    def join(self, name: str, websocket: ServerConnection) -> None:
        """Add a member, welcome it, and tell everyone else it arrived."""
        others = self.names()
        recipients = list(self.members.values())
        self.members[name] = websocket
        log.info("%s joined the chat (%d in the room).", name, len(self.members))
        self.tell(websocket, welcome_text(name, others))
        self.deliver(recipients, server_line(f"{name} has joined the chat."))

    def relay(self, sender: str, text: str) -> None:
        """Send a member's message to every *other* member, one line at a time."""
        recipients = [ws for name, ws in self.members.items() if name != sender]
        for line in message_lines(text):
            self.deliver(recipients, chat_line(sender, line))

    def leave(self, name: str) -> None:
        """Remove a member and tell the others it has gone."""
        del self.members[name]
        log.info("%s left the chat (%d in the room).", name, len(self.members))
        self.deliver(self.members.values(), server_line(f"{name} has left the chat."))

    def tell(self, websocket: ServerConnection, text: str) -> None:
        """Send a server notice to one client only."""
        self.deliver([websocket], server_line(text))

    def deliver(self, recipients: Iterable[ServerConnection], line: str) -> None:
        """Write ``line`` to each recipient: the one place where the room sends anything.

        ``broadcast()`` encodes the line once, queues it on every open connection and returns
        without waiting, so a member that reads slowly cannot delay the others. It is a plain
        function: ``await broadcast(...)`` would raise ``TypeError``.
        """
        broadcast(list(recipients), line)


# --- The connection handler -------------------------------------------------------------------


class ChatServer:
    """Connects each client to the room: name first, then messages, then departure."""

    def __init__(self, room: ChatRoom | None = None) -> None:
        self.room = room if room is not None else ChatRoom()

    async def handler(self, websocket: ServerConnection) -> None:
        """Serve one client from its first message to its departure.

        websockets runs this coroutine once per connection. The ``try/finally`` announces the
        departure however the connection ends: a clean close, a dropped network, or the
        server shutting down. An abrupt disconnect raises ``ConnectionClosedError`` out of
        the ``async for``; it is an ordinary way to leave a chat, not an error to log.
        """
        try:
            name = await self.receive_name(websocket)
            if name is None:
                return  # Left before choosing a name: nobody knew it was here.
            self.room.join(name, websocket)
            try:
                async for message in websocket:
                    self.handle_message(name, websocket, message)
            finally:
                self.room.leave(name)
        except ConnectionClosedError:
            pass

    async def receive_name(self, websocket: ServerConnection) -> str | None:
        """Wait for a valid name, explaining each refusal; ``None`` if the client leaves."""
        async for message in websocket:
            if isinstance(message, bytes):
                self.room.tell(websocket, BINARY_NOTICE)
                continue
            # NFC: "Zoë" typed as "Zoe" + a combining accent becomes the one-letter "ë", so it
            # matches the name pattern and compares equal to the other spelling.
            name = unicodedata.normalize("NFC", message.strip())
            problem = name_problem(name, self.room.names())
            if problem is None:
                # No ``await`` between this check and ``join()``: no other client can take
                # the same name in between.
                return name
            self.room.tell(websocket, problem)
        return None

    def handle_message(self, name: str, websocket: ServerConnection, message: str | bytes) -> None:
        """Relay a member's text message, or tell the sender why it was not relayed."""
        if isinstance(message, bytes):
            self.room.tell(websocket, BINARY_NOTICE)
        elif not message_lines(message):
            self.room.tell(websocket, EMPTY_NOTICE)
        else:
            self.room.relay(name, message)


async def main(host: str, port: int) -> None:
    """Run a chat server on ``host:port`` until Ctrl-C or SIGTERM."""
    # Chat lines are short, so compression saves little bandwidth, while it costs about
    # 50 KiB of memory per connection (see DESIGN: ~64 KiB with it, ~14 KiB without).
    await serve_until_stopped(
        ChatServer().handler, host, port, title="Chat server", compression=None
    )
