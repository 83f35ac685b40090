"""Helpers that make notebook cells safe to run, to re-run, and to run all at once.

A Jupyter kernel runs every cell on one asyncio event loop, so a server started in a cell
keeps serving between cells. On a shared machine (a JupyterHub, where every learner's
kernels share one network) a fixed port taken by one learner is taken for all. These helpers
remove the traps that follow:

- Every server they start listens on a port the operating system chooses (port 0), and
  says which: ``handle.url`` carries the real port, so two learners never collide.
- Re-running a cell that starts a server must replace *its* server, not add a second one:
  :func:`start_server`, :func:`start_program` and :func:`start_redis` remember what this
  kernel started by its title (a name that stays the same from one run to the next, unlike
  the port) and stop the previous one with that title first.
- A notebook that leaves servers running blocks the next one. :func:`stop_everything`
  (the last cell of every notebook) stops all of them.
- What the notebook asks the learner to type or open must work where the learner is:
  :func:`terminal_command` writes a command with this kernel's own Python (a JupyterHub's
  terminal does not have it on its PATH), and :func:`chat_page_link` links the chat page
  through the hub's proxy when there is one.

:func:`play_conversation` runs a scripted chat against a server and returns a
:class:`Transcript` that shows, side by side, what each person saw.
"""

import asyncio
import contextlib
import html
import inspect
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from chatlib import client_errors
from chatlib.commands import in_folder, quoted
from chatlib.course.checks import pipeline
from chatlib.course.checks.catalogue import EXERCISES
from chatlib.course.checks.renderers import notebook_report
from chatlib.course.checks.results import CheckResult
from chatlib.course.folders import course_folder, find_course_folder
from chatlib.course.harness import RunningProgram, start_server_program
from chatlib.course.participants import Participant
from chatlib.course.redis_process import REDIS_MISSING, RedisServer, redis_binary
from chatlib.serving import LOOPBACK, BackgroundServer, Handler, page_url

# What this kernel started, by title, so that a re-run cell can stop what it started before.
_started: dict[str, "NotebookServer | BackgroundProgram"] = {}
# The port each title's server had last, even once stopped, to try it first the next time.
_last_ports: dict[str, int] = {}


class PortInUse(OSError):
    """The port is taken by a program this kernel did not start: explain, don't trace back."""

    def __init__(self, port: int, error: OSError) -> None:
        super().__init__(
            error.errno,
            f"Port {port} is taken by another program (a server in a terminal, or another"
            " notebook's kernel?). Stop that one, or leave the port out: the system then"
            " picks a free one.",
        )

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the one line that says what to do.
        return [f"PortInUse: {self.strerror}"]


def _remember(title: str, handle: "NotebookServer | BackgroundProgram") -> None:
    """Note that ``handle`` is what this kernel runs under ``title`` now."""
    _started[title] = handle


def _forget(title: str, handle: "NotebookServer | BackgroundProgram") -> None:
    """Forget ``handle`` under ``title``, unless a newer one took that title since."""
    if _started.get(title) is handle:
        del _started[title]


class NotebookServer(BackgroundServer):
    """A server running in this kernel's event loop, in the background, between cells.

    It is remembered by its ``title`` (see :func:`start_server`) until it stops.
    """

    def __init__(self, title: str, handler: Handler, host: str, port: int, **options: Any) -> None:
        super().__init__(handler, host, port, **options)
        self.title = title

    async def stop(self) -> None:
        """Close the server and its connections (going away); safe to call twice."""
        _forget(self.title, self)
        await super().stop()

    def __repr__(self) -> str:
        state = "running" if self.server is not None and self.server.is_serving() else "stopped"
        return f"<{self.title} on {self.url}: {state}>"


async def start_server(
    handler: Handler,
    port: int = 0,
    *,
    title: str = "Server",
    host: str = LOOPBACK,
    **serve_options: Any,
) -> NotebookServer:
    """Serve ``handler`` in the background and return a handle with ``url`` and ``stop()``.

    The server listens on a port the operating system chooses (``port=0``, the default),
    and ``url`` carries it; a server started again under a title gets its previous port
    back while that port is free. Whatever this kernel started earlier under the same ``title``
    is stopped first, so the cell can be run again and again.
    """
    replaced = await stop_title(title)
    handle = None
    if port == 0 and title in _last_ports:
        # The same port again, while it is free: a chat page left open on the old server
        # reconnects to the new one. Taken meanwhile (by anyone), any free port will do.
        with contextlib.suppress(OSError):
            again = NotebookServer(title, handler, host, _last_ports[title], **serve_options)
            handle = await again.start()
    try:
        handle = handle or await NotebookServer(title, handler, host, port, **serve_options).start()
    except OSError as error:
        raise PortInUse(port, error) from None
    _remember(title, handle)
    _last_ports[title] = handle.port
    print(f"{title} listening on {handle.url}{replaced}")
    return handle


