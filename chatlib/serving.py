"""Start a WebSocket server, say where it listens, and stop it cleanly on Ctrl-C or SIGTERM.

Every server chatlib starts goes through :class:`BackgroundServer`: it serves in this event
loop while the code that started it goes on, knows its URL, and stops within one deadline,
:data:`CLOSE_TIMEOUT`. On the command line, every server (echo, uppercase, broadcast, chat)
serves through :func:`serve_until_stopped`, run by :func:`run_until_interrupted`
(``python -m chatlib`` does both, in :func:`chatlib.course.cli.serve`), so they all
behave the same way there:

- once listening, they print one line with the URL to connect to (with ``--port 0`` the
  operating system picks a free port, and the line carries the real one);
- Ctrl-C or SIGTERM closes every open connection with code 1001 ("going away"), so each
  client sees a clean ``ConnectionClosedOK``, and the program exits with status 0.
"""

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve

from chatlib.websockets_internals import HandshakeReportingConnection, abort, connections_still_open

Handler = Callable[[ServerConnection], Awaitable[None]]

# Where the servers a notebook or a checker starts listen: one address, so that port 0 gives
# one port. ("localhost" may stand for two addresses, 127.0.0.1 and ::1, and each listening
# socket would then get a free port of its own: the URL would name only the first.)
LOOPBACK = "127.0.0.1"

# Seconds a client has to answer the closing handshake, above all when a server stops; then its
# connection is cut. One value for every server chatlib starts (the command line's, a
# notebook's, the checker's, the tests'): a client that reads answers within a round trip,
# milliseconds on loopback and well under a second on a busy two-core machine, so no
# client that works is cut; a client that stopped reading never answers, and this is how
# long whoever pressed Ctrl-C, ran a cell or waits for a check waits for it. (websockets'
# own default, 10 s, would read as a hang.)
CLOSE_TIMEOUT = 2

log = logging.getLogger(__name__)


class LoggedConnection(HandshakeReportingConnection):
    """A server connection that logs, in one line, why an opening handshake failed.

    websockets 17 drops such connections silently: a client that sends garbage instead of
    an HTTP request, or opens a TCP connection and never speaks, leaves no trace. A server
    operator wants one line for each, and no traceback. The two hooks below are called by
    :class:`~chatlib.websockets_internals.HandshakeReportingConnection`, which explains the
    websockets internals it takes to notice.
    """

    def handshake_failed(self, failure: Exception) -> None:
        cause = f" ({failure.__cause__})" if failure.__cause__ else ""
        log.info("%s failed the opening handshake: %s%s.", self.peer(), failure, cause)

    def handshake_abandoned(self) -> None:
        log.info("%s never completed the opening handshake; dropped.", self.peer())

    def peer(self) -> str:
        """The client's address as host:port, for the log."""
        address = self.remote_address
        return f"{address[0]}:{address[1]}" if address else "A client"


def free_port() -> int:
    """A port of 127.0.0.1 where nothing listens right now: the system just handed it out."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def server_url(server: Server, host: str, secure: bool = False) -> str:
    """Return the ``ws://`` (with ``secure``: ``wss://``) URL that reaches ``server`` from here.

    The port comes from the listening socket, not from the options, because port 0 asks the
    operating system for any free port. A server bound to every interface ("0.0.0.0", "::"
    or "") is reached locally through ``localhost``. ``secure`` says the server speaks TLS
    (it was given ``ssl=``): its clients must then connect with ``wss://``.
    """
    port = server.sockets[0].getsockname()[1]
    if host in ("", "0.0.0.0", "::"):
        host = "localhost"
    if ":" in host:  # An IPv6 address must be written in brackets inside a URL.
        host = f"[{host}]"
    scheme = "wss" if secure else "ws"
    return f"{scheme}://{host}:{port}"


def page_url(websocket_url: str) -> str:
    """The ``http://`` URL of the page served beside the WebSocket at ``websocket_url``.

    A ``wss://`` server speaks TLS to browsers too: its page is at ``https://``.
    """
    return "http" + websocket_url.removeprefix("ws") + "/"


async def wait_for_stop_request() -> None:
    """Return when the user presses Ctrl-C or the process receives SIGTERM.

    On Windows, asyncio cannot install signal handlers; there Ctrl-C raises
    KeyboardInterrupt in ``asyncio.run()``, which cancels this coroutine instead, and the
    server still closes on the way out.
    """
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    try:
        for stop_signal in stop_signals:
            loop.add_signal_handler(stop_signal, stop_requested.set)
    except NotImplementedError:  # pragma: no cover - Windows only
        pass
    try:
        await stop_requested.wait()
    finally:
        for stop_signal in stop_signals:
            with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers.
                loop.remove_signal_handler(stop_signal)


class BackgroundServer:
    """A WebSocket server that serves in this event loop while the code that started it goes on.

    ``await BackgroundServer(handler).start()`` listens on a free port of :data:`LOOPBACK`
    (or on ``host`` and ``port``), and sets ``url`` and ``port``; ``await server.stop()``
    closes every connection with 1001 (going away) and cuts those that do not answer within
    :data:`CLOSE_TIMEOUT`. ``async with BackgroundServer(handler) as server:`` does both
    around a block. ``serve_options`` go to websockets' ``serve()`` (``ssl=`` included: the
    URL then says ``wss://``).
    """

    def __init__(
        self, handler: Handler, host: str = LOOPBACK, port: int = 0, **serve_options: Any
    ) -> None:
        self.handler = handler
        self.host = host
        self.asked_port = port  # 0: any free port, chosen by the operating system.
        # The shutdown deadline is the close timeout that websockets gives each connection.
        self.serve_options = {"close_timeout": CLOSE_TIMEOUT, **serve_options}
        self.server: Server | None = None
        self.url = ""
        self.port = 0

    async def start(self) -> Self:
        """Start listening and return this server; ``OSError`` if the port cannot be had."""
        options = self.serve_options
        self.server = await serve(self.handler, self.host, self.asked_port, **options)
        self.url = server_url(self.server, self.host, secure=options.get("ssl") is not None)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Close every connection (1001, going away) and stop listening; safe to call twice."""
        if self.server is not None:
            await close_within(self.server, self.serve_options["close_timeout"])

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def serve_until_stopped(
    handler: Handler,
    host: str,
    port: int,
    *,
    title: str,
    page: str | None = None,
    **serve_options: Any,
) -> None:
    """Serve ``handler`` on ``host:port`` until a stop is requested, then close cleanly.

    With ``page`` (its title), the server also serves a web page, whose ``http://`` URL is
    printed on a second line. With ``ssl=`` (an :class:`ssl.SSLContext` holding the
    certificate), every connection starts with TLS: the lines say ``wss://`` and ``https://``.
    A client that fails the opening handshake is logged in one line (:class:`LoggedConnection`).
    """
    serve_options.setdefault("create_connection", LoggedConnection)
    async with BackgroundServer(handler, host, port, **serve_options) as server:
        print(f"{title} listening on {server.url} (Ctrl-C to stop)", flush=True)
        if page is not None:
            print(f"{page}: open {page_url(server.url)} in a browser", flush=True)
        await wait_for_stop_request()
        print("Stopping: closing every connection with code 1001 (going away).", flush=True)
    print("Server stopped.", flush=True)


