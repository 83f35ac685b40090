"""Chat client with websockets' threading API: a thread prints, the main thread types."""
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def show(websocket):
    try:
        for message in websocket:
            print(message, flush=True)
    except ConnectionClosed:
        pass


with connect("ws://localhost:8765") as websocket:
    websocket.send(input("Name: "))
    threading.Thread(target=show, args=(websocket,), daemon=True).start()
    try:
        while (line := input()) != "/quit":
            websocket.send(line)
    except (EOFError, KeyboardInterrupt):
        pass
