"""Exercise: a terminal chat client. Your first message is your name, then every line you type.

The skeleton below already connects, reads the keyboard in a thread and leaves cleanly on
Ctrl-C. Fill in the four TODOs, in order:

  1. send the name (given with --name) as the first message;
  2. print every message from the room as soon as it arrives;
  3. send each typed line to the server, and stop at /quit;
  4. receive and send at the same time.

Try it: start the chat server (python -m chatlib chat-server), then in two terminals
    python exercises/chat_client.py --name Alice
    python exercises/chat_client.py --name Bob
Check it (the checker starts its own server): python -m chatlib check chat_client

As it is, this client connects, sends nothing, prints nothing, and ends when the input ends
(Ctrl-D; on Windows, Ctrl-Z then Enter).
"""

import argparse
import asyncio
import sys
import threading

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


def start_keyboard_thread() -> asyncio.Queue:
    """Read typed lines in a thread and return the queue they arrive in (None at the end).

    Reading a line blocks until Enter: done in a coroutine, it would freeze the event loop and
    no message could arrive meanwhile. A thread may block as long as it likes. It is a daemon
    thread, so it does not keep the program alive at exit; asyncio.to_thread(input) would,
    because asyncio.run() waits for its thread, that is, for one more Enter.

    This helper is complete: use it as it is, with `line = await lines.get()`.
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
    # TODO 2: print each message the server sends, as soon as it arrives, with
    #   print(message, flush=True). `async for message in websocket:` gives you the messages
    #   one by one and ends when the server closes the connection. If the connection breaks
    #   instead, it raises ConnectionClosedError (import it next to ConnectionClosed): catch
    #   it and say the connection was lost.
    #   Then replace the next line, which only waits for the end of the connection.
    await websocket.wait_closed()
    print(f"The server closed the connection (code {websocket.close_code}).", flush=True)


async def send_lines(websocket, lines: asyncio.Queue) -> None:
    """Send each typed line to the server until /quit or the end of input."""
    try:
        while (line := await lines.get()) is not None:
            # TODO 3: stop (return) when the line is /quit; otherwise send it to the server
            #   with `await websocket.send(line)`.
            pass
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
        # TODO 1: send the name to the server: it must be the very first message.
        pass
    elif sys.stdin.isatty():
        print("Your name: ", end="", flush=True)  # The first line typed is the name.
    # TODO 4: receive and send at the same time. Make a task of each coroutine with
    #   asyncio.create_task(...), then replace the `await send_lines(...)` below with
    #   asyncio.wait([receiving, sending], return_when=asyncio.FIRST_COMPLETED), which
    #   returns when the first one finishes, and cancel both tasks in the `finally:`, so
    #   that Ctrl-C stops them too. For now the client only reads the keyboard, until the
    #   input ends.
    try:
        await send_lines(websocket, lines)
    finally:
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