async def close_within(server: Server, deadline: float) -> None:
    """Close ``server`` and all its connections; return within about ``deadline`` + 1 seconds.

    ``server.close()`` sends every client a close frame (code 1001) and waits for its answer.
    A client that stopped reading never answers, and its connection would hold the shutdown
    forever; after the deadline, such connections are cut with ``transport.abort()``.
    """
    server.close()
    try:
        async with asyncio.timeout(deadline):
            await server.wait_closed()
    except TimeoutError:
        unanswered = connections_still_open(server)
        plural = "s" if len(unanswered) != 1 else ""
        print(
            f"Cut {len(unanswered)} connection{plural} that did not answer within {deadline:g} s.",
            flush=True,
        )
        for connection in unanswered:
            abort(connection)
        async with asyncio.timeout(1):
            await server.wait_closed()


def no_address_could_be_bound(error: OSError) -> bool:
    """True for asyncio's "could not bind on any address" (Python 3.13 and newer): it skips
    the addresses this machine cannot assign, taking them for a family that is turned off,
    and when none is left it raises an OSError with no errno, only these words."""
    return error.errno is None and str(error).startswith("could not bind on any address")


def startup_advice(error: OSError) -> str:
    """What to do when a server cannot start listening, in one line, chosen by the error.

    "Port in use" is the common case, not the only one: a host that is not this machine's,
    or a port the system keeps for itself (below 1024 without administrator rights; on
    Windows, the ranges Hyper-V and WSL reserve, which fail with WinError 10013).
    """
    if isinstance(error, socket.gaierror):
        return "No such host: check --host (localhost, or 0.0.0.0 for every address here)."
    if error.errno == errno.EADDRINUSE:
        return (
            "Another program already listens on that port (a server you started earlier?)."
            " Stop it, or pass another --port (--port 0 picks a free one)."
        )
    if error.errno == errno.EADDRNOTAVAIL or no_address_could_be_bound(error):
        return (
            "This machine has no such address: use --host localhost, --host 0.0.0.0 (every"
            " address of this machine) or one of its own addresses."
        )
    if error.errno == errno.EACCES:
        return (
            "The system does not let this program use that port: ports below 1024 need"
            " administrator rights, and Windows reserves ranges of ports for Hyper-V and WSL"
            " (`netsh interface ipv4 show excludedportrange protocol=tcp` lists them). Pass"
            " another --port (--port 0 picks a free one)."
        )
    return "Check --host and --port, or pass --port 0 to let the system pick a free port."


def run_until_interrupted(main: Awaitable[None]) -> int:
    """Run ``main`` with ``asyncio.run`` and turn a Ctrl-C into a quiet exit status 0.

    Returns the exit status for ``sys.exit``. A port that is already taken is the one start-up
    error learners meet often, so it gets a one-line explanation instead of a traceback.
    """
    try:
        asyncio.run(main)
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        print(f"Cannot start the server: {error.strerror or error}.", file=sys.stderr)
        print(startup_advice(error), file=sys.stderr)
        return 1
    return 0
