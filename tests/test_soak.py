"""Soak: a few hundred clients join, talk and leave at random; nothing is lost or repeated.

For about 30 seconds (``CHATLIB_SOAK_SECONDS=300 pytest tests/test_soak.py -s`` runs a longer
soak; ``CHATLIB_SOAK_SEED`` replays a run's random choices) clients arrive about ten per
second, each talks at random intervals for 1 to 10 seconds and leaves: most close the
connection properly, about a third simply drop it, and a few drop it before even choosing a
name. Then every client still there says a last word, and the test checks:

- no handler error, warning or traceback in the server's log, and one line for every
  arrival and departure, with the right reason ("closed" or "connection reset");
- the room's member list, as a newcomer is welcomed, equals the clients still connected;
- every message reached every member who was present when the server relayed it, exactly
  once and in the sender's order.

"Present when the server relayed it" is what one member, the Observer, sees: it joins first,
never talks and never leaves, so its stream is the server's own order of arrivals, messages
and departures. Every other member must receive exactly the part of that stream between
its own arrival and its departure (its own lines aside). A member that leaves cannot read
what was relayed after it decided to go, so for it the received lines must be a *prefix*
of that part: nothing missing in the middle, nothing twice, nothing out of order.
"""

import asyncio
import os
import random
import re
import signal
import time
from dataclasses import dataclass, field

import pytest
from chat_harness import TIMEOUT, receive
from conftest import ServerProcess
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

SOAK_SECONDS = float(os.environ.get("CHATLIB_SOAK_SECONDS", "30"))
SEED = int(os.environ.get("CHATLIB_SOAK_SEED", str(time.time_ns() % 1_000_000)))
ARRIVALS_PER_SECOND = 10
LIFETIME = (1.0, 10.0)  # seconds a client stays, uniformly at random
TALK_INTERVAL = 1.5  # mean seconds between two messages of one client (flood limit: 0.1)
SETTLE_TIMEOUT = 10  # seconds for the room to settle once everybody stopped talking

CHAT_LINE = re.compile(r"\[(?P<sender>[^\]]+)\]: (?P=sender)#(?P<number>\d+|last)\b")
WORDS = ["hello", "ça va", "李雷", "🙂", "[Server]: fake", "ok", "so", "Zoë", "…"]


