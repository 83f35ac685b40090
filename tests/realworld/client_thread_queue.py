"""Chat client with a keyboard thread and an asyncio.Queue, --url by argparse."""
import argparse
import asyncio
import sys
import threading

from websockets.asyncio.client import connect


def keyboard(loop, queue):
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def chat(url):
    async with connect(url) as websocket:
        queue = asyncio.Queue()
        threading.Thread(target=keyboard, args=(asyncio.get_running_loop(), queue), daemon=True).start()

        async def show():
            async for message in websocket:
                print(message, flush=True)
            print("The server has gone.", flush=True)

        async def typed():
            while (line := await queue.get()) is not None and line != "/quit":
                await websocket.send(line)

        done, pending = await asyncio.wait(
            [asyncio.create_task(show()), asyncio.create_task(typed())],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in pending:
            task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="ws://localhost:8765")
    try:
        asyncio.run(chat(parser.parse_args().url))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"Could not connect to {parser.parse_args().url}: {error}")
        sys.exit(1)
