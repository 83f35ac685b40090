"""The harness: run programs and stand-in peers, and wait for what they do, within a limit.

- :class:`RunningProgram`: a subprocess whose output is collected as it arrives;
  :func:`start_server_program` starts a server and waits for the ``ws://`` line it prints;
  :func:`start_launched_server` runs a learner's server under :mod:`.launcher`, which makes
  it listen on a free port of 127.0.0.1 whatever it asks for, and waits until it serves;
- :class:`ScriptedServer`: a stand-in server that records what a client sends;
- :class:`Changes`: the one way everything here waits, woken by each change, bounded.

The checker, the grader, the notebook helpers, Redis and the tests all run programs
through it (:meth:`RunningProgram.start`, the one way to start one). It knows
nothing of exercises or requirements: those live in :mod:`chatlib.course.checks`, which uses it.
"""

from chatlib.course.harness.programs import (
    EXIT_LIMIT,
    STARTUP_LIMIT,
    Output,
    ProgramNotReady,
    RecentLines,
    RunningProgram,
    on_windows,
    start_launched_server,
    start_server_program,
)
from chatlib.course.harness.scripted import ScriptedServer
from chatlib.course.harness.waiting import Changes

__all__ = [
    "EXIT_LIMIT",
    "STARTUP_LIMIT",
    "Changes",
    "Output",
    "ProgramNotReady",
    "RecentLines",
    "RunningProgram",
    "ScriptedServer",
    "on_windows",
    "start_launched_server",
    "start_server_program",
]
