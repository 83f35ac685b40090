"""The quick exercise, answered: a server that replies with the message in capital letters.

Run it with ``python -m chatlib uppercase-server``; ``python -m chatlib echo-client`` talks
to it as well as to the echo server.
"""

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed


async def shout(websocket: ServerConnection) -> None:
    """Reply to every text message with the same text in upper case.

    Binary messages have no letters to raise, so they get a short explanation instead.
    """
    try:
        async for message in websocket:
            if isinstance(message, str):
                await websocket.send(message.upper())
            else:
                await websocket.send("Please send text: binary messages have no upper case.")
    except ConnectionClosed:
        pass  # The client left, perhaps while a reply was on its way: nobody is left to answer.
