"""A terminal chat client: your first message is your name, then every line you type.

Start the chat server first (python -m chatlib chat-server), then in two terminals:
    python solutions/chat_client.py --name Alice
Messages from the room appear as they arrive; /quit, Ctrl-C or the end of input leaves
(Ctrl-D; on Windows, Ctrl-Z then Enter).
"""

import argparse
import asyncio
import sys
import threading

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError


def start_keyboard_thread() -> asyncio.Queue:
    """Read typed lines in a thread and return the queue they arrive in (None at the end).

    Reading a line blocks until Enter: done in a coroutine, it would freeze the event loop and
    no message could arrive meanwhile. A thread may block as long as it likes. It is a daemon
    thread, so it does not keep the program alive at exit; asyncio.to_thread(input) would,
    because asyncio.run() waits for its thread, that is, for one more Enter.
    """
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()

    def read_lines() -> None:
        try:
            while line := sys.stdin.readline():  # "": end of input (Ctrl-D, or Ctrl-Z Enter).
                # An asyncio.Queue is not thread-safe: ask the loop to put the line in.
                loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\r\n"))
            loop.call_soon_threadsafe(lines.put_nowait, None)
        except RuntimeError:
            pass  # The event loop has closed: the program is exiting.

    threading.Thread(target=read_lines, daemon=True).start()
    return lines


async def receive_messages(websocket) -> None:
    """Print every message from the room as soon as it arrives, until the connection ends."""
    try:
        async for message in websocket:
            print(message, flush=True)
    except ConnectionClosedError:
        print("Lost the connection to the server.", flush=True)
    else:
        print(f"The server closed the connection (code {websocket.close_code}).", flush=True)


async def send_lines(websocket, lines: asyncio.Queue) -> None:
    """Send each typed line to the server until /quit or the end of input."""
    try:
        while (line := await lines.get()) is not None and line.strip() != "/quit":
            await websocket.send(line)
    except ConnectionClosed:
        pass  # The server went away; receive_messages says so.


async def chat(url: str, name: str | None) -> int:
    """Join the chat at url; return the exit status (1 when no server answers)."""
    try:
        websocket = await connect(url)
    except OSError:
        print(f"No chat server answers at {url}. Start one first (python -m chatlib chat-server).")
        return 1
    lines = start_keyboard_thread()
    if name is not None:
        await websocket.send(name)  # The first message is the name.
    elif sys.stdin.isatty():
        print("Your name: ", end="", flush=True)  # The first line typed is the name.
    # Receive and send at the same time; stop as soon as either one is finished.
    receiving = asyncio.create_task(receive_messages(websocket))
    sending = asyncio.create_task(send_lines(websocket, lines))
    try:
        await asyncio.wait([receiving, sending], return_when=asyncio.FIRST_COMPLETED)
    finally:  # Also when Ctrl-C interrupts the wait.
        receiving.cancel()
        sending.cancel()
        # Close with code 1000 ("normal closure"): `async with websocket` would close with
        # 1011 ("internal error") after Ctrl-C, as it does after any exception.
        await websocket.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Join the chat room from this terminal.")
    parser.add_argument("--url", default="ws://localhost:8765", help="the chat server")
    parser.add_argument("--name", help="your name in the chat (asked for when omitted)")
    args = parser.parse_args()
    try:
        return asyncio.run(chat(args.url, args.name))
    except KeyboardInterrupt:  # Ctrl-C is a normal way to leave.
        print()  # The shell prompt then starts on a line of its own, after "^C".
        return 0


if __name__ == "__main__":
    sys.exit(main())
