"""The three exercises the checker knows, and how to check a program against one of them."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlib.checks.chat_client import CHAT_CLIENT
from chatlib.checks.chat_server import CHAT_SERVER
from chatlib.checks.clients import running_client
from chatlib.checks.core import Outcome, Requirements, run_requirement
from chatlib.checks.servers import running_server
from chatlib.checks.uppercase_server import UPPERCASE_SERVER

Starter = Callable[[list[str], Path | None], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class Exercise:
    """An exercise: its requirements, how to run a program for them, and what comes next."""

    name: str
    title: str
    requirements: Requirements
    start: Starter  # Starts the program under test (and its stand-in peers) for one check.
    next_step: str


EXERCISES = {
    "uppercase_server": Exercise(
        "uppercase_server",
        "the uppercase server (quick exercise)",
        UPPERCASE_SERVER,
        running_server,
        "Next: the assignment. Open exercises/chat_server.py, then run"
        " `python -m chatlib check chat_server`.",
    ),
    "chat_server": Exercise(
        "chat_server",
        "the chat server (the assignment, part 1)",
        CHAT_SERVER,
        running_server,
        "Next: the client. Open exercises/chat_client.py, then run"
        " `python -m chatlib check chat_client`.",
    ),
    "chat_client": Exercise(
        "chat_client",
        "the chat client (the assignment, part 2)",
        CHAT_CLIENT,
        running_client,
        "You have finished the assignment. Start your server, open two terminals, run your"
        " client in each, and chat!",
    ),
}


async def check_program(
    exercise: Exercise,
    command: list[str],
    path: Path | None = None,
    include_extras: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Check the program that ``command`` runs against the exercise's requirements.

    Every requirement gets a fresh copy of the program. ``on_outcome`` is called as each
    result comes in, so a report can be printed while the checks go on. Raises
    :class:`~chatlib.checks.core.ProgramProblem` when the program cannot be checked at all.
    """
    return await check_targets(
        exercise, lambda: exercise.start(command, path), include_extras, on_outcome
    )


async def check_targets(
    exercise: Exercise,
    target_factory: Callable[[], AbstractAsyncContextManager[Any]],
    include_extras: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Check each chosen requirement against a fresh target from ``target_factory()``.

    A requirement whose prerequisite is not met is not run: it would only fail again, after
    waiting for what the prerequisite already showed does not come.
    """
    outcomes: dict[str, Outcome] = {}
    for requirement in exercise.requirements.chosen(include_extras):
        prerequisite = outcomes.get(requirement.needs) if requirement.needs else None
        if prerequisite is not None and prerequisite.met is False:
            summary = prerequisite.requirement.summary
            outcome = Outcome(requirement, False, f'Not checked yet: first, "{summary}".')
        else:
            outcome = await run_requirement(requirement, target_factory)
        on_outcome(outcome)
        outcomes[requirement.key] = outcome
    return list(outcomes.values())