@dataclass(eq=False)
class Client:
    """One simulated person, and everything it sent and received."""

    name: str
    websocket: ClientConnection | None = None
    sent: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    how_it_left: str | None = None  # "closed", "dropped", or None while still here

    async def read(self) -> None:
        """Keep every line in order, until the connection ends."""
        try:
            async for line in self.websocket:
                self.received.append(line)
                self.arrived.set()
        except ConnectionClosed:
            pass

    async def until(self, missing, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait until ``missing()`` is empty, checking again on every line received."""
        try:
            async with asyncio.timeout(timeout):
                while missing():
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            lost = missing()
            raise AssertionError(
                f"{self.name} waited {timeout} s for {len(lost)} more lines: {lost[:5]!r}..."
                f" (seed {SEED})"
            ) from None


class Soak:
    """Clients arriving, talking and leaving at random around one chat server."""

    def __init__(self, url: str, rng: random.Random) -> None:
        self.url = url
        self.rng = rng
        self.members: list[Client] = []  # Every client that got its welcome.
        self.lurkers = 0  # Clients that dropped the connection before choosing a name.
        self.ending = asyncio.Event()
        self.lives: list[asyncio.Task] = []
        self.readers: list[asyncio.Task] = []

    async def run(self, seconds: float) -> None:
        """Let clients arrive for ``seconds``; then the ones still here say their last word."""
        self.observer = await self.join("Observer")
        started = time.monotonic()
        number = 0
        while time.monotonic() - started < seconds:
            await asyncio.sleep(self.rng.expovariate(ARRIVALS_PER_SECOND))
            number += 1
            self.lives.append(asyncio.create_task(self.live(f"c{number}")))
        self.ending.set()
        async with asyncio.timeout(SETTLE_TIMEOUT):
            await asyncio.gather(*self.lives)

    async def join(self, name: str) -> Client:
        client = Client(name)
        client.websocket = await connect(self.url, open_timeout=TIMEOUT)
        await client.websocket.send(name)
        welcome = await receive(client.websocket, TIMEOUT, who=name)
        assert welcome.startswith(f"[Server]: Welcome, {name}!"), welcome
        self.members.append(client)
        self.readers.append(asyncio.create_task(client.read()))
        return client

    async def live(self, name: str) -> None:
        """One client's life: join, talk now and then, leave (or stay, if the soak ends)."""
        rng = self.rng
        if rng.random() < 0.05:
            websocket = await connect(self.url, open_timeout=TIMEOUT)
            websocket.transport.abort()
            self.lurkers += 1
            return
        leaves_at = time.monotonic() + rng.uniform(*LIFETIME)
        drops = rng.random() < 0.3
        client = await self.join(name)
        while True:
            next_message_at = time.monotonic() + rng.expovariate(1 / TALK_INTERVAL)
            wait = min(next_message_at, leaves_at) - time.monotonic()
            try:
                async with asyncio.timeout(max(wait, 0)):
                    await self.ending.wait()
            except TimeoutError:
                pass
            if self.ending.is_set():
                await self.say(client, f"{name}#last")
                return
            if time.monotonic() >= leaves_at:
                break
            await self.say(client, f"{name}#{len(client.sent)} {rng.choice(WORDS)}")
        if drops:
            client.how_it_left = "dropped"
            client.websocket.transport.abort()
        else:
            client.how_it_left = "closed"
            await client.websocket.close()

    async def say(self, client: Client, text: str) -> None:
        client.sent.append(text)
        await client.websocket.send(text)


def part_for(member: Client, stream: list[str]) -> list[str]:
    """The part of the Observer's stream that ``member`` must receive, in that order."""
    start = stream.index(f"[Server]: {member.name} has joined the chat.") + 1
    departure = f"[Server]: {member.name} has left the chat."
    end = stream.index(departure) if departure in stream else len(stream)
    return [line for line in stream[start:end] if not line.startswith(f"[{member.name}]: ")]


@pytest.mark.slow  # Half a minute at least, by nature: make test-slow and CI run it.
@pytest.mark.timeout(SOAK_SECONDS + 90)
async def test_soak_nothing_lost_or_repeated_and_the_member_list_is_right(start_server_process):
    rng = random.Random(SEED)
    print(f"\nsoak: {SOAK_SECONDS:g} s, seed {SEED} (CHATLIB_SOAK_SEED={SEED} replays its choices)")
    server = await start_server_process("chat-server")
    soak = Soak(server.url, rng)
    try:
        await soak.run(SOAK_SECONDS)
        await check_soak(soak, server)
    finally:
        for task in soak.lives:
            task.cancel()
        for member in soak.members:
            member.websocket.transport.abort()


async def check_soak(soak: Soak, server: ServerProcess) -> None:
    observer = soak.observer
    clients = soak.members[1:]
    stayed = [client for client in clients if client.how_it_left is None]
    left = [client for client in clients if client.how_it_left is not None]

    # The room settles: the Observer has seen every departure and every last word.
    expected_ends = [f"[Server]: {client.name} has left the chat." for client in left]
    expected_ends += [f"[{client.name}]: {client.name}#last" for client in stayed]
    await observer.until(lambda: sorted(set(expected_ends) - set(observer.received)))
    stream = list(observer.received)

    # Each sender's messages reached the server in its order, each once: all of them for a
    # client that closed properly or stayed, a first part of them for one that dropped.
    relayed: dict[str, list[str]] = {client.name: [] for client in clients}
    for line in stream:
        if (match := CHAT_LINE.match(line)) is not None:
            relayed[match["sender"]].append(line.split(": ", 1)[1])
    for client in clients:
        if client.how_it_left == "dropped":
            assert relayed[client.name] == client.sent[: len(relayed[client.name])], client.name
        else:
            assert relayed[client.name] == client.sent, client.name

    # Every member received its part of the stream: all of it if it stayed, a prefix if it left.
    deliveries = 0
    for member in stayed:
        expected = part_for(member, stream)
        await member.until(lambda m=member, e=expected: e[len(m.received) :])
        assert member.received == expected, f"{member.name} (seed {SEED})"
    for member in left:
        expected = part_for(member, stream)
        assert member.received == expected[: len(member.received)], f"{member.name} (seed {SEED})"
    for member in soak.members:
        deliveries += sum(1 for line in member.received if CHAT_LINE.match(line))

    # The member list, as a newcomer is welcomed, is exactly the clients still connected.
    joined_order = [line.split()[1] for line in stream if line.endswith(" has joined the chat.")]
    still_here = ["Observer", *(name for name in joined_order if name in {c.name for c in stayed})]
    newcomer = await connect(server.url, open_timeout=TIMEOUT)
    await newcomer.send("Newcomer")
    welcome = await receive(newcomer, TIMEOUT, who="Newcomer")
    assert welcome == f"[Server]: Welcome, Newcomer! Here now: {', '.join(still_here)}."
    await newcomer.close()

    # The log: one line per arrival and departure, with its reason, and nothing else.
    for member in [*stayed, observer]:
        await member.websocket.close()
    ended = await server.stop(signal.SIGTERM)
    log = ended.stderr
    assert ended.returncode == 0, log
    for bad in ("Traceback", " ERROR ", " WARNING ", "connection handler failed"):
        assert bad not in log, log
    for client in left:
        reason = "closed" if client.how_it_left == "closed" else "connection reset"
        assert f" {client.name} left the chat ({reason};" in log, client.name
    assert log.count(" joined the chat (") == len(soak.members) + 1  # With the Newcomer.
    assert log.count(" left the chat (") == len(soak.members) + 1
    assert log.count("A client left before choosing a name") == soak.lurkers

    messages = sum(len(client.sent) for client in clients)
    print(
        f"soak: {len(clients) + soak.lurkers} clients ({len(left)} left: "
        f"{sum(c.how_it_left == 'dropped' for c in left)} dropped the connection;"
        f" {soak.lurkers} dropped it before choosing a name; {len(stayed)} stayed),"
        f" {messages} messages, {deliveries} deliveries checked"
    )
