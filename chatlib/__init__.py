"""chatlib: the reference programs of a one-day WebSockets course.

Each module is one program you can import or run:

- ``chatlib.echo``: an echo server and client (the first contact with WebSockets);
- ``chatlib.uppercase``: the quick exercise, answered;
- ``chatlib.broadcast``: a room that relays every message to everyone;
- ``chatlib.chat_server`` and ``chatlib.chat_client``: the assignment, answered in full;
- ``chatlib.checks``: the requirements of the exercises, as checks you can run.

Run ``python -m chatlib --help`` to see the programs' command lines.
"""

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8765
DEFAULT_URL = f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}"
# Seconds after which a silent server of a shared room counts as gone (chatlib.shared_room).
# It lives here, not there, so the command line can show it without loading the Redis client.
DEFAULT_REDIS_EXPIRY = 6.0

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DEFAULT_REDIS_EXPIRY", "DEFAULT_URL"]
