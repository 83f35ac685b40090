"""Chat server, websockets 8 style: module-level serve() and run_forever()."""
import asyncio
import websockets

clients = set()
names = {}


async def handler(websocket, path):
    names[websocket] = await websocket.recv()
    clients.add(websocket)
    try:
        async for msg in websocket:
            for c in clients:
                if c is not websocket:
                    await c.send("[%s]: %s" % (names[websocket], msg))
    finally:
        clients.remove(websocket)

server = websockets.serve(handler, "localhost", 8765)
print("Server running at ws://localhost:8765")
asyncio.get_event_loop().run_until_complete(server)
asyncio.get_event_loop().run_forever()
