"""Benchmark: grade a class of 30 learners (90 files) from a Canvas-style flat download.

Run it from the repository: ``python grading/benchmark.py [--time-limit S] [--jobs N]``.

The class is a realistic mix: 15 learners hand in the three solutions; 9 hand in one file
with one typical mistake (a mutant from tests/mutants: a forgotten await, a blocked event
loop, a client never forgotten...); 3 hand in a file that crashes (a syntax error, an
exception at start); 2 hand in a chat server that blocks its event loop for ever (every
check waits for it until its own limit); 1 hands in the three starters untouched.

It prints the wall time, the peak memory of the grader and every process it started (the
sum of their resident sizes, sampled every 0.2 s), the grader's summary line, the count of
each status, and whether every total is right (the sum of its columns; full marks exactly
for the finished learners). No figure is asserted: they depend on the machine.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from mutants.catalogue import MUTANTS  # noqa: E402  (the tests' one-mistake solutions)
from mutants.programs import HANGING_SERVER  # noqa: E402

from chatlib.course.checks.catalogue import EXERCISES  # noqa: E402
from chatlib.course.tooling.grading import TIME_LIMIT  # noqa: E402

CRASHES = {
    "chat_server": 'print("never closed"\n',
    "chat_client": 'raise RuntimeError("forgot to finish this")\n',
    "uppercase_server": "import websockets\nwebsockets.serve_forever_please()\n",
}


def source(folder: str, name: str) -> str:
    return (ROOT / folder / f"{name}.py").read_text(encoding="utf-8")


def class_files() -> dict[str, dict[str, str]]:
    """{learner: {exercise: source}}, 30 learners with the three files each."""
    solutions = {name: source("solutions", name) for name in EXERCISES}
    starters = {name: source("chatlib/course/starters", name) for name in EXERCISES}
    learners: dict[str, dict[str, str]] = {}
    for number in range(30):
        files = dict(solutions)
        if 15 <= number < 24:
            wrong = MUTANTS[(number - 15) * 5 % len(MUTANTS)]
            files[wrong.exercise] = wrong.apply(solutions[wrong.exercise])
        elif 24 <= number < 27:
            broken = list(EXERCISES)[number - 24]
            files[broken] = CRASHES[broken]
        elif number in (27, 28):
            files["chat_server"] = HANGING_SERVER
        elif number == 29:
            files = dict(starters)
        learners[f"learner{number:02d}_first_{1000 + number}"] = files
    return learners


def write_download(folder: Path, learners: dict[str, dict[str, str]]) -> int:
    """Write the files as Canvas names them (``NAME_USERID_FILEID_file.py``); how many."""
    count = 0
    for learner, files in learners.items():
        for name, text in files.items():
            count += 1
            (folder / f"{learner}_{50000 + count}_{name}.py").write_text(text, encoding="utf-8")
    return count


def tree_memory(root_pid: int) -> int:
    """The resident memory, in bytes, of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    sizes: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        sizes[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, waiting = 0, [root_pid]
    while waiting:
        pid = waiting.pop()
        total += sizes.get(pid, 0)
        waiting += children.get(pid, [])
    return total


def finishes(files: dict[str, str]) -> bool:
    """True when the learner handed in the three solutions: full marks expected."""
    return all(files[name] == source("solutions", name) for name in EXERCISES)


def wrong_totals(rows: list[dict[str, str]], learners: dict[str, dict[str, str]]) -> list[str]:
    """Each learner whose total is not what their files deserve, in words.

    Full marks for the finished ones, fewer for the others (an untouched starter meets a
    few requirements: it is a runnable skeleton), and every total the sum of its columns.
    """
    most = float(rows[0]["total"])
    wrong = []
    for row in rows[1:]:
        total = float(row["total"])
        columns = sum(float(row[f"{name} points"]) for name in EXERCISES)
        if abs(columns - float(row["points"])) > 0.02 or total != float(row["points"]):
            wrong.append(f"{row['learner']}: {total} is not the sum of its columns")
        elif (total == most) != finishes(learners[row["learner"]]):
            wrong.append(f"{row['learner']}: {total} of {most}")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--keep", metavar="DIR", help="write the class and its gradebook there, and keep them"
    )
    args = parser.parse_args()
    learners = class_files()
    with tempfile.TemporaryDirectory(prefix="chatlib-grading-bench-") as temporary:
        where = Path(args.keep) if args.keep else Path(temporary)
        download, out = where / "download", where / "grades"
        download.mkdir(parents=True)
        files = write_download(download, learners)
        command = [sys.executable, "-m", "chatlib", "grade", str(download), "--out", str(out)]
        command += ["--time-limit", f"{args.time_limit:g}"]
        command += ["--jobs", str(args.jobs)] if args.jobs else []
        print(f"Grading {len(learners)} learners, {files} files, on {os.cpu_count()} processors.")
        started = time.monotonic()
        grader = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.2):
                peak = max(peak, tree_memory(grader.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output, _ = grader.communicate()
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
        summary = output.strip().splitlines()[-1]
        with (out / "grades-wide.csv").open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.DictReader(file))
        wrong = wrong_totals(rows, learners)
        statuses = sorted(row[f"{name} status"] for row in rows[1:] for name in EXERCISES)
        counts = {status: statuses.count(status) for status in dict.fromkeys(statuses)}
    print(summary)
    print(f"Statuses of the {files} files: {counts}")
    print(
        f"Wall time: {elapsed:.1f} s; peak memory (the grader and its processes):"
        f" {peak / 2**20:.0f} MiB"
    )
    print(
        "Totals: as expected for every learner"
        if not wrong
        else "Totals NOT as expected: " + "; ".join(wrong)
    )
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
