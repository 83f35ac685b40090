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

The page works wherever it is served: at ``http://localhost:8765/`` and behind a proxy that
puts it under a path, such as a JupyterHub's ``/user/NAME/proxy/8765/``. Its asset URLs are
relative and its script builds the WebSocket URL from the page's own address, and the server
answers by the *last* segment of the path, so it does not matter whether the proxy strips its
prefix (jupyter-server-proxy's ``proxy/PORT/``) or keeps it (``proxy/absolute/PORT/``).
"""

import base64
import hashlib
import ipaddress
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from importlib.resources import files
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

log = logging.getLogger(__name__)

# Last segment of the path -> (file beside this module, Content-Type). Only the last segment
# counts, because a proxy may leave its own prefix in front ("/user/alice/proxy/absolute/8765/"):
# the page is any path that ends in "/", and its files are found next to it, as its relative
# URLs ask.
FILES = {
    "": ("chat.html", "text/html; charset=utf-8"),
    "chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "chat.css": ("chat.css", "text/css; charset=utf-8"),
    "favicon.svg": ("favicon.svg", "image/svg+xml"),
}

# Headers that a reverse proxy adds to the requests it passes on, and that a browser never
# sends itself: a page's script cannot add any header to a WebSocket handshake. JupyterHub's
# proxy (configurable-http-proxy) adds the X-Forwarded-* ones to WebSocket upgrades, and
# jupyter-server-proxy passes them on with the browser's Host and Origin.
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto")


def inline_script_hashes(html: str) -> str:
    """CSP sources that allow exactly the inline scripts of ``html``, named by their SHA-256.

    A browser runs an inline script only if the hash of its text is listed, so no other
    inline script can run, not even one that slipped into the page inside a message.
    """
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(script.encode()).digest()) for script in scripts)
    return " ".join(f"'sha256-{digest.decode()}'" for digest in digests)


# The page may run only its own script, style sheet and one inline line (the missing-slash
# fix in chat.html), and connect only to its own server: "'self'" also means ws: and wss:
# on the page's own host and port.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self' "
    + inline_script_hashes(files(__package__).joinpath("chat.html").read_text(encoding="utf-8"))
    + "; style-src 'self'; connect-src 'self';"
    " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def page_response(path: str) -> Response:
    """The answer to a plain ``GET path``: one of the page's files, or 404.

    Only the path's last segment counts: ``/``, ``/chat.js`` and, behind a proxy that keeps
    its prefix, ``/user/alice/proxy/absolute/8765/chat.js`` all find their file.
    """
    last_segment = path.split("?", 1)[0].rsplit("/", 1)[-1]
    if last_segment not in FILES:
        return text_response(
            HTTPStatus.NOT_FOUND,
            "Not found. The chat page is at / (behind a proxy: at its address ending in /).\n",
        )
    filename, content_type = FILES[last_segment]
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
    - ``allowed``: more origins, exactly as a browser writes them
      (``http://localhost:3000``), given with ``--allow-origin``.
    - The server's own pages: the ``Origin`` must be the very host and port the request was
      sent to (its ``Host`` header), *and* there must be a reason to believe that name
      stands for this server. A foreign site can make its own name point at 127.0.0.1 ("DNS
      rebinding"): its page then has an ``Origin`` equal to the ``Host``, so equality alone
      proves nothing. Accepted reasons:

      - the name is ``localhost``, an IP address, or the server's own ``--host``: no other
        site can own it;
      - the request came through a reverse proxy (it carries one of ``FORWARDING_HEADERS``,
        which no browser sends and no page's script can add), and the page came through that
        same proxy under that same name. This is how a JupyterHub reached as
        ``https://hub.invalid/user/alice/proxy/8765/`` works: the hub's proxy added the
        header, and jupyter-server-proxy forwards a WebSocket only for the logged-in user.
        ``trust_proxies=False`` turns this off, for a proxy that lets anyone through.
    """

    server_host: str = "localhost"
    allowed: frozenset[str] = frozenset()
    trust_proxies: bool = True

    def allows(self, origin: str | None, host_header: str | None, via_proxy: bool = False) -> bool:
        """True when a page from ``origin`` may connect through ``host_header``.

        ``via_proxy`` says the request carries a header that only a proxy adds.
        """
        if origin is None or origin in self.allowed:
            return True
        if host_header is None:
            return False
        if origin not in (f"http://{host_header}", f"https://{host_header}"):
            return False
        if via_proxy and self.trust_proxies:
            return True
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
        via_proxy = any(header in request.headers for header in FORWARDING_HEADERS)
        if len(origins) < 2 and policy.allows(origin, host, via_proxy):
            return None  # Go on with the WebSocket handshake.
        log.info(
            "Refused a WebSocket from a page of %s (another site; --allow-origin accepts it).",
            origin,
        )
        return text_response(HTTPStatus.FORBIDDEN, f"Pages from {origin} may not join this chat.\n")

    return process_request
