"""The notebook's chat widget talks to the chat server like any other client."""

import asyncio

import pytest
from conftest import receive
from websockets.asyncio.client import connect

from chatlib import chat_server
from chatlib.chat_server import ChatLimits, ChatServer, serve_options
from chatlib.course.widget import ChatWidget


@pytest.fixture
async def chat_url(serve_locally) -> str:
    local = await serve_locally(ChatServer().handler, **serve_options(ChatLimits()))
    return local.url


async def test_widget_explains_a_refused_name_then_joins(chat_url):
    chat = ChatWidget(chat_url)

    refused = await chat.join("Server")
    welcome = await chat.join("Nora")

    assert refused == '[Server]: "Server" is reserved for the server. Please choose another name.'
    assert welcome == "[Server]: Welcome, Nora! You are the first one here."
    assert chat.state.value == "connected as Nora"
    assert not chat.input.disabled
    await chat.leave()


async def test_widget_joins_whatever_the_welcome_says(chat_url, monkeypatch):
    """The widget knows a welcome by the server's own greeting: reword it, joining still works."""
    monkeypatch.setattr(chat_server, "greeting", lambda name: f"Come in, {name}.")
    chat = ChatWidget(chat_url)

    welcome = await chat.join("Nora")

    assert welcome == "[Server]: Come in, Nora. You are the first one here."
    assert chat.state.value == "connected as Nora"
    await chat.leave()


async def test_widget_and_terminal_client_exchange_messages_as_text(chat_url):
    chat = ChatWidget(chat_url)
    await chat.join("Nora")
    async with connect(chat_url) as tess:
        await tess.send("Tess")
        await receive(tess)
        await chat.wait_for("[Server]: Tess has joined the chat.")

        await tess.send("<b>hi</b>")
        assert await chat.wait_for("[Tess]:") == "[Tess]: <b>hi</b>"
        await chat.send("hello Tess")
        assert await receive(tess) == "[Nora]: hello Tess"
    assert await chat.wait_for("Tess has left") == "[Server]: Tess has left the chat."
    assert chat.lines[-2] == "[Nora]: hello Tess"  # Its own line, shown in its log.
    await chat.leave()
    assert chat.name is None and chat.input.disabled


async def test_typing_in_the_boxes_joins_and_sends(chat_url):
    chat = ChatWidget(chat_url)
    async with connect(chat_url) as tess:
        await tess.send("Tess")
        await receive(tess)

        chat.name_box.value = "Nora"  # What Enter in the name box does.
        assert await receive(tess) == "[Server]: Nora has joined the chat."
        await chat.wait_for("Welcome, Nora!")
        chat.input.value = "typed in the notebook"  # Enter in the input line.
        assert await receive(tess) == "[Nora]: typed in the notebook"
        assert chat.input.value == ""
    await chat.leave()


async def test_widget_says_when_no_server_answers():
    chat = ChatWidget("ws://127.0.0.1:9")
    with pytest.raises(OSError):
        await asyncio.wait_for(chat.join("Nora"), 5)
    assert "is the server running?" in chat.state.value
