"""One-line explanations for the ways a client can fail to reach its server.

A learner who starts the client before the server should read what to do, not a traceback.
So should one whose classroom network stands in the way (macOS' Local Network privacy, a
host that does not exist). Each explanation is chosen by the error's kind (its class or its
``errno``), the same on every system. (A server that cannot start is explained by
:func:`chatlib.serving.startup_advice`.)
"""

import errno
import socket
import ssl
from urllib.parse import urlsplit

from websockets.exceptions import InvalidHandshake, InvalidMessage, InvalidStatus, InvalidURI

from chatlib import DEFAULT_PORT
from chatlib.commands import chatlib_command


def port_of(url: str) -> int | None:
    """The port a ``ws://host:port`` URL names; ``None`` when it names none, or no valid one."""
    try:
        return urlsplit(url).port
    except ValueError:  # "ws://host:99999" or "ws://host:abc": not a port at all.
        return None


def start_command(server_program: str, url: str) -> str:
    """The command that starts ``server_program`` (``"chat-server"``) where ``url`` points:
    with ``--port`` when the URL's port is not the default one, so that the advice starts the
    server the client was looking for, not one on port 8765. (A URL with no valid port is
    explained as invalid elsewhere.)"""
    port = port_of(url)
    options = ["--port", str(port)] if port not in (None, DEFAULT_PORT) else []
    return chatlib_command(server_program, *options)


def explain_connection_failure(url: str, error: BaseException, server_program: str) -> str:
    """Say in one line why connecting to ``url`` failed and what to do about it.

    ``server_program`` is the chatlib program that serves this client, e.g. ``"chat-server"``.
    A password in the URL (``wss://user:password@host``) is not repeated.
    """
    url = without_password(url)
    if isinstance(error, InvalidURI):
        return f"{url} is not a WebSocket URL; it should look like ws://localhost:8765."
    tls_problem = explain_tls_failure(url, error)
    if tls_problem is not None:
        return tls_problem
    if isinstance(error, InvalidStatus) and error.response.status_code in REFUSALS:
        why = REFUSALS[error.response.status_code]
        return f"{url} refused the connection ({error.response.status_code}): {why}."
    if isinstance(error, InvalidHandshake):
        return f"{url} answered, but not as a WebSocket server ({error})."
    if isinstance(error, TimeoutError):
        # The time covers the TCP connection too: a firewall that drops it looks the same.
        return (
            f"Nothing at {url} finished opening a WebSocket in time. A firewall on the"
            " server's machine may be dropping the connection (Windows asks to allow Python"
            " the first time a server listens for other machines: allow it on private"
            " networks), or the server is stuck before it answers."
        )
    if isinstance(error, socket.gaierror):
        return f"Cannot find the host of {url} ({error.strerror}): check the address."
    if isinstance(error, OSError) and error.errno in UNREACHABLE:
        return (
            f"{url} cannot be reached from this machine ({error.strerror}). On macOS, Local"
            " Network privacy does this: allow your terminal (or Python) in System Settings >"
            " Privacy & Security > Local Network. Elsewhere, check that both machines are on"
            " the same network."
        )
    if isinstance(error, OSError):
        # Refused (nothing listens), or refused at each of localhost's addresses (IPv6, IPv4).
        command = start_command(server_program, url)
        return f"No server answers at {url}. Start one first with `{command}`, then retry."
    return f"Could not connect to {url}: {error}."


def without_password(url: str) -> str:
    """``url`` with the password of its user information (``user:password@``) hidden."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.partition("@")
    if not at or "/" in credentials or ":" not in credentials:
        return url
    return f"{scheme}{separator}{credentials.split(':', 1)[0]}:***@{host}"


def explain_tls_failure(url: str, error: BaseException) -> str | None:
    """Say in one line what went wrong with TLS, or ``None`` when ``error`` is not about TLS.

    - ``CERTIFICATE_VERIFY_FAILED``: the certificate comes from an authority this client does
      not trust (a self-signed one, a course's own), or was made for another host name.
    - ``wss://`` to a server without TLS: the server reads the TLS greeting as a broken HTTP
      request and hangs up (a reset), or answers in plain HTTP (``WRONG_VERSION_NUMBER``).
    - ``ws://`` to a TLS server: the server reads the HTTP request as a broken TLS greeting
      and hangs up before any HTTP answer.
    """
    secure = url.startswith("wss://")
    if isinstance(error, ssl.SSLCertVerificationError):
        if error.verify_code in NAME_MISMATCHES:
            mismatch = error.verify_message.rstrip(".")
            return (
                f"{url} shows a certificate made for another name ({mismatch})."
                " Connect with a name the certificate lists, such as the one the server prints."
            )
        return (
            f"{url} shows a certificate this machine does not trust (CERTIFICATE_VERIFY_FAILED:"
            f" {error.verify_message}). If it comes from your course's own authority, trust"
            " that one (chat-client --cafile FILE); with Python from python.org on macOS, run"
            " its Install Certificates command once. Never turn verification off."
        )
    if secure and isinstance(error, ssl.SSLError | ConnectionResetError):
        detail = getattr(error, "reason", None) or "the connection was reset"
        return f"{url} does not speak TLS ({detail}): try ws:// instead of wss://."
    if not secure and isinstance(error, InvalidMessage) and isinstance(error.__cause__, EOFError):
        return (
            f"{url} hung up without an HTTP answer: if the server speaks TLS (it prints a"
            " wss:// URL), use wss:// instead of ws://."
        )
    return None


# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH: the certificate
# is valid, but for another host name or address than the URL's.
NAME_MISMATCHES = {62, 64}

# HTTP answers that refuse a WebSocket on purpose, and what they mean for the person connecting.
REFUSALS = {
    401: "it wants credentials (a token or a password) that were missing or wrong",
    403: "it does not let this client in (a page of another site?)",
}

# No route to the other machine: its network is not ours, or macOS' Local Network privacy
# keeps this program off it ("No route to host", errno 65 there).
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH}


# The exceptions ``websockets.asyncio.client.connect`` raises when it cannot connect.
CONNECTION_FAILURES = (OSError, InvalidURI, InvalidHandshake, TimeoutError)
