"""The command line: ``python -m chatlib PROGRAM [options]``.

Every program of the course is one sub-command, so a learner needs to remember a single
entry point; ``python -m chatlib --help`` lists them and ``python -m chatlib PROGRAM --help``
explains one.
"""

import argparse
import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import fields
from typing import Any

from chatlib import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_URL
from chatlib.serving import one_line_errors, run_until_interrupted, serve_until_stopped

ServerMain = Callable[[argparse.Namespace], Coroutine[Any, Any, None]]


def serve_handler(handler_factory: Callable[[], Any], title: str) -> ServerMain:
    """Make a ``main(args)`` that serves the handler ``handler_factory()`` returns."""

    async def main(args: argparse.Namespace) -> None:
        await serve_until_stopped(handler_factory(), args.host, args.port, title=title)

    return main


def echo_server_main() -> ServerMain:
    from chatlib.echo import echo

    return serve_handler(lambda: echo, "Echo server")


def uppercase_server_main() -> ServerMain:
    from chatlib.uppercase import shout

    return serve_handler(lambda: shout, "Uppercase server")


def broadcast_server_main() -> ServerMain:
    from chatlib.broadcast import BroadcastRoom

    return serve_handler(lambda: BroadcastRoom().handler, "Broadcast server")


def chat_server_main() -> ServerMain:
    from chatlib.chat_server import ChatLimits, main

    async def run(args: argparse.Namespace) -> None:
        limits = ChatLimits(**{f.name: getattr(args, f.name) for f in fields(ChatLimits)})
        await main(args.host, args.port, limits)

    return run


SERVERS: dict[str, tuple[str, Callable[[], ServerMain]]] = {
    "echo-server": ("Send every message back to its sender.", echo_server_main),
    "uppercase-server": ("Reply to every message in capital letters.", uppercase_server_main),
    "broadcast-server": ("Relay every message to every connected client.", broadcast_server_main),
    "chat-server": ("The chat room of the assignment.", chat_server_main),
}


def run_server(args: argparse.Namespace) -> int:
    """Start the server named on the command line and serve until Ctrl-C or SIGTERM."""
    server_main = SERVERS[args.program][1]()
    return run_until_interrupted(server_main(args))


def add_chat_limits(parser: argparse.ArgumentParser) -> None:
    """One option per field of ChatLimits: ``max_line`` becomes ``--max-line``."""
    from chatlib.chat_server import ChatLimits

    limits = parser.add_argument_group("limits that protect the room")
    for limit in fields(ChatLimits):
        limits.add_argument(
            "--" + limit.name.replace("_", "-"),
            type=type(limit.default),
            default=limit.default,
            metavar="N",
            help=f"{limit.metadata['help']} (default: {limit.default})",
        )


def run_echo_client(args: argparse.Namespace) -> int:
    """Talk to an echo (or uppercase) server from the terminal."""
    from chatlib.echo import interactive_echo_client

    return run_client(interactive_echo_client(args.url))


def run_chat_client(args: argparse.Namespace) -> int:
    """Join a chat room from the terminal."""
    from chatlib.chat_client import chat

    return run_client(chat(args.url, args.name))


def run_client(client: Coroutine[Any, Any, int]) -> int:
    """Run a client coroutine; Ctrl-C is a normal way to leave, so it exits with status 0."""
    from chatlib.terminal import terminal_settings_restored

    with terminal_settings_restored():
        try:
            return asyncio.run(client)
        except KeyboardInterrupt:
            print()
            return 0


def run_check(args: argparse.Namespace) -> int:
    """Check an exercise and print one line per requirement."""
    from chatlib.checks.report import check_exercise

    return check_exercise(args.exercise, path=args.path, include_extras=args.extras)


def build_parser() -> argparse.ArgumentParser:
    """Describe every sub-command and its options."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib",
        description="The programs of the WebSockets course: servers, clients and the checker.",
    )
    programs = parser.add_subparsers(dest="program", required=True, metavar="PROGRAM")

    for name, (summary, _) in SERVERS.items():
        server = programs.add_parser(name, help=summary, description=summary)
        server.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
        server.add_argument(
            "--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}; 0 = any free"
        )
        server.add_argument(
            "--log-level",
            default="INFO",
            choices=["DEBUG", "INFO", "WARNING", "ERROR"],
            help="how much to log on standard error (default: INFO)",
        )
        if name == "chat-server":
            add_chat_limits(server)
        server.set_defaults(run=run_server)

    echo_client = programs.add_parser(
        "echo-client",
        help="Send typed lines to an echo or uppercase server and print the replies.",
    )
    echo_client.add_argument("--url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    echo_client.set_defaults(run=run_echo_client)

    chat_client = programs.add_parser("chat-client", help="Join the chat room from this terminal.")
    chat_client.add_argument("--url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    chat_client.add_argument("--name", help="your name in the chat (asked for when omitted)")
    chat_client.set_defaults(run=run_chat_client)

    check = programs.add_parser(
        "check", help="Check an exercise: one line per requirement, with hints."
    )
    check.add_argument(
        "exercise",
        choices=["uppercase_server", "chat_server", "chat_client"],
        help="which exercise to check",
    )
    check.add_argument(
        "--path", help="the file to check (default: exercises/EXERCISE.py in this folder)"
    )
    check.add_argument(
        "--extras",
        action="store_true",
        help="also check the reference's extra rules (names, spoofing, binary frames)",
    )
    check.set_defaults(run=run_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the chosen program, and return its exit status."""
    args = build_parser().parse_args(argv)
    # Only servers log; the clients and the checker speak to the user with print().
    logging.basicConfig(
        level=getattr(args, "log_level", "WARNING"),
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    # websockets logs every connection at INFO; our own log lines say what matters. Its
    # errors (a client that sent garbage instead of a handshake) become one line each.
    library_log = logging.getLogger("websockets")
    library_log.setLevel(max(logging.WARNING, logging.getLogger().level))
    library_log.addFilter(one_line_errors)
    return args.run(args)
