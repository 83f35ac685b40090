"""``python -m chatlib check --watch [EXERCISE]``: check again every time the file is saved.

The learner keeps this running in one terminal and edits the exercise in an editor or in
JupyterLab. The file is polled twice a second (its modification time and size, then its
content's hash to be sure), which works alike on Linux, macOS and Windows, on any file
system, and in JupyterLab's terminal. Each time the content changes, the screen is cleared
and a compact report drawn: one line per requirement, and under the first unmet one what
happened and its hint. Once every requirement is met, the watch moves on to the next
exercise of the course.
"""

import asyncio
import contextlib
import os
import sys
from pathlib import Path

from chatlib.course.checks.catalogue import EXERCISES, Exercise, next_exercise
from chatlib.course.checks.memory import content_digest, recall
from chatlib.course.checks.pipeline import Program, check, learner_program, replay
from chatlib.course.checks.renderers import TerminalReport, in_notebook
from chatlib.course.checks.results import CheckResult
from chatlib.course.harness import on_windows
from chatlib.course.tooling.progress import first_unfinished

POLL_INTERVAL = 0.5  # seconds between two looks at the file
NEVER_SEEN = object()


class FileChanges:
    """Tells whether a file's content changed since the last time it was asked.

    It compares the content itself (its hash), not the file's time and size: a save within the
    same second, of a file of the same size, leaves both unchanged on file systems that keep
    times to the second or two (FAT and exFAT on USB sticks, some network shares), and a save
    of the very same content changes the time but nothing to check. An exercise file is a few
    kilobytes: reading it twice a second costs nothing.
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        self._digest: object = NEVER_SEEN

    def changed(self) -> bool:
        """True when the content differs from the last call's (the first call says True)."""
        digest = content_digest(self.file)  # None while the file is missing or being replaced.
        if digest == self._digest:
            return False
        self._digest = digest
        return True

    async def wait(self, interval: float = POLL_INTERVAL) -> None:
        """Return once the content has changed."""
        while not self.changed():
            await asyncio.sleep(interval)


class Screen:
    """Where the reports are drawn: cleared between two reports when it can be.

    A terminal is cleared; a notebook cell's output is replaced; anything else (a pipe, a
    log file) gets a separator line, so the successive reports stay readable.
    """

    def __init__(self) -> None:
        self.in_notebook = in_notebook()
        stop_key = "interrupt the kernel (■)" if self.in_notebook else "Ctrl-C"
        self.how_to_stop = f"{stop_key} to stop"

    def clear(self) -> None:
        """Make room for the next report."""
        if self.in_notebook:
            from IPython.display import clear_output

            clear_output(wait=True)
        elif sys.stdout.isatty():
            if on_windows():
                os.system("cls")  # The console of older Windows ignores escape sequences.
            else:
                print("\x1b[2J\x1b[H", end="", flush=True)  # Clear, and go to the top left.
        else:
            print("\n" + "-" * 72, flush=True)


async def watch(
    exercise_name: str | None = None,
    folder: str | Path | None = None,
    all_hints: bool = False,
    interval: float = POLL_INTERVAL,
    stop_after: float | None = None,
) -> None:
    """Report on an exercise after every save; once it is done, go on with the next one.

    Without ``exercise_name``, it starts at the first exercise that is not done. It runs
    until the last exercise is done, or Ctrl-C. A notebook cell can ``await`` it (the
    kernel's interrupt button stops it). With ``stop_after``, it also stops after that many
    seconds: JupyterLab's *Run All* runs every cell, and must not wait forever on this one.
    """
    try:
        async with asyncio.timeout(stop_after):
            await watch_course(exercise_name, folder, all_hints, interval)
    except TimeoutError:
        print(f"\nStopped watching after {stop_after:g} s (stop_after={stop_after:g}).")
    except asyncio.CancelledError:
        if not in_notebook():
            raise
        # The kernel's interrupt button cancels the cell: that is how a learner stops here.
        print("\nStopped watching.")


async def watch_course(
    exercise_name: str | None, folder: str | Path | None, all_hints: bool, interval: float
) -> None:
    """Watch from ``exercise_name`` (or the first unfinished exercise) to the course's end."""
    start = exercise_name or await first_unfinished(folder)
    if start is None:
        print("Every exercise is done: there is nothing left to watch. Well done!")
        return
    names = list(EXERCISES)
    screen = Screen()
    for position, name in enumerate(names[names.index(start) :]):
        exercise = EXERCISES[name]
        following = next_exercise(exercise)
        after = (
            f"On to the next exercise: {following.title}.\n" if following else exercise.next_step
        )
        # The first report of a later exercise goes under the congratulation, not over it.
        await watch_exercise(exercise, folder, all_hints, interval, screen, position == 0, after)


async def watch_exercise(
    exercise: Exercise,
    folder: str | Path | None,
    all_hints: bool,
    interval: float,
    screen: Screen,
    clear_first: bool,
    next_step: str,
) -> CheckResult:
    """Report on the exercise's file after every change, until every requirement is met."""
    program = learner_program(exercise, folder=folder)
    changes = FileChanges(program.path)
    changes.changed()  # What the file holds now is what the first report is about.
    clear = clear_first
    while True:
        if clear:
            screen.clear()
        clear = True
        print(f"Watching {program.name}: save the file to re-run the checks; {screen.how_to_stop}.")
        report = TerminalReport(watching=True, all_hints=all_hints, next_step=next_step)
        result = recall(exercise, program.path)
        if result is not None:
            replay(exercise, program, result, report)
        else:
            result = await check_unless_changed(exercise, program, report, changes, interval)
            if result is None:
                continue  # Saved again during the check: check the new content at once.
        if result.all_met:
            return result
        await changes.wait(interval)


async def check_unless_changed(
    exercise: Exercise,
    program: Program,
    report: TerminalReport,
    changes: FileChanges,
    interval: float,
) -> CheckResult | None:
    """Check the file; stop early and return ``None`` when it changes in the meantime."""
    checking = asyncio.create_task(check(exercise, program, report))
    try:
        while True:
            done, _ = await asyncio.wait({checking}, timeout=interval)
            if done:
                return checking.result()
            if changes.changed():
                return None
    finally:
        if not checking.done():
            checking.cancel()  # Its programs are stopped as it unwinds.
            with contextlib.suppress(asyncio.CancelledError):
                await checking


def watch_from_command_line(
    exercise_name: str | None, folder: str | None = None, all_hints: bool = False
) -> int:
    """``python -m chatlib check --watch``: watch until done or Ctrl-C; exit status 0."""
    try:
        asyncio.run(watch(exercise_name, folder, all_hints))
    except KeyboardInterrupt:
        print("\nStopped watching. Your file is as you saved it; see you soon!")
    return 0
