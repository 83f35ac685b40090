"""Uppercase server with websockets' threading API."""
from websockets.sync.server import serve


def handler(websocket):
    for message in websocket:
        websocket.send(message.upper())


with serve(handler, "localhost", 8765) as server:
    print("serving on 8765")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
