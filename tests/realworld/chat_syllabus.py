"""Chat server grown from the syllabus' "Managing Connections and State" example."""
import asyncio
import websockets

connected = {}  # websocket -> name


async def handler(websocket):
    name = await websocket.recv()
    connected[websocket] = name
    try:
        async for message in websocket:
            for client in list(connected):
                if client != websocket:
                    await client.send(f"[{name}]: {message}")
    except websockets.ConnectionClosed:
        pass
    finally:
        del connected[websocket]
        for client in list(connected):
            try:
                await client.send(f"[Server]: {name} has left the chat.")
            except websockets.ConnectionClosed:
                pass


async def main():
    async with websockets.serve(handler, "localhost", 8765):
        print("Chat server started on localhost:8765")
        await asyncio.Future()


asyncio.run(main())
