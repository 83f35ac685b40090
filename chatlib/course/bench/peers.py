"""A chat written with another framework, as its own documentation writes one: the peer.

``aiohttp``: the pattern of aiohttp's websocket example (``examples/web_ws.py`` in its
repository, the chat its documentation points to). The open sockets are kept in a list on the
application; each text message is relayed with ``await ws.send_str(...)`` to every socket but
the sender's, one after the other. Two changes only, for the benchmark's sake: the first
message is the client's name, as in every variant, and a send that fails (a client gone
meanwhile) does not end the sender's loop. aiohttp is an optional dependency
(``pip install -e '.[bench]'``); without it the benchmark skips this variant.

Like the syllabus' sequential loop, this awaits each send: aiohttp's ``send_str`` returns at
once while the socket keeps up, and waits for a reader that stopped once its buffer is full.
"""

import asyncio
import contextlib
import socket

from aiohttp import WSMsgType, web

from chatlib.serving import LOOPBACK

SOCKETS = web.AppKey("sockets", list[web.WebSocketResponse])
SEND_BUFFER = web.AppKey("send_buffer", int)
COMPRESS = web.AppKey("compress", bool)


async def chat_handler(request: web.Request) -> web.WebSocketResponse:
    """Relay each text message to every other member, awaiting one send after the other."""
    websocket = web.WebSocketResponse(compress=request.app[COMPRESS])
    await websocket.prepare(request)
    sock = request.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, request.app[SEND_BUFFER])
    await websocket.receive()  # The name, as in the chat; unused.
    members = request.app[SOCKETS]
    members.append(websocket)
    try:
        async for message in websocket:
            if message.type is WSMsgType.TEXT:
                for other in list(members):
                    if other is not websocket:
                        with contextlib.suppress(Exception):
                            await other.send_str(message.data)
    finally:
        members.remove(websocket)
    return websocket


async def serve_aiohttp(port: int, send_buffer: int, compression: bool) -> None:
    """Serve the aiohttp chat on 127.0.0.1:``port``; print the URL line, run until killed."""
    app = web.Application()
    app[SOCKETS] = []
    app[SEND_BUFFER] = send_buffer
    app[COMPRESS] = compression
    app.router.add_get("/", chat_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"Bench aiohttp listening on ws://{LOOPBACK}:{bound} (Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()  # Until SIGTERM or SIGKILL: the benchmark stops it.
    finally:
        await runner.cleanup()
