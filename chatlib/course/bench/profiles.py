"""Where a benchmark server spends its time: ``python -m chatlib.course.bench --profile FOLDER``.

With ``--profile``, each server runs under the standard library's profiler (``python -m
cProfile -o FILE -m chatlib.course.bench.variants ...``) and is stopped with SIGTERM, so that it
writes its profile on the way out. :func:`busiest` then reads a profile back and lists the
functions that took most of the server's own time, as shares of its busy time (the time
spent waiting in ``epoll`` for something to do is left out).

cProfile times every Python call, which makes Python code look slower than it is next to a
system call: read the shares as "at least this much in the kernel", not as exact figures.
"""

import pstats
from pathlib import Path

# The event loop's wait for events (``<method 'poll' of 'select.epoll' objects>``): time
# the server was idle, not working.
IDLE = "of 'select.epoll' objects"


def label(function: tuple[str, int, str]) -> str:
    """``file:line(function)`` for Python code, the builtin's own name for C code."""
    filename, line, name = function
    if filename == "~":
        return name
    return f"{Path(filename).name}:{line}({name})"


def busiest(path: Path, top: int = 6) -> list[tuple[str, float]]:
    """The ``top`` functions by own time in the profile at ``path``, with their share of the
    busy time (0.0 to 1.0)."""
    stats = pstats.Stats(str(path)).stats  # {function: (calls, primitive, own, cumulative, ...)}
    own = {label(function): figures[2] for function, figures in stats.items()}
    busy = {name: seconds for name, seconds in own.items() if IDLE not in name}
    total = sum(busy.values()) or 1.0
    ranked = sorted(busy.items(), key=lambda item: item[1], reverse=True)[:top]
    return [(name, seconds / total) for name, seconds in ranked]


def report(folder: Path, top: int = 6) -> str:
    """For every profile in ``folder``: its busiest functions, one line each."""
    lines = []
    for path in sorted(folder.glob("*.prof")):
        lines.append(f"{path.stem}: share of the server's busy time, by function (own time)")
        lines += [f"  {share:6.1%}  {name}" for name, share in busiest(path, top)]
    return "\n".join(lines)
