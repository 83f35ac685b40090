"""The command line: ``python -m chatlib PROGRAM [options]``.

Every program of the course is one sub-command, so a learner needs to remember a single
entry point; ``python -m chatlib --help`` lists them and ``python -m chatlib PROGRAM --help``
explains one.
"""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields
from typing import Any

from chatlib import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REDIS_EXPIRY, DEFAULT_URL
from chatlib.serving import Handler, run_until_interrupted, serve_until_stopped


@dataclass(frozen=True)
class Command:
    """One sub-command: what ``--help`` says of it, its options, and what runs it.

    ``run`` takes the parsed options and returns the exit status. It imports the lesson's
    module it runs when it runs, so that ``--help`` or one server loads nothing else.
    """

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None  # The sub-command's own --help; its ``help`` by default.


def serve(args: argparse.Namespace, handler: Handler, title: str) -> int:
    """Serve ``handler`` on ``--host`` and ``--port`` until Ctrl-C or SIGTERM; the exit status."""
    return run_until_interrupted(serve_until_stopped(handler, args.host, args.port, title=title))


def run_echo_server(args: argparse.Namespace) -> int:
    """The echo server of notebook 01: every message goes back to its sender."""
    from chatlib.echo import echo

    return serve(args, echo, "Echo server")


def run_uppercase_server(args: argparse.Namespace) -> int:
    """The uppercase server: every message comes back in capitals."""
    from chatlib.uppercase import shout

    return serve(args, shout, "Uppercase server")


def run_broadcast_server(args: argparse.Namespace) -> int:
    """The broadcast server: every message goes to every client."""
    from chatlib.broadcast import BroadcastRoom

    return serve(args, BroadcastRoom().handler, "Broadcast server")


def run_chat_server(args: argparse.Namespace) -> int:
    """The chat server: a room of its own, or with ``--redis`` one shared through Redis."""
    return run_until_interrupted(serve_chat_room(args))


