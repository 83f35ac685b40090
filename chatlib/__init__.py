"""chatlib: the reference programs of a one-day WebSockets course.

Start here: ``README.md`` in this folder lists the programs of the lesson in the order the
course uses them (echo, uppercase, broadcast, chat server and client, fan-out, shared room)
and what they are built from. None of them uses :mod:`chatlib.course`, the course's
machinery (the checker, the notebook helpers, the command line, grading and the benchmark).
Run ``python -m chatlib --help`` to see the command lines.
"""

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8765
DEFAULT_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}"
# Seconds after which a silent server of a shared room counts as gone (chatlib.shared_room).
# It lives here, not there, so the command line can show it without loading the Redis client.
DEFAULT_REDIS_EXPIRY = 6.0

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DEFAULT_REDIS_EXPIRY", "DEFAULT_URL"]
