"""The chat page: the chat server also answers a browser's plain ``GET /`` with a web client.

A browser first asks for the page with an ordinary HTTP request (no ``Upgrade`` header); the
page's script then opens a WebSocket to the same host and port. websockets lets a server
answer such requests itself: ``serve(..., process_request=...)`` calls the function for every
request, and a :class:`~websockets.http11.Response` it returns is sent instead of the
handshake. ``None`` lets the WebSocket handshake go on.

The page, its script, its style sheet and its icon are files beside this module, sent as they are:
no build step, and nothing fetched from elsewhere, so the page works offline.

A WebSocket is not protected by the browser's same-origin policy: any web page a learner
visits could open ``ws://localhost:8765`` and chat in their name. Browsers say which page
opened a connection in the ``Origin`` header, so :class:`OriginPolicy` refuses upgrades from
other sites (403), and lets through clients that send no ``Origin`` (terminal clients,
scripts, notebooks), which are not browsers acting for someone else.
"""

import ipaddress
import logging
from dataclasses import dataclass
from http import HTTPStatus
from importlib.resources import files
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

log = logging.getLogger(__name__)

# Path -> (file beside this module, Content-Type).
FILES = {
    "/": ("chat.html", "text/html; charset=utf-8"),
    "/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/chat.css": ("chat.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}

# The page may run only its own script and style sheet, and connect only to its own server.
# No inline script runs, so even a message that slipped into the page as HTML could not act.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
    " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def page_response(path: str) -> Response:
    """The answer to a plain ``GET path``: one of the page's files, or 404."""
    path = path.split("?", 1)[0]
    if path not in FILES:
        return text_response(HTTPStatus.NOT_FOUND, "Not found. The chat page is at /.\n")
    filename, content_type = FILES[path]
    body = files(__package__).joinpath(filename).read_bytes()
    # A Headers of its own: Headers.__setitem__ appends, so patching the Content-Type of
    # connection.respond()'s answer would send two of them.
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-cache"),
        ]
    )
    return Response(HTTPStatus.OK, "OK", headers, body)


def text_response(status: HTTPStatus, text: str) -> Response:
    """A short plain-text answer."""
    body = text.encode()
    headers = Headers(
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("X-Content-Type-Options", "nosniff"),
        ]
    )
    return Response(status, status.phrase, headers, body)


@dataclass(frozen=True)
class OriginPolicy:
    """Which web pages may open a WebSocket to the chat.

    - No ``Origin`` header: allowed. Browsers always send one; its absence means a terminal
      client, a notebook or a script.
    - The server's own pages: allowed when the ``Origin`` is the very host and port the
      request was sent to (its ``Host`` header), and that host is ``localhost``, an IP
      address, or the server's ``--host``. Checking the name too defeats "DNS rebinding", a
      foreign site whose name is made to point at 127.0.0.1.
    - ``allowed``: more origins, exactly as a browser writes them
      (``http://localhost:3000``), given with ``--allow-origin``.
    """

    server_host: str = "localhost"
    allowed: frozenset[str] = frozenset()

    def allows(self, origin: str | None, host_header: str | None) -> bool:
        """True when a page from ``origin`` may connect through ``host_header``."""
        if origin is None or origin in self.allowed:
            return True
        if host_header is None:
            return False
        if origin not in (f"http://{host_header}", f"https://{host_header}"):
            return False
        return self.trusts_host(urlsplit(origin).hostname or "")

    def trusts_host(self, hostname: str) -> bool:
        """True for names that only this machine or its own address can stand for."""
        if hostname == "localhost" or hostname.endswith(".localhost"):
            return True
        if hostname.lower() == self.server_host.lower():
            return True
        try:
            ipaddress.ip_address(hostname)
        except ValueError:
            return False
        return True


def chat_page(policy: OriginPolicy):
    """Make the ``process_request`` that serves the page and checks ``Origin`` on upgrades."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if "Upgrade" not in request.headers:
            return page_response(request.path)
        origins, hosts = request.headers.get_all("Origin"), request.headers.get_all("Host")
        origin = origins[0] if origins else None
        host = hosts[0] if len(hosts) == 1 else None
        if len(origins) < 2 and policy.allows(origin, host):
            return None  # Go on with the WebSocket handshake.
        log.info(
            "Refused a WebSocket from a page of %s (another site; --allow-origin accepts it).",
            origin,
        )
        return text_response(HTTPStatus.FORBIDDEN, f"Pages from {origin} may not join this chat.\n")

    return process_request
