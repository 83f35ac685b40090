"""A tiny reverse proxy that serves a server under a path, as a JupyterHub does (for tests).

On a JupyterHub, a learner's browser reaches a server of theirs at ``/user/NAME/proxy/PORT/``,
through two proxies (read from their sources):

- the hub's ``configurable-http-proxy`` adds ``X-Forwarded-For``, ``-Port`` and ``-Proto`` to
  every request it passes on, WebSocket upgrades included;
- ``jupyter-server-proxy`` in the learner's Jupyter server strips ``/user/NAME/proxy/PORT``
  from the path (at ``/user/NAME/proxy/absolute/PORT/`` it keeps it) and passes every other
  header on as the browser sent it, ``Host`` and ``Origin`` included.

:class:`HubProxy` does both, in one hop, over plain TCP or TLS. It handles one request per
connection and then only copies bytes both ways, which is all a WebSocket needs after the
upgrade request, and all a plain request needs since the chat server closes the connection
after each answer.
"""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

HEAD_TIMEOUT = 10  # seconds for a client to send its request line and headers
CHUNK = 65536


@dataclass
class HubProxy:
    """Forwards ``prefix/...`` to ``127.0.0.1:upstream_port``, as a JupyterHub would."""

    prefix: str  # For example "/user/alice/proxy/8765": no slash at the end.
    upstream_port: int
    strip_prefix: bool = True  # False: the path is passed on whole, as proxy/absolute/ does.
    add_forwarded_headers: bool = True  # False: a proxy that adds nothing (no hub in front).
    tls: ssl.SSLContext | None = None
    paths: list[str] = field(default_factory=list)  # Paths requested upstream, in order.
    upgrades: int = 0  # How many WebSocket upgrades went through.
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task] = field(default_factory=set)

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every connection still open."""
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await self._forward(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # A client or the server went away: so does this connection.
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        method, target, version = request_line.split(" ")
        if target != self.prefix and not target.startswith(self.prefix + "/"):
            writer.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return
        path = (target.removeprefix(self.prefix) or "/") if self.strip_prefix else target
        self.paths.append(path)
        if any(line.lower() == "upgrade: websocket" for line in header_lines):
            self.upgrades += 1
        if self.add_forwarded_headers:
            peer = writer.get_extra_info("peername")[0]
            scheme = "wss" if self.tls else "ws"  # configurable-http-proxy's words on upgrades.
            header_lines += [f"X-Forwarded-For: {peer}", f"X-Forwarded-Proto: {scheme}"]
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        try:
            forwarded_head = "\r\n".join([f"{method} {path} {version}", *header_lines, "", ""])
            upstream_writer.write(forwarded_head.encode("latin-1"))
            await copy_both_ways(reader, writer, upstream_reader, upstream_writer)
        finally:
            upstream_writer.transport.abort()


async def copy_both_ways(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes in both directions until one side closes its end."""
    copies = [
        asyncio.create_task(copy(client_reader, upstream_writer)),
        asyncio.create_task(copy(upstream_reader, client_writer)),
    ]
    try:
        await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in copies:
            task.cancel()
        await asyncio.gather(*copies, return_exceptions=True)


async def copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes from ``reader`` to ``writer`` until ``reader`` ends."""
    with contextlib.suppress(OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()


@contextlib.asynccontextmanager
async def hub_proxy(prefix: str, upstream_port: int, **options) -> AsyncIterator[HubProxy]:
    """A running :class:`HubProxy`, stopped at the end."""
    proxy = HubProxy(prefix, upstream_port, **options)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
