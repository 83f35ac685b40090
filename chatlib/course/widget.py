"""A chat client inside a notebook: a name box, the messages as they arrive, an input line.

``ChatWidget(url)`` in a cell shows the client; type a name and press Enter to join, then
type messages and press Enter to send them. Terminal users, browser users (the chat page)
and notebook users all meet in the same room.

The widget runs on the kernel's own event loop, like a server started in a cell: its
connection is a task that keeps receiving between cells, and each incoming line is added to
an ``Output`` widget with ``append_stdout`` (so it is shown as text, never as HTML). The same
methods the boxes call are there for cells: ``await chat.join("Nora")``,
``await chat.send("hi")``, ``await chat.wait_for("[Tess]:")`` and ``await chat.leave()``.
"""

import asyncio

import ipywidgets as widgets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chatlib import DEFAULT_URL, chat_server
from chatlib.client_errors import CONNECTION_FAILURES

# What starts every notice of the server, "[Server]: ", from the server's own formatting.
SERVER_PREFIX = chat_server.server_line("")
WAIT = 5.0  # Seconds to wait for the server's answer to a name, or for an expected line.


class ChatWidget:
    """A chat client as a widget: display it, or drive it from code.

    It holds its boxes in ``view`` (a ``VBox``) rather than being one: a widget's own methods
    (``send`` among them) must keep their meaning.
    """

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.name: str | None = None  # Set once the server welcomed us.
        self.lines: list[str] = []  # Every line shown in the log, in order.
        self.websocket: ClientConnection | None = None
        self.receiver: asyncio.Task | None = None
        self.new_line = asyncio.Condition()
        self.tasks: set[asyncio.Future] = set()
        # ipywidgets 8: with continuous_update off, the value changes on Enter (or when the
        # box loses focus); observing "value" replaces the deprecated on_submit().
        self.name_box = widgets.Text(
            placeholder="Your name, then Enter", description="Name:", continuous_update=False
        )
        self.state = widgets.Label(value=f"not connected ({url})")
        self.messages = widgets.Output(
            layout=widgets.Layout(height="16em", overflow="auto", border="1px solid #ccc")
        )
        self.input = widgets.Text(
            placeholder="Join first",
            description="Message:",
            continuous_update=False,
            disabled=True,
            layout=widgets.Layout(width="100%"),
        )
        self.name_box.observe(self.name_submitted, "value")
        self.input.observe(self.message_submitted, "value")
        self.view = widgets.VBox(
            [widgets.HBox([self.name_box, self.state]), self.messages, self.input]
        )

    def _repr_mimebundle_(self, **kwargs):
        # A cell that ends with the ChatWidget shows its boxes.
        return self.view._repr_mimebundle_(**kwargs)

    # --- What a person does, through the boxes ------------------------------------------------

    def name_submitted(self, change: dict) -> None:
        """Enter in the name box: join under that name (a widget callback cannot await)."""
        if change["new"].strip() and self.name is None:
            self.in_background(self.join(change["new"]))

    def message_submitted(self, change: dict) -> None:
        """Enter in the input line: send the text, and empty the line for the next one."""
        text = change["new"]
        if text.strip():
            self.input.value = ""  # Observed too, but ignored: it is empty.
            self.in_background(self.send(text))

    def in_background(self, work) -> None:
        """Run ``work`` as a task on the kernel's loop; show its error in the state line."""

        async def shown_errors() -> None:
            try:
                await work
            except Exception as error:
                self.state.value = f"error: {error}"

        # The loop keeps only a weak reference to a task: keep it alive until it is done.
        task = asyncio.ensure_future(shown_errors())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- What a cell can do, with await -------------------------------------------------------

    async def join(self, name: str) -> str:
        """Connect if needed, ask to join as ``name``; return the server's answer."""
        if self.websocket is None:
            self.state.value = f"connecting to {self.url}…"
            try:
                self.websocket = await connect(self.url)
            except CONNECTION_FAILURES as error:
                self.state.value = f"cannot connect to {self.url} ({error}): is the server running?"
                raise
            self.receiver = asyncio.create_task(self.receive(self.websocket))
        name = name.strip()
        start = len(self.lines)
        await self.websocket.send(name)
        answer = await self.wait_for(SERVER_PREFIX, start=start)
        # The server's welcome, as its one home words it: any other answer is a refusal.
        if answer.startswith(chat_server.server_line(chat_server.greeting(name))):
            self.name = name
            self.name_box.disabled = True
            self.input.disabled = False
            self.input.placeholder = "Type a message, then Enter"
            self.state.value = f"connected as {name}"
        else:
            self.state.value = answer.removeprefix(SERVER_PREFIX)  # Why the name was refused.
        return answer

    async def send(self, text: str) -> None:
        """Send ``text`` to the room, and show it in our own log."""
        if self.websocket is None or self.name is None:
            raise RuntimeError("join the chat first: await chat.join('YourName')")
        await self.websocket.send(text)
        self.show(f"[{self.name}]: {text}")

    async def wait_for(self, text: str, timeout: float = WAIT, start: int = 0) -> str:
        """Wait until a line containing ``text`` is shown (from index ``start``); return it."""

        def found() -> str | None:
            return next((line for line in self.lines[start:] if text in line), None)

        try:
            async with asyncio.timeout(timeout), self.new_line:
                await self.new_line.wait_for(found)
        except TimeoutError:
            raise TimeoutError(f"no line with {text!r} within {timeout} s") from None
        return found()

    async def leave(self) -> None:
        """Close the connection (the others read that we left)."""
        if self.websocket is not None:
            await self.websocket.close()
        if self.receiver is not None:
            await self.receiver

    # --- Receiving ----------------------------------------------------------------------------

    async def receive(self, websocket: ClientConnection) -> None:
        """Show every line from the room until the connection ends."""
        try:
            async for message in websocket:
                await self.add_line(message if isinstance(message, str) else "(binary message)")
        except ConnectionClosed:
            pass
        finally:
            self.websocket = self.receiver = self.name = None
            self.name_box.disabled = False
            self.input.disabled = True
            self.state.value = "disconnected: type your name and Enter to join again"

    async def add_line(self, line: str) -> None:
        """Show a line from the room, and wake up whoever waits for one (``wait_for``)."""
        self.show(line)
        async with self.new_line:
            self.new_line.notify_all()

    def show(self, line: str) -> None:
        """Add ``line`` to the log, as plain text."""
        self.lines.append(line)
        self.messages.append_stdout(line + "\n")

    def __repr__(self) -> str:
        who = f"as {self.name}" if self.name else "not joined"
        return f"<ChatWidget on {self.url}, {who}, {len(self.lines)} lines>"
