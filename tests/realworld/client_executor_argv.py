"""Chat client: URL from sys.argv by hand, keyboard read in the default executor."""
import asyncio
import os
import sys

import websockets

URL = sys.argv[1] if len(sys.argv) > 1 else "ws://localhost:8765"


async def main():
    loop = asyncio.get_running_loop()
    try:
        ws = await websockets.connect(URL)
    except OSError:
        print(f"Cannot reach {URL}")
        os._exit(1)
    name = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
    await ws.send(name)

    async def printer():
        try:
            async for msg in ws:
                print(msg, flush=True)
        finally:
            print("disconnected", flush=True)
            os._exit(0)

    asyncio.create_task(printer())
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "/quit":
            break
        await ws.send(line.rstrip("\n"))
    await ws.close()
    os._exit(0)

try:
    asyncio.run(main())
except KeyboardInterrupt:
    os._exit(0)
