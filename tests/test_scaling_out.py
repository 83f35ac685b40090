"""One chat room across two server processes, joined through a real Redis (issue 7).

Each test starts its own ``redis-server`` on a free port (``tests/redis_server.py``) and
``python -m chatlib chat-server --redis URL`` processes, then talks to them with real
WebSocket clients. ``--redis-expiry 1`` makes a crashed server count as gone after one
second instead of six, so the tests stay quick. No test sleeps to synchronise: each waits,
with a timeout, for a line a client receives or a line a server logs.
"""

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from chat_harness import join, relays_still
from conftest import ServerProcess, chatlib_command
from redis_server import redis_server  # noqa: F401 (a fixture)
from websockets.asyncio.client import connect

from chatlib.chat_server import ChatServer
from chatlib.course.checks import EXERCISES
from chatlib.course.checks.core import Requirement, run_requirement
from chatlib.course.checks.servers import ServerUnderTest, running_server
from chatlib.serving import BackgroundServer, free_port
from chatlib.shared_room import CHANNEL, LINK_BACK, LINK_LOST, SharedRoom

EXPIRY = 1.0  # seconds: --redis-expiry of every server here
# A killed server's members are announced gone after EXPIRY, at the survivor's next check
# (every EXPIRY / 3): allow that and a margin for a busy machine.
GONE_WITHIN = EXPIRY + 2.0


def shared_server_command(redis_url: str) -> list[str]:
    """The command line of a chat server sharing its room through ``redis_url``."""
    return chatlib_command("chat-server", "--redis", redis_url, "--redis-expiry", str(EXPIRY))


@pytest.fixture
def shared_server(start_server_process, redis_server):  # noqa: F811 (a fixture)
    """Start ``python -m chatlib chat-server --redis URL`` processes; their logs are read."""

    async def start() -> ServerProcess:
        return await start_server_process(
            "chat-server", "--redis", redis_server.url, "--redis-expiry", str(EXPIRY)
        )

    return start


# --- A load balancer, for the spec's checks -----------------------------------------------------


class RoundRobinBalancer:
    """A TCP load balancer in a few lines: each new connection goes to the next server in turn.

    The spec's checks connect Alice, Bob and Carol to one URL; behind this one, Alice and
    Carol land on the first server and Bob on the second, as behind a real load balancer.
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.connections = 0
        self.transports: list[asyncio.BaseTransport] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; return the ws:// URL to give clients."""
        self.server = await asyncio.start_server(self.forward, "127.0.0.1", 0)
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.ports[self.connections % len(self.ports)]
        self.connections += 1
        self.transports.append(writer.transport)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.transport.abort()
            return
        self.transports.append(upstream_writer.transport)
        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))

    async def stop(self) -> None:
        for transport in self.transports:
            transport.abort()
        if self.server is not None:
            self.server.close()
            async with asyncio.timeout(5):
                await self.server.wait_closed()


async def copy(source: asyncio.StreamReader, destination: asyncio.StreamWriter) -> None:
    """Copy bytes one way until the source closes (or resets), then close the destination."""
    with contextlib.suppress(OSError):
        while data := await source.read(65536):
            destination.write(data)
            await destination.drain()
    destination.close()


class PairUnderTest(ServerUnderTest):
    """Two chat servers behind one balancer, as the checks see them: one URL."""

    def __init__(self, url: str, first: ServerUnderTest, second: ServerUnderTest) -> None:
        super().__init__(url, None)
        self.pair = (first, second)

    def diagnosis(self) -> str:
        return "\n".join(filter(None, (server.diagnosis() for server in self.pair)))


@contextlib.asynccontextmanager
async def two_servers_behind_a_balancer(
    redis_url: str, requirement: Requirement
) -> AsyncIterator[ServerUnderTest]:
    """Start two servers on one Redis; yield the balancer (or, for Ctrl-C, the first one)."""
    command = shared_server_command(redis_url)
    async with running_server(command, None) as first, running_server(command, None) as second:
        if requirement.key == "stops_cleanly_on_ctrl_c":
            # Ctrl-C goes to one process: the first one, while the second shares its room.
            yield first
            return
        ports = [int(server.url.rsplit(":", 1)[1]) for server in (first, second)]
        balancer = RoundRobinBalancer(ports)
        try:
            yield PairUnderTest(await balancer.start(), first, second)
        finally:
            await balancer.stop()


@pytest.mark.parametrize(
    "requirement", EXERCISES["chat_server"].requirements, ids=lambda requirement: requirement.key
)
async def test_every_rule_of_the_spec_holds_across_two_processes(redis_server, requirement):  # noqa: F811
    outcome = await run_requirement(
        requirement, lambda: two_servers_behind_a_balancer(redis_server.url, requirement)
    )
    if outcome.met is None:  # e.g. memory: two processes are not one program to measure.
        pytest.skip(f"{requirement.summary}: not checked here ({outcome.detail})")
    assert outcome.met, f"{requirement.summary}:\n{outcome.detail}"