@dataclass
class BackgroundProgram:
    """A program running as a subprocess, started from a cell: a server or a chat client."""

    title: str  # What it is remembered by: the cell's title, or its arguments.
    args: tuple[str, ...]  # As the cell gave them, e.g. ("solutions/chat_server.py",).
    program: RunningProgram
    url: str | None = None
    port: int | None = None
    _lines_read: int = field(default=0, repr=False)

    async def type(self, line: str) -> None:
        """Type ``line`` and Enter into the program, as a person at its keyboard would."""
        await self.program.type(line + "\n")

    async def wait_for_output(self, text: str, timeout: float = 5.0) -> bool:
        """Wait until the program prints ``text``; False when it does not within ``timeout``."""
        return await self.program.stdout.wait_for(re.escape(text), timeout) is not None

    def new_output(self) -> str:
        """What the program printed since the last call (its standard output)."""
        lines = self.program.stdout.lines[self._lines_read :]
        # Counted from the output's own length: a very talkative program's oldest lines are
        # no longer kept, so fewer lines may come back than were written.
        self._lines_read = len(self.program.stdout.lines)
        return "\n".join(lines)

    async def stop(self) -> int | None:
        """Stop the program as Ctrl-C would; return its exit status."""
        _forget(self.title, self)
        await self.program.stop()
        return self.program.exit_code

    def __repr__(self) -> str:
        state = (
            "running" if self.program.exit_code is None else f"exited ({self.program.exit_code})"
        )
        where = f" on {self.url}" if self.url else ""
        return f"<{' '.join(self.args)}{where}: {state}>"


def python_command(*args: str) -> list[str]:
    """``python ARGS`` with this kernel's own interpreter, the one that has chatlib.

    ``args`` is a file and its options, or ``"-m", "chatlib", ...``; a file is relative to
    the course folder (``"exercises/chat_server.py"``).
    """
    return [sys.executable, *args]


def terminal_command(*args: str, shell: str | None = None) -> str:
    """The command line that runs ``python ARGS`` when pasted into a terminal, anywhere.

    A terminal of JupyterLab on a JupyterHub is a login shell: its ``python`` may not exist,
    or may be another Python than this kernel's. So the command names this kernel's
    interpreter (``sys.executable``) and first goes to the course folder, where the file
    names and ``chatlib check`` find the learner's files. It is written for ``shell``: by
    default, what JupyterLab's terminals run here (PowerShell on Windows, a POSIX shell
    elsewhere); ``shell="cmd"`` writes it for Windows' older console.
    """
    words = python_command(*args)
    folder = find_course_folder()
    if folder is None:
        return quoted(words, shell)
    return in_folder(str(folder), words, shell)


async def start_program(
    *args: str, server: bool = False, title: str | None = None
) -> BackgroundProgram:
    """Run ``python ARGS`` as a subprocess from the course folder; return its handle.

    ``args`` is a file and its options, or ``"-m", "chatlib", ...``, as for
    :func:`python_command`. With ``server=True`` it is a server: it gets ``--host`` and
    ``--port 0`` (the operating system picks a free port), and this waits until it prints
    the URL it listens on (``handle.url``). Whatever this kernel started before under the
    same ``title`` (by default, the same arguments) is stopped first, so the cell can be
    re-run.
    """
    title = title or " ".join(args)
    replaced = await stop_title(title)
    command = python_command(*args)
    folder = course_folder()
    # A process group of its own: the kernel's interrupt button (■) signals the kernel's whole
    # group, and must stop the cell that runs, not the servers and clients started earlier.
    # The harness ends them with the kernel instead (at its exit, or when it is killed).
    if not server:
        running = await RunningProgram.start(command, cwd=folder, own_process_group=True)
        handle = BackgroundProgram(title, args, running)
    else:
        command += ["--host", LOOPBACK, "--port", "0"]
        running = await start_server_program(
            command, cwd=folder, name=" ".join(args), own_process_group=True
        )
        handle = BackgroundProgram(title, args, running, running.url, running.port)
        print(f"Started {' '.join(args)}: listening on {handle.url}{replaced}")
    _remember(title, handle)
    return handle


