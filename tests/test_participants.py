"""A participant is a chat user played by code, usable outside the checker.

Notebook 06 and the notebook helpers talk with it; the checks play their scenes with it and
report what it could not do as a requirement not met. Here it meets a real chatlib server on
127.0.0.1, and a port where nothing listens.
"""

import socket

import pytest
from websockets.asyncio.server import serve

from chatlib.chat_server import ChatServer
from chatlib.course.checks.core import CheckFailed
from chatlib.course.participants import ConversationFailed, Participant


def closed_port() -> int:
    """A port of 127.0.0.1 where nothing listens (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_participant_that_cannot_connect_says_so_in_its_own_terms() -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    with pytest.raises(ConversationFailed, match=f"^Nora could not connect to {url} ") as raised:
        await Participant.join(url, "Nora")
    assert not isinstance(raised.value, CheckFailed)  # A conversation, not a checker's verdict.


async def test_a_line_that_never_comes_is_described_with_what_did_come() -> None:
    async with serve(ChatServer().handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        nora = await Participant.join(f"ws://127.0.0.1:{port}", "Nora")
        try:
            await nora.wait_until(lambda line: line.startswith("[Server]: Welcome"))
            with pytest.raises(ConversationFailed) as raised:
                await nora.expect("[Tess]: hi", after="Nobody spoke", within=0.2)
        finally:
            await nora.close()
    assert str(raised.value).startswith(
        'Nobody spoke; Nora should receive "[Tess]: hi" within 0.2 s; Nora received'
        ' "[Server]: Welcome, Nora!'
    )