# --- Names, arrivals and departures across processes ------------------------------------------


async def test_two_clients_claiming_one_name_at_once_on_two_processes_get_it_once(
    shared_server,
):
    first, second = await shared_server(), await shared_server()
    clients = [await connect(server.url) for server in (first, second)]
    try:
        await asyncio.gather(*(client.send("Dora") for client in clients))
        answers = [await receive_within(client) for client in clients]
        welcomed = [answer for answer in answers if answer.startswith("[Server]: Welcome, Dora!")]
        refused = [answer for answer in answers if "already taken" in answer]
        assert (len(welcomed), len(refused)) == (1, 1), answers
    finally:
        for client in clients:
            await client.close()


async def test_the_welcome_names_members_on_every_process(shared_server):
    first, second = await shared_server(), await shared_server()
    alice = await join(first.url, "Alice")
    bob = await join(second.url, "Bob", [alice])
    carol_socket = await connect(first.url)
    await carol_socket.send("Carol")
    assert await receive_within(carol_socket) == "[Server]: Welcome, Carol! Here now: Alice, Bob."
    for websocket in (alice.websocket, bob.websocket, carol_socket):
        await websocket.close()


# Who came first, when two names are claimed at once. Redis answers a claim in a round trip,
# and on a busy machine another arrival can be heard in between. These tests make that moment
# last: the server runs in this process, and its one pipe to Redis is held by a command that
# waits (BLPOP) until the test lets it go. Events "from another server" are published by the
# test itself, as another server would publish them.

HELD = "test:outbox-held"  # the list the held command waits on


@contextlib.asynccontextmanager
async def a_server_whose_claims_can_be_held(redis_url: str) -> AsyncIterator[tuple]:
    """A shared-room server on 127.0.0.1 (port 0) in this process; yield (room, url, redis)."""
    room = SharedRoom(redis_url)
    await room.open()
    publisher = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        async with BackgroundServer(ChatServer(room).handler) as server:
            yield room, server.url, publisher
    finally:
        await publisher.aclose()
        await room.close()


async def claiming(room: SharedRoom, url: str, name: str):
    """Connect and send ``name``; return once the server is claiming it (held in the pipe)."""
    websocket = await connect(url)
    await websocket.send(name)
    async with asyncio.timeout(5):
        while name not in room.newcomers:
            await asyncio.sleep(0.01)
    return websocket


@pytest.mark.parametrize("alice_came", ["earlier", "later"])
async def test_an_arrival_heard_while_a_name_is_claimed_is_placed_by_when_it_came(
    redis_server,  # noqa: F811 (a fixture)
    alice_came,
):
    async with a_server_whose_claims_can_be_held(redis_server.url) as (room, url, publisher):
        held = room.command(("BLPOP", HELD, 5), counted=False)
        bob = await claiming(room, url, "Bob")
        # Alice's server read her name a second before, or after, this one read Bob's.
        shift = -1 if alice_came == "earlier" else 1
        alice = {"name": "Alice", "at": room.newcomers["Bob"].arrived_at + shift}
        await publisher.publish(CHANNEL, json.dumps({"from": "another", "event": "join", **alice}))
        async with asyncio.timeout(5):
            while "Alice" not in room.names():
                await asyncio.sleep(0.01)
        await publisher.lpush(HELD, "go")
        await held
        welcome = await receive_within(bob)
        if alice_came == "earlier":
            assert welcome == "[Server]: Welcome, Bob! Here now: Alice."
        else:
            assert welcome == "[Server]: Welcome, Bob! You are the first one here."
            assert await receive_within(bob) == "[Server]: Alice has joined the chat."
        await bob.close()


async def test_two_names_claimed_at_once_on_one_server_hear_of_each_other(redis_server):  # noqa: F811
    async with a_server_whose_claims_can_be_held(redis_server.url) as (room, url, publisher):
        held = room.command(("BLPOP", HELD, 5), counted=False)
        bob = await claiming(room, url, "Bob")
        carol = await claiming(room, url, "Carol")
        await publisher.lpush(HELD, "go")
        await held
        assert await receive_within(bob) == "[Server]: Welcome, Bob! You are the first one here."
        assert await receive_within(bob) == "[Server]: Carol has joined the chat."
        assert await receive_within(carol) == "[Server]: Welcome, Carol! Here now: Bob."
        for websocket in (bob, carol):
            await websocket.close()


