"""Run the whole suite several times with one core kept busy, and report every failure.

    python tests/stress.py --rounds 5 [-- PYTEST_OPTIONS...]     (or: make stress ROUNDS=5)

A test that passes on a quiet machine and fails on a loaded one waits for time instead of for
the event it needs. To find such tests, this script starts a CPU hog (a process that spins
forever: one core fully taken), runs pytest ROUNDS times, and prints, after each round, the
id of every test that failed or errored. At the end: rounds passed and failed, and each
failing test id with the number of rounds it failed in. The hog is killed at the end,
whatever happened (Ctrl-C included). Exit status 0 only when every round passed.

``--own-network`` runs each round in a network namespace of its own (Linux, as root: it uses
``unshare --net``), with a loopback of its own: on a machine where someone else's chat server
holds the course's default port 8765 (which the client check's "without --url" requirement
needs), it cannot turn that requirement into "not checked", and this suite cannot disturb
their servers. CI's machine runs nothing else: it needs none.
"""

import argparse
import collections
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# pytest's short summary (-rfE): "FAILED tests/test_x.py::test_y[param] - message".
SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) (\S+)")
# The hog spins in pure Python: one core at 100 % for as long as it lives.
HOG = "while True: pass"
# The command's prefix that gives it a network namespace with only a loopback, brought up.
OWN_NETWORK = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def run_round(
    number: int, pytest_options: list[str], log_dir: Path, prefix: list[str]
) -> tuple[list[str], str]:
    """Run the suite once; the ids that failed or errored, and pytest's last line."""
    log = log_dir / f"round-{number}.log"
    command = [*prefix, sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"]
    with log.open("w") as output:
        finished = subprocess.run(
            [*command, *pytest_options], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    lines = log.read_text(errors="replace").splitlines()
    failed = sorted(
        {f"{match[1]} {match[2]}" for line in lines if (match := SUMMARY_LINE.match(line))}
    )
    last = lines[-1].strip("= ") if lines else "(pytest printed nothing)"
    if finished.returncode not in (0, 1) or (finished.returncode == 1 and not failed):
        # An interrupted or crashed run (a worker died, a collection error): no ids to show.
        failed.append(f"CRASHED pytest exited with {finished.returncode}, see {log}")
    return failed, last


def interrupt(signal_number: int, frame: object) -> None:
    """SIGTERM, and SIGINT where a shell started us in the background: stop as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    """Parse the options, run the rounds next to the hog, print the summary."""
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, interrupt)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="times the suite runs (default 5)")
    parser.add_argument(
        "--logs", type=Path, default=ROOT / ".stress", help="where each round's output goes"
    )
    parser.add_argument(
        "--own-network", action="store_true", help="each round in a network namespace (root)"
    )
    parser.add_argument("pytest_options", nargs="*", help="passed on to pytest, after --")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be 1 or more")
    prefix = OWN_NETWORK if args.own_network else []
    if prefix and subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        parser.error("--own-network needs unshare and ip (util-linux, iproute2) and root")
    args.logs.mkdir(parents=True, exist_ok=True)

    counts: collections.Counter[str] = collections.Counter()
    passed = ran = 0
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    print(f"CPU hog running (pid {hog.pid}); {args.rounds} rounds; logs in {args.logs}/")
    try:
        for number in range(1, args.rounds + 1):
            started = time.monotonic()
            failed, last = run_round(number, args.pytest_options, args.logs, prefix)
            seconds = time.monotonic() - started
            verdict = "passed" if not failed else f"{len(failed)} failed"
            print(f"round {number}/{args.rounds}: {verdict} in {seconds:.0f} s ({last})")
            for test_id in failed:
                print(f"    {test_id}")
            counts.update(failed)
            passed += not failed
            ran += 1
    except KeyboardInterrupt:
        print("interrupted")
    finally:
        hog.kill()
        hog.wait()
    return summary(passed, ran, args.rounds, counts)


def summary(passed: int, ran: int, rounds: int, counts: collections.Counter[str]) -> int:
    """Print the rounds passed and failed and each failing id with its count; exit status."""
    print(f"\nstress summary: {passed}/{ran} rounds passed, {ran - passed} failed", end="")
    print(f" ({rounds - ran} not run: interrupted)" if ran < rounds else "")
    for test_id, count in counts.most_common():
        print(f"    {count}x {test_id}")
    return 0 if passed == ran == rounds else 1


if __name__ == "__main__":
    sys.exit(main())