async def start_redis(port: int | None = None, *, title: str = "Redis") -> BackgroundProgram | None:
    """Run ``redis-server`` on 127.0.0.1 in the background; ``None`` if it is not installed.

    Without ``port``, it gets a port that is free right now (Redis cannot be given port 0:
    that turns its TCP listener off); give ``port`` to start it again where it was. It keeps
    nothing on disk (``--save ''``), so stopping it forgets everything, as a crashed Redis
    would. Whatever this kernel started before under the same ``title`` is stopped first.
    Started as the tests and the benchmark start theirs (:class:`RedisServer`).
    """
    if redis_binary() is None:
        print(f"Redis not started: {REDIS_MISSING}.")
        return None
    replaced = await stop_title(title)
    redis = RedisServer(tempfile.gettempdir(), port)
    await redis.start()
    handle = BackgroundProgram(title, ("redis-server",), redis.program, redis.url, redis.port)
    _remember(title, handle)
    print(f"Redis listening on {handle.url}{replaced}")
    return handle


def port_of(url: str) -> int:
    """The port of a ``ws://host:port`` URL; raises ``ValueError`` when it names none."""
    port = client_errors.port_of(url)
    if port is None:
        raise ValueError(f"{url} names no port")
    return port


async def stop_title(title: str) -> str:
    """Stop what this kernel started under ``title``, if anything.

    Returns what the start helpers add to their line: " (it replaces the previous one)" when
    something was stopped, so that a re-run cell says it replaced its server, else "".
    """
    previous = _started.pop(title, None)
    if previous is None:
        return ""
    await previous.stop()
    return " (it replaces the previous one)"


async def stop_everything() -> None:
    """Stop every server and program this kernel started: the last cell of each notebook."""
    for handle in list(_started.values()):
        await handle.stop()
    print("Everything this notebook started is stopped.")


# --- Links the learner opens ------------------------------------------------------------------


@dataclass
class Link:
    """A link shown as a cell's result: clickable in JupyterLab, plain text elsewhere."""

    href: str
    text: str

    def _repr_html_(self) -> str:
        href, text = html.escape(self.href), html.escape(self.text)
        return f'<a href="{href}" target="_blank" rel="noopener">{text}</a>'

    def __repr__(self) -> str:
        return f"{self.text}: {self.href}"


def proxy_prefix() -> str | None:
    """The path where this kernel's JupyterHub proxies local ports, e.g. ``/user/alice/proxy/``.

    A JupyterHub sets ``JUPYTERHUB_SERVICE_PREFIX`` (``/user/alice/``) in each user's server
    and kernels; jupyter-server-proxy, installed with chatlib, forwards ``PREFIX proxy/PORT/``
    to ``localhost:PORT`` on the machine the kernel runs on. ``None`` when not on a hub.
    """
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    return None if not prefix else prefix.rstrip("/") + "/proxy/"


def chat_page_link(url: str) -> Link:
    """A link to the chat page of the server at ``url`` (``ws://127.0.0.1:PORT``).

    On a JupyterHub the learner's browser is not on the kernel's machine, so its
    ``localhost`` is the wrong place: the link goes through the hub, ``PREFIX proxy/PORT/``.
    That link is a path without a host name, so the browser keeps the address and the
    http or https it used to reach the hub. Elsewhere, it is the page's own address,
    ``http://127.0.0.1:PORT/``.
    """
    prefix = proxy_prefix()
    if prefix is None:
        return Link(page_url(url), "Open the chat page")
    return Link(f"{prefix}{port_of(url)}/", "Open the chat page (through the hub)")


# --- Scripted conversations -------------------------------------------------------------------


@dataclass
class Step:
    """One line of a conversation script: who does what."""

    person: str
    action: str  # "joins", "says", "leaves" or "drops"
    text: str = ""

    @classmethod
    def parse(cls, line: str) -> "Step":
        """Read ``Alice joins``, ``Alice: Hello!``, ``Alice leaves`` or ``Alice drops``."""
        if ":" in line:
            person, text = line.split(":", 1)
            return cls(person.strip(), "says", text.strip())
        person, _, action = line.strip().rpartition(" ")
        if action not in ("joins", "leaves", "drops") or not person:
            raise ValueError(f"cannot read the script line {line!r}")
        return cls(person, action)

    def __str__(self) -> str:
        if self.action == "says":
            return f'{self.person} says "{self.text}"'
        if self.action == "drops":
            return f"{self.person} drops (connection lost)"
        return f"{self.person} {self.action}"


@dataclass
class Transcript:
    """What each person saw during a scripted conversation, step by step."""

    people: list[str]
    rows: list[tuple[Step, dict[str, list[str]]]] = field(default_factory=list)

    def seen_by(self, person: str) -> list[str]:
        """Every line ``person`` received, in order."""
        return [line for _, seen in self.rows for line in seen.get(person, [])]

    def __str__(self) -> str:
        parts = []
        for person in self.people:
            lines = self.seen_by(person) or ["(nothing)"]
            parts.append(f"{person} saw:\n" + "\n".join(f"  {line}" for line in lines))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        header = "".join(f"<th>{html.escape(person)}</th>" for person in self.people)
        body = []
        for step, seen in self.rows:
            cells = "".join(
                "<td>" + "<br>".join(html.escape(line) for line in seen.get(person, [])) + "</td>"
                for person in self.people
            )
            body.append(f"<tr><td><i>{html.escape(str(step))}</i></td>{cells}</tr>")
        return (
            '<table style="text-align:left"><tr><th>What happened</th>'
            f"{header}</tr>{''.join(body)}</table>"
        )