async def serve_chat_room(args: argparse.Namespace) -> None:
    """Serve the room the options describe until a stop is requested."""
    from chatlib.chat_server import ChatLimits

    limits = ChatLimits(**{f.name: getattr(args, f.name) for f in fields(ChatLimits)})
    tls = server_tls_from(args)
    if args.redis is None:
        from chatlib.chat_server import main

        await main(args.host, args.port, limits, args.allow_origin, tls, args.token_file)
        return
    from chatlib.shared_room import RedisUnavailable, main  # Loads the Redis client.

    try:
        await main(
            args.host,
            args.port,
            args.redis,
            limits,
            args.allow_origin,
            args.redis_expiry,
            tls,
            args.token_file,
        )
    except RedisUnavailable as error:
        # Redis unreachable at start-up: one line that says what to do, exit status 1.
        print(f"Cannot start the chat server: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def server_tls_from(args: argparse.Namespace) -> Any:
    """The TLS context that ``--certfile`` and ``--keyfile`` ask for, or ``None`` without them.

    A missing file or a key that is not the certificate's stops the server with one line.
    """
    import ssl

    from chatlib.chat_server import server_tls

    if args.certfile is None:
        if args.keyfile is not None:
            print("Cannot start the chat server: --keyfile needs --certfile.", file=sys.stderr)
            raise SystemExit(2)
        return None
    try:
        return server_tls(args.certfile, args.keyfile)
    except (OSError, ssl.SSLError) as error:
        # SSLError is an OSError: the more telling reason (KEY_VALUES_MISMATCH) comes first.
        reason = getattr(error, "reason", None) or error.strerror or error
        print(
            f"Cannot start the chat server: cannot use {args.certfile}: {reason}.", file=sys.stderr
        )
        raise SystemExit(1) from None


def token_file(path: str) -> str:
    """An argparse ``type``: the room token kept in the file at ``path`` (its first line).

    A file rather than the token itself: a command line is seen by every user of the machine
    (``ps``) and kept in the shell's history.
    """
    try:
        with open(path, encoding="utf-8") as file:
            token = file.readline().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {error}") from None
    if not token:
        raise argparse.ArgumentTypeError(f"{path} is empty: its first line is the token")
    return token


def above_zero(kind: type) -> Callable[[str], Any]:
    """An argparse ``type``: a number of ``kind`` greater than zero.

    A limit of 0 or -5 would make no sense (a line of at most -5 characters?) and could
    stop the server in odd ways later; argparse turns the error into one usage line now.
    """

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above zero")
        return value

    return convert


def add_chat_limits(parser: argparse.ArgumentParser) -> None:
    """One option per field of ChatLimits: ``max_line`` becomes ``--max-line``."""
    from chatlib.chat_server import ChatLimits

    limits = parser.add_argument_group("limits that protect the room")
    for limit in fields(ChatLimits):
        limits.add_argument(
            "--" + limit.name.replace("_", "-"),
            type=above_zero(type(limit.default)),
            default=limit.default,
            metavar="N",
            help=f"{limit.metadata['help']} (default: {limit.default})",
        )


def add_security_options(parser: argparse.ArgumentParser) -> None:
    """TLS (``--certfile``, ``--keyfile``) and a private room (``--token-file``)."""
    security = parser.add_argument_group("secure WebSockets (README, Secure WebSockets)")
    security.add_argument(
        "--certfile",
        metavar="FILE",
        help="speak TLS with the certificate (PEM) in FILE: clients join at wss://, the page"
        " is at https:// (default: no TLS, ws://)",
    )
    security.add_argument(
        "--keyfile",
        metavar="FILE",
        help="the certificate's private key (default: in --certfile)",
    )
    security.add_argument(
        "--token-file",
        type=token_file,
        metavar="FILE",
        help="make the room private: a client's first message must be the token on FILE's"
        " first line (default: anyone may join)",
    )


def add_sharing_options(parser: argparse.ArgumentParser) -> None:
    """``--redis URL``: share one room between several chat servers (see README, Scaling out)."""
    sharing = parser.add_argument_group("one room across several servers")
    sharing.add_argument(
        "--redis",
        metavar="URL",
        help="share the room with every chat server started with the same Redis URL, e.g."
        " redis://127.0.0.1:6379/0 (default: this server's room is its own)",
    )
    sharing.add_argument(
        "--redis-expiry",
        type=above_zero(float),
        default=DEFAULT_REDIS_EXPIRY,
        metavar="SECONDS",
        help="with --redis: after this long without a word from a server (a crash), its"
        f" members are announced gone and their names are free (default: {DEFAULT_REDIS_EXPIRY:g})",
    )


def run_echo_client(args: argparse.Namespace) -> int:
    """Talk to an echo (or uppercase) server from the terminal."""
    from chatlib.echo import interactive_echo_client

    return run_client(interactive_echo_client(args.url))


def run_chat_client(args: argparse.Namespace) -> int:
    """Join a chat room from the terminal."""
    from chatlib.chat_client import chat

    return run_client(chat(args.url, args.name, args.token_file, args.cafile))


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
    """Check an exercise and print one line per requirement (or JSON, or watch the file)."""
    if args.watch:
        from chatlib.course.tooling.watch import watch_from_command_line

        return watch_from_command_line(args.exercise, args.folder, args.hint)
    from chatlib.course.checks.catalogue import EXERCISES
    from chatlib.course.checks.pipeline import check, learner_program
    from chatlib.course.checks.renderers import JsonReport, TerminalReport

    exercise = EXERCISES[args.exercise]
    program = learner_program(exercise, args.path, args.folder)
    report = JsonReport() if args.json else TerminalReport()
    if args.format != "text":
        from chatlib.course.tooling.classroom import ClassroomReport
        from chatlib.course.tooling.gradescope import GradescopeReport

        report = {"gradescope": GradescopeReport, "classroom": ClassroomReport}[args.format]()
    try:
        result = asyncio.run(check(exercise, program, report, args.extras))
    except KeyboardInterrupt:
        print("\nCheck interrupted.")
        return 1
    # A grading platform reads the score from the output: the check itself went fine.
    return 0 if result.all_met or args.format != "text" else 1


def run_progress(args: argparse.Namespace) -> int:
    """Print one line per exercise and what to do next."""
    from chatlib.course.tooling.progress import show_progress

    return show_progress(args.folder)


def run_reset(args: argparse.Namespace) -> int:
    """Put an exercise's original starter back, keeping the learner's version."""
    from chatlib.course.tooling.reset import reset_exercise

    try:
        return reset_exercise(args.exercise, args.folder, yes=args.yes)
    except KeyboardInterrupt:
        print("\nNothing changed.")
        return 1


def run_lab(args: argparse.Namespace) -> int:
    """Open the lesson in JupyterLab, on the course folder."""
    from chatlib.course.tooling.lab import open_lab

    return open_lab(args.jupyter_options)


def run_grade(args: argparse.Namespace) -> int:
    """Check every learner's files and write the gradebook (or one Gradescope results.json)."""
    from chatlib.course.tooling.gradebook import grade_from_command_line

    if args.gradescope:
        from chatlib.course.tooling.gradescope import gradescope_from_command_line

        return gradescope_from_command_line(args.folder, args.gradescope, args.time_limit)
    return grade_from_command_line(
        args.folder, args.out, args.time_limit, args.jobs, args.due, args.late_penalty
    )


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """Every server's options: where it listens, and how much it logs."""
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default: {DEFAULT_HOST}")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}; 0 = any free"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="how much to log on standard error (default: INFO)",
    )


