"""Uppercase server that reads its port from sys.argv by hand."""
import asyncio
import sys

import websockets

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8765


async def shout(ws):
    async for msg in ws:
        await ws.send(msg.upper())


async def main():
    print(f"Uppercase server on port {PORT}")
    async with websockets.serve(shout, "0.0.0.0", PORT):
        await asyncio.Event().wait()


try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("bye")