async def play_conversation(url: str, script: str) -> Transcript:
    """Play ``script`` (one step per line) against the chat server at ``url``.

    After each step, the helper waits (at most one second) until the others have received
    what that step should make them receive, then notes who saw what.
    """
    steps = [Step.parse(line) for line in script.strip().splitlines() if line.strip()]
    transcript = Transcript(list(dict.fromkeys(step.person for step in steps)))
    conversation = Conversation(url)
    try:
        for step in steps:
            transcript.rows.append((step, await conversation.perform(step)))
    finally:
        await conversation.close()
    return transcript


class Conversation:
    """The participants of a scripted conversation, and what each has seen so far."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.present: dict[str, Participant] = {}
        self.seen_count: dict[str, int] = {}
        # Servers need not announce arrivals (the minimal solution does not): once an
        # arrival goes unannounced, later joins do not wait for an announcement.
        self.arrivals_announced = True

    async def perform(self, step: Step) -> dict[str, list[str]]:
        """Carry out one step, wait for its effect to reach the others, return who saw what."""
        others = {name: p for name, p in self.present.items() if name != step.person}
        start = {name: len(p.received) for name, p in others.items()}
        if step.action == "joins":
            self.present[step.person] = await Participant.join(self.url, step.person)
            if others and self.arrivals_announced:
                arrived = await self.wait_for_others(others, start, step.person)
                self.arrivals_announced = arrived
        elif step.action == "says":
            await self.present[step.person].say(step.text)
            await self.wait_for_others(others, start, step.text)
        else:
            leaving = self.present.pop(step.person)
            if step.action == "leaves":
                await leaving.leave()
            else:
                leaving.vanish()
            await leaving.close()
            await self.wait_for_others(others, start, step.person)  # "... has left"
        return self.new_lines()

    async def wait_for_others(
        self, others: dict[str, Participant], start: dict[str, int], text: str
    ) -> bool:
        """Wait until each of ``others`` has a new line containing ``text``; True if all did."""
        found = await asyncio.gather(
            *(
                participant.wait_until(lambda line: text in line, start=start[name])
                for name, participant in others.items()
            )
        )
        return all(index is not None for index in found)

    def new_lines(self) -> dict[str, list[str]]:
        """The lines each present participant received since the last call."""
        seen = {}
        for name, participant in self.present.items():
            seen[name] = participant.received[self.seen_count.get(name, 0) :]
            self.seen_count[name] = len(participant.received)
        return seen

    async def close(self) -> None:
        """Close every connection still open."""
        for participant in self.present.values():
            await participant.close()


# --- Checking exercises and reading the reference, from a cell --------------------------------


@dataclass
class Checked:
    """What :func:`check` returns: true when every requirement is met, and the result itself.

    Under a cell it shows nothing: the report above it already says everything, and a bare
    ``False`` after a report full of ✘ would only look like a second verdict.
    """

    result: CheckResult

    def __bool__(self) -> bool:
        return self.result.all_met

    def _ipython_display_(self) -> None:
        """Show nothing (IPython calls this instead of printing ``Out: ...``)."""


async def check(exercise: str, path: str | None = None, extras: bool = False) -> Checked:
    """Check an exercise file, as ``python -m chatlib check`` does; true when all is met.

    ``path`` is relative to the course folder (``"solutions/chat_server.py"``); by default
    it is the learner's file in ``exercises/``. The report is a table under the cell, filled
    in as each requirement's result comes in.
    """
    chosen = EXERCISES[exercise]
    program = pipeline.learner_program(chosen, course_folder() / path if path else None)
    return Checked(await pipeline.check(chosen, program, notebook_report(), extras))


async def check_handler(
    exercise: str, handler: Callable[[ServerConnection], Awaitable[None]]
) -> Checked:
    """Check a server handler written in a cell against the exercise's requirements.

    The handler is served in this kernel's event loop, so only server exercises apply, and
    the Ctrl-C requirement (which needs a program of its own) is reported as not checked.
    """
    subject = pipeline.HandlerFunction(handler)
    return Checked(await pipeline.check(EXERCISES[exercise], subject, notebook_report()))


def show_source(thing: Any) -> Any:
    """Show the source code of a chatlib function or class, highlighted, as a cell's result.

    The notebooks read the reference this way instead of copying it: what you see is the
    code that runs.
    """
    from IPython.display import Code

    return Code(inspect.getsource(thing), language="python")