def add_chat_server_options(parser: argparse.ArgumentParser) -> None:
    """A server's options, and the room's: pages allowed in, TLS, a token, Redis, limits."""
    add_server_options(parser)
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also let web pages from ORIGIN (e.g. http://localhost:3000) join"
        " the chat; may be repeated (default: only this server's own page, and"
        " clients that are not browsers)",
    )
    add_security_options(parser)
    add_sharing_options(parser)
    add_chat_limits(parser)


def add_url_option(parser: argparse.ArgumentParser) -> None:
    """A client's ``--url``."""
    parser.add_argument("--url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")


def add_chat_client_options(parser: argparse.ArgumentParser) -> None:
    """The chat client's options: where, who, and what a private or secure room needs."""
    add_url_option(parser)
    parser.add_argument("--name", help="your name in the chat (asked for when omitted)")
    parser.add_argument(
        "--token-file",
        type=token_file,
        metavar="FILE",
        help="join a private room: send the token on FILE's first line first",
    )
    parser.add_argument(
        "--cafile",
        metavar="FILE",
        help="with wss://: trust the certificate authority (PEM) in FILE, e.g. a course's"
        " own (default: the system's authorities)",
    )


FOLDER_HELP = "the exercises folder (default: exercises/ in this folder, else the course's)"


def add_check_options(check: argparse.ArgumentParser) -> None:
    """Which exercise, which file, and how to report."""
    from chatlib.course.checks.catalogue import EXERCISES

    check.add_argument(
        "exercise",
        nargs="?",
        choices=list(EXERCISES),
        help="which exercise to check (with --watch: where to start; default: the first"
        " exercise not done)",
    )
    check.add_argument(
        "--path", help="the file to check (default: exercises/EXERCISE.py in this folder)"
    )
    add_folder_option(check)
    check.add_argument(
        "--extras",
        action="store_true",
        help="also check the reference's extra rules (names, spoofing, binary frames)",
    )
    check.add_argument(
        "--watch",
        action="store_true",
        help="check again every time the file is saved, then go on to the next exercise;"
        " Ctrl-C stops",
    )
    check.add_argument(
        "--hint",
        action="store_true",
        help="show the hint of every unmet requirement (with --watch: not only the first)",
    )
    check.add_argument(
        "--json", action="store_true", help="print the result as one JSON object, for scripts"
    )
    check.add_argument(
        "--format",
        choices=["text", "gradescope", "classroom"],
        default="text",
        help="gradescope: print Gradescope's results.json; classroom: print GitHub Classroom's"
        " result=BASE64 line (for $GITHUB_OUTPUT); both exit 0 whatever the score",
    )
    check.set_defaults(validate=lambda args: validate_check(check, args))


def add_folder_option(parser: argparse.ArgumentParser) -> None:
    """``--folder DIR``: where the learner's exercises are."""
    parser.add_argument("--folder", metavar="DIR", help=FOLDER_HELP)


def add_reset_options(reset: argparse.ArgumentParser) -> None:
    """Which exercise to reset, where, and whether to ask first."""
    from chatlib.course.checks.catalogue import EXERCISES

    reset.add_argument("exercise", choices=list(EXERCISES), help="which exercise to reset")
    add_folder_option(reset)
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def add_lab_options(lab: argparse.ArgumentParser) -> None:
    """None of its own: its options are JupyterLab's, which main() hands over."""
    lab.set_defaults(jupyter_options=[])


def validate_check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse the combinations of check's options that make no sense."""
    if args.watch and (args.path or args.json or args.extras or args.format != "text"):
        parser.error(
            "--watch works on the exercises folder with the assignment's requirements:"
            " use --folder DIR instead of --path, and no --json, --format or --extras"
        )
    if args.json and args.format != "text":
        parser.error("--json or --format, not both")
    if not args.watch and args.exercise is None:
        from chatlib.course.checks.catalogue import names_in_words

        parser.error(f"which exercise? {names_in_words()}")


def add_grade_options(grade: argparse.ArgumentParser) -> None:
    """The instructor's options: where the files are, where the gradebook goes, limits."""
    from chatlib.course.checks.catalogue import EXERCISES
    from chatlib.course.tooling.grading import TIME_LIMIT

    files = ", ".join(exercise.file_name for exercise in EXERCISES.values())
    # Its --help names the exercises' files, which only the catalogue knows.
    grade.description = (
        "Check every learner's files in FOLDER (one sub-folder per learner, with"
        f" any of {files}, or a Canvas/Moodle download: flat files named"
        " lee_ann_12345_chat_server.py, folders, or its zip), several at once, and write"
        " grades.csv, grades-wide.csv, grades.html and a feedback file per learner."
    )
    grade.add_argument(
        "folder", metavar="FOLDER", help="the learners' files (a folder or a zip file)"
    )
    grade.add_argument(
        "--out",
        metavar="DIR",
        help="where to write the gradebook's files (default: FOLDER; for a zip, NAME-grades)",
    )
    grade.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        metavar="SECONDS",
        help=f"the longest the checks of one file may take (default: {TIME_LIMIT:g})",
    )
    grade.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="how many files to check at once (default: the number of processors)",
    )
    grade.add_argument(
        "--due",
        metavar="TIME",
        help="the due date, e.g. '2026-12-01 23:59' (local time): later files lose points",
    )
    grade.add_argument(
        "--late-penalty",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="the share of the points lost per day (started) after --due (default: 0)",
    )
    grade.add_argument(
        "--gradescope",
        metavar="RESULTS",
        help="grade FOLDER as one learner's submission and write Gradescope's results.json"
        " to RESULTS (what the autograder's run_autograder does)",
    )


