"""Whole programs that go wrong in a way no one-line mutant of a solution shows.

Used wherever a class of learners is made up for grading (tests/test_tooling.py,
tests/test_grading.py, grading/benchmark.py).
"""

# Listens and says where, then blocks its event loop in every handler: every check waits for
# it in vain, so the file costs the grader its whole time limit.
HANGING_SERVER = '''"""Prints where it listens, then blocks its event loop in every handler."""
import argparse, asyncio, time
from websockets.asyncio.server import serve

async def handler(websocket):
    time.sleep(1000)

async def main(host, port):
    async with serve(handler, host, port) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"Chat server listening on ws://{host}:{port}", flush=True)
        await asyncio.Future()

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="localhost")
parser.add_argument("--port", type=int, default=8765)
args = parser.parse_args()
asyncio.run(main(args.host, args.port))
'''
