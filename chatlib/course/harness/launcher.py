"""Run a learner's program as ``python FILE ARGS`` would, but at the checker's addresses.

The checker starts ``python launcher.py FILE ARGS`` (or ``launcher.py -m MODULE ARGS``)
instead of ``python FILE ARGS``. Before the program runs, websockets' public ``serve()`` and
``connect()`` (the asyncio ones, the legacy ones, the threading ones, under every name a
program imports them by) are wrapped as their modules load:

- a server listens on 127.0.0.1, on a free port, whatever host and port it asked for;
- a client connects to the checker's stand-in server, whatever URL it asked for;
- each time, one line goes to the checker over a private loopback connection (never to the
  program's own output): ``serving HOST PORT REAL_PORT PID`` or ``connecting URL``.

So a program that hard-codes ``localhost:8765``, parses ``sys.argv`` its own way or takes no
options at all is checked on what it does, and two checks never compete for a port: not two
learners, not a learner's own server already on 8765, not a grader checking many files.

This file is run by path, not imported as part of chatlib, and uses only the standard
library: websockets is imported by the program itself, when it wants it, from where it
would find it on its own (a ``websockets.py`` next to it still hides the library, as it does
outside the checker). The environment says where to report (:data:`REPORT_TO`) and where a
client goes (:data:`CONNECT_TO`).
"""

import functools
import importlib.abc
import os
import runpy
import socket
import sys

REPORT_TO = "CHATLIB_REPORT_TO"  # "127.0.0.1:PORT": where the checker listens for reports.
CONNECT_TO = "CHATLIB_CONNECT_TO"  # The URL every client of the program is sent to.
SERVE_HOST = "127.0.0.1"  # Loopback only: a program under test is never reachable from outside.
# (Written out, not chatlib.serving.LOOPBACK: this module runs inside the learner's program
# and imports nothing of chatlib, whose serving module would load websockets before the
# program does, and a websockets.py beside the program would no longer hide the library.)


class Reporter:
    """One line per event to the checker, on a connection of its own; silent without one."""

    def __init__(self, address: str | None) -> None:
        self.connection = None
        if address:
            host, port = address.rsplit(":", 1)
            self.connection = socket.create_connection((host, int(port)))

    def say(self, *words: object) -> None:
        if self.connection is not None:
            self.connection.sendall((" ".join(map(str, words)) + "\n").encode())


# Only the launcher run as a program reports: chatlib imports this module for its names.
REPORTER = Reporter(os.environ.get(REPORT_TO) if __name__ == "__main__" else None)


def report_serving(asked_host, asked_port, sockets) -> None:
    """Tell the checker where a server asked to listen, where it really listens, and which
    process serves.

    The process id is the one the checker must measure (memory): on Windows a venv's
    ``python.exe`` is a launcher that starts the real interpreter as a child, so the process
    the checker started is not the one running the program; only the program knows its own.
    """
    real_port = next(iter(sockets)).getsockname()[1]
    asked_port = "-" if asked_port is None else asked_port
    REPORTER.say("serving", asked_host or "-", asked_port, real_port, os.getpid())


def redirected_url(asked: str) -> str:
    """The URL a client really connects to: the checker's stand-in, when it set one."""
    REPORTER.say("connecting", asked)
    return os.environ.get(CONNECT_TO) or asked


# --- The wrappers, one per flavour of serve() and connect() ----------------------------------


def wrap_asyncio_serve(original):
    """websockets.asyncio.server.serve: a function returning a Server to await or enter."""

    @functools.wraps(original)
    def serve(handler, host=None, port=None, **options):
        if "sock" in options:
            return original(handler, host, port, **options)
        server = original(handler, SERVE_HOST, 0, **options)
        create_server = server.create_server

        async def create_and_report():
            created = await create_server()
            report_serving(host, port, created.sockets)
            return created

        server.create_server = create_and_report
        return server

    return serve


def wrap_legacy_serve(original):
    """websockets.legacy.server.Serve (alias serve): a class to await or enter."""

    class Serve(original):
        def __init__(self, handler, host=None, port=None, *args, **options):
            self.asked = (host, port)
            if "sock" in options:
                super().__init__(handler, host, port, *args, **options)
            else:
                super().__init__(handler, SERVE_HOST, 0, *args, **options)

        async def __await_impl__(self):
            server = await super().__await_impl__()
            report_serving(*self.asked, server.sockets)
            return server

    Serve.__name__ = Serve.__qualname__ = original.__name__
    return Serve


def wrap_sync_serve(original):
    """websockets.sync.server.serve: a function returning a running Server."""

    @functools.wraps(original)
    def serve(handler, host=None, port=None, **options):
        if "sock" in options:
            return original(handler, host, port, **options)
        server = original(handler, SERVE_HOST, 0, **options)
        report_serving(host, port, [server.socket])
        return server

    return serve


def wrap_connect_class(original):
    """websockets.asyncio.client.connect and websockets.legacy.client.Connect: classes."""

    class Connect(original):
        def __init__(self, uri, *args, **options):
            super().__init__(redirected_url(uri), *args, **options)

    Connect.__name__ = Connect.__qualname__ = original.__name__
    return Connect


def wrap_connect_function(original):
    """websockets.sync.client.connect: a function."""

    @functools.wraps(original)
    def connect(uri, *args, **options):
        return original(redirected_url(uri), *args, **options)

    return connect


def patch(*names_and_wrappers):
    """A patcher that replaces the module's attributes ``names`` with their wrapped versions.

    Names that refer to the same object (``serve = Serve``) get the same wrapped object.
    """

    def patch_module(module) -> None:
        done = {}
        for name, wrapper in names_and_wrappers:
            original = getattr(module, name, None)
            if original is None:
                continue
            if id(original) not in done:
                done[id(original)] = wrapper(original)
            setattr(module, name, done[id(original)])

    return patch_module


PATCHES = {
    "websockets.asyncio.server": patch(("serve", wrap_asyncio_serve)),
    "websockets.asyncio.client": patch(("connect", wrap_connect_class)),
    "websockets.legacy.server": patch(("Serve", wrap_legacy_serve), ("serve", wrap_legacy_serve)),
    "websockets.legacy.client": patch(
        ("Connect", wrap_connect_class), ("connect", wrap_connect_class)
    ),
    "websockets.sync.server": patch(("serve", wrap_sync_serve)),
    "websockets.sync.client": patch(("connect", wrap_connect_function)),
}


class PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds the modules of :data:`PATCHES` as usual, and patches each one as it loads.

    Every other name (``websockets`` itself, so a file of that name still hides the library)
    is left to the usual finders.
    """

    def find_spec(self, name, path, target=None):
        if name not in PATCHES:
            return None
        others = [finder for finder in sys.meta_path if finder is not self]
        for finder in others:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            PATCHES[name](module)

        spec.loader.exec_module = exec_and_patch
        return spec


def run(arguments: list[str]) -> None:
    """Run ``FILE ARGS`` or ``-m MODULE ARGS`` as Python would, as ``__main__``."""
    sys.meta_path.insert(0, PatchAfterImport())
    if arguments[0] == "-m":
        sys.argv = arguments[1:]
        sys.path[0] = os.getcwd()
        runpy.run_module(arguments[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = arguments
        # Python puts the script's folder first on the path; this launcher's is not wanted.
        sys.path[0] = os.path.dirname(os.path.abspath(arguments[0]))
        runpy.run_path(arguments[0], run_name="__main__")


if __name__ == "__main__":
    run(sys.argv[1:])