COMMANDS: dict[str, Command] = {
    "echo-server": Command(
        "Send every message back to its sender.", add_server_options, run_echo_server
    ),
    "uppercase-server": Command(
        "Reply to every message in capital letters.", add_server_options, run_uppercase_server
    ),
    "broadcast-server": Command(
        "Relay every message to every connected client.", add_server_options, run_broadcast_server
    ),
    "chat-server": Command(
        "The chat room of the assignment.", add_chat_server_options, run_chat_server
    ),
    "echo-client": Command(
        "Send typed lines to an echo or uppercase server and print the replies.",
        add_url_option,
        run_echo_client,
    ),
    "chat-client": Command(
        "Join the chat room from this terminal.", add_chat_client_options, run_chat_client
    ),
    "check": Command(
        "Check an exercise: one line per requirement, with hints.",
        add_check_options,
        run_check,
        description="Check an exercise: one line per requirement; under each unmet one,"
        " what happened and a hint. With --watch, check again at every save.",
    ),
    "progress": Command(
        "Show how far you are: one line per exercise, and what to do next.",
        add_folder_option,
        run_progress,
    ),
    "reset": Command(
        "Put an exercise's original starter back (your version is kept as a backup).",
        add_reset_options,
        run_reset,
    ),
    "lab": Command(
        "Open the lesson in JupyterLab, on the course folder (what `make lab` runs).",
        add_lab_options,
        run_lab,
        description="Start JupyterLab on the course folder at the first lesson, with this"
        " Python first in its terminals. Options after `lab` go to JupyterLab, e.g."
        " --no-browser or --port 8899.",
    ),
    "grade": Command(
        "For instructors: check every learner's files and write a table of results.",
        add_grade_options,
        run_grade,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Describe every sub-command and its options, from :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m chatlib",
        description="The programs of the WebSockets course: servers, clients and the checker.",
    )
    programs = parser.add_subparsers(dest="program", required=True, metavar="PROGRAM")
    for name, command in COMMANDS.items():
        sub = programs.add_parser(
            name, help=command.help, description=command.description or command.help
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


class OneLineFormatter(logging.Formatter):
    """Log records as one line each, an error's traceback folded into its type and message.

    A server log is read by people: "opening handshake failed (InvalidMessage: did not
    receive a valid HTTP request)" says all that matters about a client that sent garbage,
    where a 30-line traceback would bury the lines around it. (websockets logs such errors
    with their traceback; chatlib's own lines never carry one.)
    """

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        if record.exc_info and record.exc_info[1] is not None:
            line += f" ({error_in_one_line(record.exc_info[1])})"
        return line


def error_in_one_line(error: BaseException) -> str:
    """``Type: message``, and what caused it: ``; caused by Type: message``."""
    detail = f"{type(error).__name__}: {error}"
    cause = error.__cause__ or error.__context__
    if cause is not None:
        detail += f"; caused by {type(cause).__name__}: {cause}"
    return detail


def configure_logging(level: str) -> None:
    """Log on standard error at ``level``, one line per record; the first call sets it up.

    Only servers log; the clients and the checker speak to the user with print(). websockets
    logs every connection at INFO, so it logs from WARNING on: chatlib's own lines say what
    matters. A later call (tests run main() many times in one process) adds nothing:
    ``basicConfig`` leaves a logging that is already set up as it is.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("websockets").setLevel(max(logging.WARNING, logging.getLogger().level))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the chosen program, and return its exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Only a command that takes other programs' options (lab: JupyterLab's) gets them.
        if not hasattr(args, "jupyter_options"):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.jupyter_options = unknown
    if hasattr(args, "validate"):
        args.validate(args)
    configure_logging(getattr(args, "log_level", "WARNING"))
    try:
        return args.run(args)
    except BrokenPipeError:
        # The reader went away (``... | head``): stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except FileNotFoundError as error:
        # The exercise commands need the course folder; imported here, as only they do.
        from chatlib.course.folders import CourseFolderNotFound

        if not isinstance(error, CourseFolderNotFound):
            raise
        print(error, file=sys.stderr)
        return 2
