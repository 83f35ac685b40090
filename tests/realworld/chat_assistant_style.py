"""Chat server as a chat assistant writes it: a class, logging, argparse."""
import argparse
import asyncio
import logging

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("chat")


class ChatServer:
    def __init__(self):
        self.clients = {}

    async def handler(self, websocket):
        try:
            username = await websocket.recv()
        except ConnectionClosed:
            return
        self.clients[websocket] = username
        log.info("%s joined", username)
        try:
            async for message in websocket:
                recipients = [ws for ws in self.clients if ws != websocket]
                broadcast(recipients, f"[{username}]: {message}")
        except ConnectionClosed:
            pass
        finally:
            self.clients.pop(websocket, None)
            broadcast(self.clients, f"[Server]: {username} has left the chat.")
            log.info("%s left", username)


async def main(host, port):
    chat = ChatServer()
    async with serve(chat.handler, host, port) as server:
        log.info("Chat server running on ws://%s:%d", host, port)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        log.info("Server stopped")
