"""One-mistake copies of the solutions, and the requirement that must catch each one.

Each mutant is a small patch: pieces of a solution's text and what replaces them, applied to
the solution file when the test runs, so the mutants follow the solutions as they change
(a patch whose text is no longer in the solution fails loudly). ``caught_by`` is the key of
the requirement that must be the *first* one the checker finds unmet: the one that names the
mistake, whose hint is about it. ``says`` is text the report must contain (the error and its
line, for a crash).

The mistakes are the issue's (a blocked event loop, sequential sends, clients never
forgotten, a hidden crash, a wrong prefix...) and the syllabus' common mistakes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """A solution with one mistake, and what the checker must say about it."""

    name: str
    exercise: str  # Also the solution's file name: solutions/EXERCISE.py.
    changes: tuple[tuple[str, str], ...]  # (text in the solution, what replaces it), in order.
    caught_by: str
    says: str = ""

    def apply(self, source: str) -> str:
        """The solution's ``source`` with this mutant's mistake in it."""
        for old, new in self.changes:
            if source.count(old) != 1:
                raise ValueError(f"{self.name}: {old!r} is not exactly once in the solution")
            source = source.replace(old, new)
        return source


def mutant(name: str, exercise: str, *changes: tuple[str, str], caught_by: str, says: str = ""):
    return Mutant(name, exercise, changes, caught_by, says)


UPPER = "uppercase_server"
CHAT = "chat_server"
CLIENT = "chat_client"
SECURE = "secure_chat_server"

IMPORT_TIME = ("import signal\n", "import signal\nimport time\n")
NO_CTRL_C_HANDLING = (
    ("        await wait_for_ctrl_c()", "        await asyncio.Future()  # Serve forever."),
    (
        "    try:\n        asyncio.run(main(args.host, args.port))\n"
        "    except KeyboardInterrupt:\n        pass",
        "    asyncio.run(main(args.host, args.port))",
    ),
)
DEPARTURE = '        broadcast(USERNAMES, f"[Server]: {username} has left the chat.")'
RELAY = "            broadcast(everyone_but(websocket), "
TOKEN_TEST = (
    "        if token is None or not hmac.compare_digest(token.encode(), room_token.encode()):"
)
REFUSAL = "connection.respond(http.HTTPStatus.UNAUTHORIZED, "

MUTANTS = [
    # --- The uppercase server ---------------------------------------------------------------
    mutant(
        "upper_forgotten",
        UPPER,
        ("message.upper()", "message"),
        caught_by="replies_in_upper_case",
    ),
    mutant(
        "upper_without_parentheses",
        UPPER,
        ("message.upper()", "message.upper"),
        caught_by="replies_in_upper_case",
        says="TypeError",
    ),
    mutant(
        "send_not_awaited",
        UPPER,
        ("await websocket.send(message.upper())", "websocket.send(message.upper())"),
        caught_by="replies_in_upper_case",
        says="was never awaited",
    ),
    mutant(
        "swapcase_instead_of_upper",
        UPPER,
        ("message.upper()", "message.swapcase()"),
        caught_by="replies_in_upper_case",
    ),
    mutant(
        "answers_only_once",
        UPPER,
        (
            "async for message in websocket:\n            await websocket.send(message.upper())",
            "message = await websocket.recv()\n        await websocket.send(message.upper())",
        ),
        caught_by="answers_every_message",
    ),
    mutant(
        "break_after_first_reply",
        UPPER,
        (
            "            await websocket.send(message.upper())\n",
            "            await websocket.send(message.upper())\n            break\n",
        ),
        caught_by="answers_every_message",
    ),
    mutant(
        "ascii_letters_only",
        UPPER,
        ("message.upper()", '"".join(c.upper() if c.isascii() else c for c in message)'),
        caught_by="handles_every_alphabet",
    ),
    mutant(
        "bytes_upper",
        UPPER,
        ("message.upper()", "message.encode().upper().decode()"),
        caught_by="handles_every_alphabet",
    ),
    mutant(
        "replies_to_the_latest_client",
        UPPER,
        (
            "async def uppercase_server(websocket):\n",
            "LATEST = None\n\n\nasync def uppercase_server(websocket):\n",
        ),
        (
            "    try:\n        async for",
            "    global LATEST\n    LATEST = websocket\n    try:\n        async for",
        ),
        ("await websocket.send(message.upper())", "await LATEST.send(message.upper())"),
        caught_by="serves_several_clients_at_once",
    ),
    mutant(
        "time_sleep_in_handler",
        UPPER,
        IMPORT_TIME,
        (
            "            await websocket.send(message.upper())",
            "            time.sleep(1)  # The work takes a while.\n"
            "            await websocket.send(message.upper())",
        ),
        caught_by="stays_responsive_while_serving",
    ),
    mutant(
        "ctrl_c_traceback",
        UPPER,
        *NO_CTRL_C_HANDLING,
        caught_by="stops_cleanly_on_ctrl_c",
    ),
    # --- The chat server --------------------------------------------------------------------
    mutant(
        "no_prefix",
        CHAT,
        ('f"[{username}]: {message}"', "message"),
        caught_by="messages_are_relayed_with_the_senders_name",
    ),
    mutant(
        "prefix_without_brackets",
        CHAT,
        ('f"[{username}]: {message}"', 'f"{username}: {message}"'),
        caught_by="messages_are_relayed_with_the_senders_name",
    ),
    mutant(
        "prefix_without_colon",
        CHAT,
        ('f"[{username}]: {message}"', 'f"[{username}] {message}"'),
        caught_by="messages_are_relayed_with_the_senders_name",
    ),
    mutant(
        "name_not_awaited",
        CHAT,
        ("username = await websocket.recv()", "username = websocket.recv()"),
        # The name "Alice" is then the first message the loop relays.
        caught_by="first_message_is_the_username",
        says="was never awaited",
    ),
    mutant(
        "echo_to_everyone_in_another_format",
        CHAT,
        (
            RELAY + 'f"[{username}]: {message}"',
            '            broadcast(USERNAMES, f"{username}: {message}"',
        ),
        # A mistake of substance before a mistake of shape: the echo is told first.
        caught_by="sender_does_not_receive_own_message",
    ),
    mutant(
        "name_relayed_as_a_message",
        CHAT,
        (
            "    try:\n        username = await websocket.recv()  # The first message is the"
            " username.\n    except ConnectionClosed:\n        return  # Left before saying its"
            " name: nobody needs to know.\n\n    USERNAMES[websocket] = username\n    try:\n"
            "        async for message in websocket:\n",
            "    username = None\n    USERNAMES[websocket] = None\n    try:\n"
            "        async for message in websocket:\n            if username is None:\n"
            "                username = message  # The first message is the username.\n",
        ),
        caught_by="first_message_is_the_username",
    ),
    mutant(
        "await_broadcast",
        CHAT,
        (RELAY, "            await broadcast(everyone_but(websocket), "),
        caught_by="every_message_is_relayed",
        says="TypeError",
    ),
    mutant(
        "await_broadcast_everywhere",
        CHAT,
        (RELAY, "            await broadcast(everyone_but(websocket), "),
        (DEPARTURE, DEPARTURE.replace("broadcast(", "await broadcast(")),
        caught_by="every_message_is_relayed",
        says="TypeError",
    ),
    mutant(
        "reads_one_message",
        CHAT,
        (
            "        async for message in websocket:\n"
            "            # broadcast() is a plain function (no await): it queues the line for"
            " every\n"
            "            # recipient at once, so one slow client cannot hold up the others.\n"
            "            broadcast(",
            "        message = await websocket.recv()\n        broadcast(",
        ),
        caught_by="every_message_is_relayed",
    ),
    mutant(
        "one_recipient_only",
        CHAT,
        (
            "return [client for client in USERNAMES if client is not websocket]",
            "return [client for client in USERNAMES if client is not websocket][:1]",
        ),
        caught_by="every_other_client_receives_the_message",
    ),
    mutant(
        "sender_gets_own_message",
        CHAT,
        (RELAY, "            broadcast(USERNAMES, "),
        caught_by="sender_does_not_receive_own_message",
    ),
    mutant(
        "no_departure_notice",
        CHAT,
        (DEPARTURE + "\n", ""),
        caught_by="departure_is_announced",
    ),
    mutant(
        "departure_worded_differently",
        CHAT,
        (DEPARTURE, DEPARTURE.replace("has left the chat.", "left.")),
        caught_by="departure_notice_has_the_assignments_shape",
        says="Alice left.",
    ),
    mutant(
        "departure_only_after_a_clean_close",
        CHAT,
        (
            "    except ConnectionClosedError:\n        pass  # An abrupt disconnect is still a"
            " departure: the finally clause announces it.\n    finally:\n"
            "        del USERNAMES[websocket]\n" + DEPARTURE,
            "    except ConnectionClosedError:\n        return  # Dropped: nothing to say.\n"
            "    del USERNAMES[websocket]\n" + DEPARTURE[4:],
        ),
        caught_by="abrupt_departure_is_announced",
    ),
    mutant(
        "sequential_departure_sends",
        CHAT,
        (
            DEPARTURE,
            "        for client in USERNAMES:\n"
            '            await client.send(f"[Server]: {username} has left the chat.")',
        ),
        caught_by="simultaneous_departures_are_announced",
    ),
    mutant(
        "removes_while_iterating",
        CHAT,
        (
            DEPARTURE,
            "        for client in USERNAMES:\n            try:\n"
            '                await client.send(f"[Server]: {username} has left the chat.")\n'
            "            except ConnectionClosed:\n"
            "                del USERNAMES[client]  # Gone too: forget it.",
        ),
        caught_by="simultaneous_departures_are_announced",
    ),
    mutant(
        "time_sleep_before_relaying",
        CHAT,
        IMPORT_TIME,
        (RELAY, "            time.sleep(1)  # Give the others a moment.\n" + RELAY),
        caught_by="stays_responsive_while_relaying",
    ),
    mutant(
        "short_sleep_before_relaying",
        CHAT,
        IMPORT_TIME,
        (RELAY, "            time.sleep(0.3)  # Anti-spam: one message at a time.\n" + RELAY),
        caught_by="stays_responsive_while_relaying",
    ),
    mutant(
        "never_forgets_a_client",
        CHAT,
        ("        del USERNAMES[websocket]\n", ""),
        caught_by="departed_clients_are_forgotten",
    ),
    mutant(
        "forgets_only_dropped_clients",
        CHAT,
        (
            "        pass  # An abrupt disconnect is still a departure: the finally clause"
            " announces it.\n    finally:\n        del USERNAMES[websocket]\n",
            "        del USERNAMES[websocket]  # Dropped: forget it.\n    finally:\n",
        ),
        caught_by="departed_clients_are_forgotten",
    ),
    mutant(
        "ctrl_c_traceback_chat",
        CHAT,
        *NO_CTRL_C_HANDLING,
        caught_by="stops_cleanly_on_ctrl_c",
    ),
    # --- The chat client --------------------------------------------------------------------
    mutant(
        "name_keeps_its_newline",
        CLIENT,
        ('line.rstrip("\\r\\n")', "line"),
        caught_by="sends_the_name_first",
    ),
    mutant(
        "send_not_awaited_client",
        CLIENT,
        ("            await websocket.send(line)", "            websocket.send(line)"),
        caught_by="sends_the_name_first",
        says="was never awaited",
    ),
    mutant(
        "input_on_the_event_loop",
        CLIENT,
        ("    lines = start_keyboard_thread()\n", "    lines = None  # Read with input().\n"),
        (
            "while (line := await lines.get()) is not None and",
            "while (line := input()) is not None and",
        ),
        caught_by="shows_messages_while_idle",
    ),
    mutant(
        "reads_only_after_sending",
        CLIENT,
        (
            "            await websocket.send(line)\n",
            "            await websocket.send(line)\n"
            "            print(await websocket.recv(), flush=True)  # The room's answer.\n",
        ),
        (
            "    receiving = asyncio.create_task(receive_messages(websocket))\n",
            "    receiving = asyncio.create_task(asyncio.Event().wait())  # send_lines reads.\n",
        ),
        # It waits for an answer the stand-in never gives: the lines typed next are not sent.
        caught_by="sends_each_typed_line",
    ),
    mutant(
        "reads_only_after_each_enter",
        CLIENT,
        ("import sys\n", "import contextlib\nimport sys\n"),
        (
            "            await websocket.send(line)\n",
            "            await websocket.send(line)\n"
            "            with contextlib.suppress(TimeoutError):  # Show what came meanwhile.\n"
            "                while True:\n"
            "                    print(await asyncio.wait_for(websocket.recv(), 0.2))\n",
        ),
        (
            "    receiving = asyncio.create_task(receive_messages(websocket))\n",
            "    receiving = asyncio.create_task(asyncio.Event().wait())  # send_lines reads.\n",
        ),
        caught_by="shows_messages_while_idle",
    ),
    mutant(
        "quit_sent_to_the_room",
        CLIENT,
        (' and line.strip() != "/quit"', ""),
        caught_by="quit_command_leaves_cleanly",
    ),
    mutant(
        "waits_for_both_tasks",
        CLIENT,
        ("return_when=asyncio.FIRST_COMPLETED", "return_when=asyncio.ALL_COMPLETED"),
        caught_by="quit_command_leaves_cleanly",
    ),
    mutant(
        "keyboard_thread_not_a_daemon",
        CLIENT,
        ("daemon=True", "daemon=False"),
        caught_by="quit_command_leaves_cleanly",
        says="daemon thread",
    ),
    mutant(
        "end_of_input_ignored",
        CLIENT,
        ("            loop.call_soon_threadsafe(lines.put_nowait, None)\n", ""),
        caught_by="end_of_input_leaves_cleanly",
    ),
    mutant(
        "ctrl_c_traceback_client",
        CLIENT,
        (
            "    try:\n        return asyncio.run(chat(args.url, args.name))\n"
            "    except KeyboardInterrupt:  # Ctrl-C is a normal way to leave.\n"
            '        print()  # The shell prompt then starts on a line of its own, after "^C".\n'
            "        return 0",
            "    return asyncio.run(chat(args.url, args.name))",
        ),
        caught_by="ctrl_c_leaves_cleanly",
    ),
    mutant(
        "server_going_away_not_said",
        CLIENT,
        (
            '        print("Lost the connection to the server.", flush=True)\n    else:\n'
            '        print(f"The server closed the connection (code {websocket.close_code}).",'
            " flush=True)",
            "        pass",
        ),
        caught_by="server_going_away_is_reported",
    ),
    mutant(
        "unreachable_server_traceback",
        CLIENT,
        (
            "    try:\n        websocket = await connect(url)\n    except OSError:\n"
            '        print(f"No chat server answers at {url}. Start one first (python -m chatlib'
            ' chat-server).")\n        return 1\n',
            "    websocket = await connect(url)\n",
        ),
        caught_by="unreachable_server_is_reported",
    ),
    mutant(
        "unreachable_server_exit_status_0",
        CLIENT,
        ("        return 1\n", "        return 0\n"),
        caught_by="unreachable_server_is_reported",
    ),
    mutant(
        "name_option_ignored",
        CLIENT,
        (
            "    if name is not None:\n        await websocket.send(name)  # The first message is"
            " the name.\n    elif sys.stdin.isatty():",
            "    if sys.stdin.isatty():",
        ),
        caught_by="name_option_is_sent_first",
    ),
    mutant(
        "wrong_default_url",
        CLIENT,
        ('default="ws://localhost:8765"', 'default="ws://localhost:8000"'),
        caught_by="default_url_is_used",
    ),
    # --- The secure chat server (optional) -----------------------------------------------
    mutant(
        "token_never_checked",
        SECURE,
        (TOKEN_TEST, "        if False:"),
        caught_by="no_token_is_refused",
    ),
    mutant(
        "forbidden_instead_of_unauthorized",
        SECURE,
        (REFUSAL, "connection.respond(http.HTTPStatus.FORBIDDEN, "),
        caught_by="no_token_is_refused",
        says="403 Forbidden",
    ),
    mutant(
        "closed_with_1008_after_the_handshake",
        SECURE,
        (
            f"            return {REFUSAL}",
            "            connection.refused = True\n            return None\n            return "
            + REFUSAL,
        ),
        (
            "    try:\n        username = await websocket.recv()",
            '    if getattr(websocket, "refused", False):\n'
            '        await websocket.close(1008, "wrong token")\n'
            "        return\n    try:\n        username = await websocket.recv()",
        ),
        caught_by="no_token_is_refused",
    ),
    mutant(
        "any_token_let_in",
        SECURE,
        (TOKEN_TEST, "        if not token:"),
        caught_by="wrong_token_is_refused",
    ),
    mutant(
        "token_compared_as_a_prefix",
        SECURE,
        (TOKEN_TEST, "        if not token or not room_token.startswith(token):"),
        caught_by="wrong_token_is_refused",
    ),
    mutant(
        "right_token_refused",
        SECURE,
        (TOKEN_TEST, "        if True:"),
        caught_by="token_holders_chat",
    ),
    mutant(
        "token_printed_at_start",
        SECURE,
        (
            '(Ctrl-C to stop)", flush=True)',
            '(Ctrl-C to stop)", flush=True)\n        print(f"Token: {room_token}", flush=True)',
        ),
        caught_by="token_is_never_printed",
    ),
    mutant(
        "request_path_printed",
        SECURE,
        (
            "        token = token_in(request.path)\n",
            '        print(f"Request for {request.path}", flush=True)\n'
            "        token = token_in(request.path)\n",
        ),
        caught_by="token_is_never_printed",
    ),
]