async def test_a_line_said_while_a_name_is_claimed_reaches_the_newcomer_after_its_welcome(
    redis_server,  # noqa: F811 (a fixture)
):
    async with a_server_whose_claims_can_be_held(redis_server.url) as (room, url, publisher):
        alice = await join(url, "Alice")
        held = room.command(("BLPOP", HELD, 5), counted=False)
        bob = await claiming(room, url, "Bob")
        await alice.say("Anyone new?")
        # The server answers a ping once it has read what came before it; it runs in this
        # process, so by the time the pong is back its room has the line, and Bob's name is
        # still held on its way to Redis.
        await (await alice.websocket.ping())
        await publisher.lpush(HELD, "go")
        await held
        assert await receive_within(bob) == "[Server]: Welcome, Bob! Here now: Alice."
        assert await receive_within(bob) == "[Alice]: Anyone new?"
        for websocket in (alice.websocket, bob):
            await websocket.close()


async def test_a_stopped_servers_members_are_announced_gone_on_the_other_at_once(
    shared_server,
):
    first, second = await shared_server(), await shared_server()
    alice = await join(first.url, "Alice")
    bob = await join(second.url, "Bob", [alice])
    await first.stop(signal.SIGTERM)
    # Well within EXPIRY: the departure is published on the way out, not guessed later.
    assert await bob.next_line(timeout=EXPIRY / 2) == "[Server]: Alice has left the chat."
    await bob.websocket.close()


async def test_a_killed_servers_members_are_announced_gone_and_their_names_come_free(
    shared_server,
):
    first, second = await shared_server(), await shared_server()
    alice = await join(first.url, "Alice")
    bob = await join(second.url, "Bob", [alice])
    first.program.process.kill()  # No goodbye: as a crash, or a machine unplugged.
    assert await bob.next_line(timeout=GONE_WITHIN) == "[Server]: Alice has left the chat."
    await second.log_line("counting it as gone (1 member(s): Alice)")
    new_alice = await join(second.url, "Alice", [bob])
    await relays_still(bob, new_alice)
    for member in (bob, new_alice):
        await member.websocket.close()


# --- Redis going away --------------------------------------------------------------------------


async def test_redis_restarting_mid_chat_gives_a_notice_then_the_room_is_whole_again(
    shared_server,
    redis_server,  # noqa: F811 (a fixture)
):
    first, second = await shared_server(), await shared_server()
    alice = await join(first.url, "Alice")
    bob = await join(second.url, "Bob", [alice])
    carol = await join(second.url, "Carol", [alice, bob])

    await redis_server.stop()
    for member in (alice, bob, carol):
        assert await member.next_line() == f"[Server]: {LINK_LOST}"
    for server in (first, second):
        await server.log_line("attempt 1 failed")
    await relays_still(bob, carol, text="the local room keeps working")

    await redis_server.start()
    for member in (alice, bob, carol):
        assert await member.next_line(timeout=GONE_WITHIN) == f"[Server]: {LINK_BACK}"
    await relays_still(alice, bob, carol, text="together again")
    # The restarted Redis had forgotten every name: each server reserved its own again.
    impostor = await connect(first.url)
    await impostor.send("carol")
    assert "already taken" in await receive_within(impostor)
    for websocket in (alice.websocket, bob.websocket, carol.websocket, impostor):
        await websocket.close()


async def test_a_redis_that_goes_silent_is_noticed_within_the_expiry(shared_server, redis_server):  # noqa: F811
    if not redis_server.program.can_be_paused():
        pytest.skip("this system cannot pause a program (no SIGSTOP)")
    server = await shared_server()
    alice = await join(server.url, "Alice")
    with redis_server.program.paused():  # Connections stay open; nothing answers.
        assert await alice.next_line(timeout=GONE_WITHIN) == f"[Server]: {LINK_LOST}"
        await server.log_line("not even our own events came back")
    assert await alice.next_line(timeout=GONE_WITHIN) == f"[Server]: {LINK_BACK}"
    await alice.websocket.close()


async def test_unreachable_redis_at_start_up_is_one_line_and_exit_status_1():
    url = f"redis://127.0.0.1:{free_port()}/0"
    process = await asyncio.create_subprocess_exec(
        *chatlib_command("chat-server", "--port", "0", "--redis", url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(10):
        stdout, stderr = await process.communicate()
    assert process.returncode == 1
    assert stdout == b"", "it must not say it listens"
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Cannot start the chat server: Redis at {url} is unreachable")
    assert "leave out --redis" in lines[0]


async def receive_within(websocket, timeout: float = 2.0) -> str:
    """The next message, or a failed test after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await websocket.recv()
    except TimeoutError:
        pytest.fail(f"nothing received within {timeout} s")
