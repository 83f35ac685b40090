"""The secure chat server's requirements (an optional exercise): a room for token holders only.

The checker starts the learner's server with a fresh random token in the environment
variable ``CHAT_TOKEN`` (:data:`TOKEN_VARIABLE`), as a learner starts it by hand; clients
send it in the URL's query string, ``ws://host:port/?token=TOKEN``. Strangers must be turned
away by ``process_request`` with "401 Unauthorized", before any WebSocket exists; token
holders chat exactly as in the chat server, whose own checks are played again here with the
token in the URL; and the token must never show in what the server prints.
"""

import http
import secrets
from dataclasses import replace
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chatlib.course.checks import chat_server
from chatlib.course.checks.core import CheckFailed, NotCheckedHere, Requirements
from chatlib.course.checks.servers import ServerUnderTest
from chatlib.course.wording import quoted_lines

# Where the learner's server reads the room's token, in the checker as by hand.
TOKEN_VARIABLE = "CHAT_TOKEN"
# A new token for every run of the checker: a server that knows it in advance cannot exist.
ROOM_TOKEN = secrets.token_urlsafe(16)

REQUIREMENTS = Requirements(environment={TOKEN_VARIABLE: ROOM_TOKEN})


def with_token(url: str, token: str) -> str:
    """``url`` with ``token`` in its query string: ``ws://127.0.0.1:8765/?token=...``."""
    return f"{url}/?{urlencode({'token': token})}"


async def refusal(url: str) -> int | None:
    """The HTTP status of the server's refusal to open a WebSocket at ``url``, or ``None``
    when it opened one (whatever it did with it afterwards)."""
    try:
        async with connect(url, open_timeout=5):
            return None
    except InvalidStatus as refused:
        return refused.response.status_code


async def expect_unauthorized(server: ServerUnderTest, token: str | None, who: str) -> None:
    """A client at ``server`` with ``token`` (``None``: no query string) gets 401."""
    url = server.url if token is None else with_token(server.url, token)
    status = await refusal(url)
    if status == http.HTTPStatus.UNAUTHORIZED:
        return
    if status is None:
        raise CheckFailed(
            f"{who}; the server should answer 401 Unauthorized in process_request, before any"
            " WebSocket exists; it opened a WebSocket for the client."
        )
    raise CheckFailed(
        f"{who}; the server should answer 401 Unauthorized; it answered {status_words(status)}."
    )


def status_words(status: int) -> str:
    """An HTTP status with its name, "403 Forbidden"; the number alone for an unknown one."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


PROCESS_REQUEST_HINT = (
    "Pass serve() a process_request function: it sees the opening HTTP request before any"
    " WebSocket exists, and returning connection.respond(http.HTTPStatus.UNAUTHORIZED, ...)"
    " refuses the client (None goes on with the handshake). 401 asks a client to prove who"
    " it is; 403 Forbidden is for one known but not allowed."
)


@REQUIREMENTS.requirement(
    "A client without the token is refused with HTTP 401 Unauthorized",
    hint=PROCESS_REQUEST_HINT,
)
async def no_token_is_refused(server: ServerUnderTest) -> None:
    await expect_unauthorized(server, None, "A client connected to / with no token")
    await expect_unauthorized(server, "", "A client connected to /?token= (an empty token)")


@REQUIREMENTS.requirement(
    "A client with a wrong token is refused with HTTP 401 Unauthorized",
    hint="Compare the whole token the client sent with the room's token:"
    " hmac.compare_digest(sent.encode(), token.encode()) is True only when they are equal,"
    " and takes as long for a near miss as for a wild guess.",
    needs=no_token_is_refused,
)
async def wrong_token_is_refused(server: ServerUnderTest) -> None:
    wrong_tokens = {
        "made-up-token": "a made-up token",
        ROOM_TOKEN[:-1]: "the room's token without its last character",
        ROOM_TOKEN + "x": "the room's token with one more character",
    }
    for token, description in wrong_tokens.items():
        await expect_unauthorized(server, token, f"A client connected with {description}")


@REQUIREMENTS.requirement(
    "With the token, clients chat as in the chat server",
    hint="For the right token, process_request returns None: the handshake goes on and"
    " chat_handler serves the client. Your handler from exercises/chat_server.py works here"
    " unchanged.",
)
async def token_holders_chat(server: ServerUnderTest) -> None:
    url = with_token(server.url, ROOM_TOKEN)
    status = await refusal(url)
    if status is not None:
        raise CheckFailed(
            f"A client connected with the room's token (from {TOKEN_VARIABLE}); the server"
            f" should let it in; it answered {status_words(status)}."
        )
    # The chat server's own checks, played by clients who hold the token.
    holders = replace(server, url=url)
    await chat_server.every_other_client_receives_the_message(holders)
    await chat_server.sender_does_not_receive_own_message(holders)
    await chat_server.messages_are_relayed_with_the_senders_name(holders)
    await chat_server.departure_notice_has_the_assignments_shape(holders)


@REQUIREMENTS.requirement(
    "The token never appears in what the server prints",
    hint="Print the server's URL without a query string, and never the token nor"
    " request.path (which holds it): a server's output ends up in logs, screenshots and"
    " shared terminals, where anyone could read the key to the room. websockets' debug log"
    " prints each request line, the token with it: keep logging at INFO or above.",
)
async def token_is_never_printed(server: ServerUnderTest) -> None:
    if server.program is None:
        raise NotCheckedHere("only a server running as a program of its own prints anything")
    await refusal(server.url)
    await refusal(with_token(server.url, "made-up-token"))
    async with connect(with_token(server.url, ROOM_TOKEN), open_timeout=5) as client:
        await client.send("Alice")
        await client.send("Hello")
    # Stopped, the server has said all it will: its last words are read too.
    await server.program.stop()
    printed = [*server.program.stdout.lines, *server.program.stderr.lines]
    leaks = [line.replace(ROOM_TOKEN, "<the token>") for line in printed if ROOM_TOKEN in line]
    if leaks:
        raise CheckFailed(
            "Clients joined with and without the room's token, and the server stopped; the"
            f" token should never be printed, but the server printed {quoted_lines(leaks)}."
        )
