"""One chat room across several server processes, joined through Redis pub/sub.

One process serves a classroom easily, but it runs on one core. To use every core, or several
machines, you start several chat servers behind one address. A member connected to process A
must then hear a member connected to process B. :class:`SharedRoom` does it with a message
broker, Redis: each process *publishes* every room event once on one Redis channel, and
*subscribes* to that channel to deliver what the others published to its own members.

How it works, in the order a reader meets it:

- **Events.** ``join``, ``leave`` and ``message`` events are small JSON objects carrying the
  process id they come from (``{"from": "host:4242:9f1c", "event": "message", "name":
  "Alice", "text": "hi"}``). A process delivers its own members' events at once, locally, as
  a single-process room does, and ignores its own events when Redis echoes them back: so the
  sender never gets its own line back, and nobody gets a line twice.
- **One ordered pipe.** Every Redis command a process sends (publish, claim a name, release
  one) goes through one queue, :attr:`SharedRoom.outbox`, written by one task in order, on
  one connection. So a member's messages reach the others in the order sent, and a name is
  released before its owner's departure is published: whoever hears "Alice has left" may call
  itself Alice at once.
- **Names.** A name is reserved with ``SET chatlib:name:<name> <process id> NX PX <expiry>``
  (atomic: of two processes claiming "Alice" at once, exactly one wins), in one small Lua
  script that also publishes the arrival. A newcomer counts as here from the moment its name
  arrived: what the room hears while Redis answers is kept and given to it right after its
  welcome, so it misses nothing, as in a single process. Arrivals are ordered by that
  moment, which each join event carries: whoever's name arrived earlier is named in the
  welcome, whoever's arrived later is announced after it. The owner refreshes
  it every ``expiry / 3`` seconds; a crashed process stops refreshing, so its names come free
  on their own. Keys are case-folded, as the room compares names ("alice" clashes with Alice).
- **Who is here.** Each process keeps a copy of who is on the others (:attr:`elsewhere`),
  from their join and leave events, and from a ``present`` event (the full list of a
  process's members) that every process publishes with each refresh. A new process asks for
  everyone's list at once (``roll-call``). The welcome line names local and remote members.
- **A crashed process.** A process that has said nothing, not even ``present``, for
  ``expiry`` seconds counts as gone: each other process announces its members' departures to
  its own members. By then their names have expired too.
- **Redis going away.** The listener notices at once when the connection drops, and within
  ``expiry`` seconds when it goes silent (its own ``present`` events stop coming back). Then
  members get a ``[Server]:`` notice, the local room keeps working (messages reach this
  process's members only), and the listener reconnects with backoff, logging each attempt.
  Once back, it claims its members' names again (a restarted Redis has forgotten them), asks
  for a roll call, and announces the difference: the room is whole again.
- **Bounded.** The outbox holds at most ``outbox_size`` member events; when Redis is too
  slow, newer events are dropped and counted in the log, never queued without end. While the
  link is down, events are not queued at all: a line said then reaches the local room only,
  which is what the notice told the members.

Limits, written down: names are unique as long as Redis keeps its keys; a member joining
while Redis is unreachable is asked to try again in a moment. Who came first is told by the
servers' clocks, which must agree (on one machine they do). A newcomer whose claim reaches
Redis before that of someone who arrived a moment earlier on another server is welcomed
without that name and hears the arrival right after: the welcome has gone out by then. If
one process loses its link for longer than ``expiry`` while others keep theirs, the others
see its members leave and may take their names; when it comes back, a clash is logged (two
members may then share a name until one leaves).
"""

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from websockets.asyncio.server import ServerConnection

from chatlib import DEFAULT_REDIS_EXPIRY
from chatlib.chat_server import (
    ChatLimits,
    ChatRoom,
    ChatServer,
    Member,
    arrival_line,
    chat_line,
    departure_line,
    message_lines,
    name_identity,
    name_problem,
    name_taken_notice,
    run,
    same_name,
    server_line,
)

log = logging.getLogger(__name__)

CHANNEL = "chatlib:room"
NAME_KEY = "chatlib:name:"
DEFAULT_OUTBOX_SIZE = 1000  # member events waiting for Redis
# How long a newcomer's welcome waits for its own arrival to come back from the channel (one
# round trip, normally well under a millisecond). Past it, the welcome goes out anyway and
# an arrival still on its way is announced right after it, as any later arrival is.
ECHO_WAIT = 1.0  # seconds
FIRST_RETRY, LAST_RETRY = 0.2, 5.0  # seconds between reconnection attempts: doubles, capped

# Reserve a name and announce the arrival in one step: KEYS[1] is the name's key; ARGV holds
# the process id, the expiry in ms, the channel and the arrival event.
RESERVE_AND_ANNOUNCE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.call('PUBLISH', ARGV[3], ARGV[4])
    return 1
end
return 0
"""

# Free a name only if this process still holds it: after a long loss of the link, the name
# may have expired and been reserved by another process, whose reservation must stay.
RELEASE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

LINK_LOST = (
    "The link to the other chat servers is lost: for now, your messages reach only the people"
    " on this server. Reconnecting..."
)
LINK_BACK = "The link to the other chat servers is back: the whole room is together again."
TRY_AGAIN = (
    "The chat is reconnecting to its other servers and cannot check names right now."
    " Please send your name again in a few seconds."
)


class RedisUnavailable(Exception):
    """Redis cannot be reached at start-up. The message is one line for the operator."""


def name_key(name: str) -> str:
    """The Redis key that reserves ``name``: the same for every spelling the room confuses."""
    return NAME_KEY + name_identity(name)


@dataclass
class Command:
    """One Redis command waiting in the outbox, and the future of whoever awaits its answer."""

    args: tuple[Any, ...]
    answer: asyncio.Future | None = None
    counted: bool = True  # a member event, which counts against outbox_size


@dataclass(eq=False)  # compared by identity: two lines may read the same
class Heard:
    """A line the room heard while a newcomer's name was being claimed.

    For an arrival, ``arrival`` is who arrived and ``arrived_at`` when that member's server
    read the name (``time.time()``), so the newcomer's welcome can tell who came first.
    """

    line: str
    arrival: str | None = None
    arrived_at: float | None = None


@dataclass
class Newcomer:
    """A name being claimed: when it arrived, whom its welcome will name, what it must not miss."""

    names_seen: list[str]
    # When this server read the name: the wall clock, which the other servers can compare.
    arrived_at: float = field(default_factory=time.time)
    missed: list[Heard] = field(default_factory=list)

    def arrived_earlier(self, heard: Heard, here: Iterable[str]) -> bool:
        """Whether ``heard`` announces someone still here whose name arrived before ours.

        Such a member belongs in the welcome: a single server would have let it in first.
        Whoever arrived later is announced after the welcome, as in a single server.
        """
        return (
            heard.arrival is not None
            and heard.arrival in here
            and heard.arrival not in self.names_seen
            and heard.arrived_at is not None
            and heard.arrived_at < self.arrived_at
        )


@dataclass
class OtherProcess:
    """What this process knows about another one: its members, and when it last spoke."""

    names: dict[str, None] = field(default_factory=dict)  # a dict keeps the joining order
    doubts: set[str] = field(default_factory=set)  # names its last list disagreed about
    last_heard: float = field(default_factory=time.monotonic)


class SharedRoom(ChatRoom):
    """A :class:`ChatRoom` whose members may be connected to any of several processes.

    It extends the room's hooks (:meth:`admit_name` reserves the name in Redis, :meth:`join`,
    :meth:`receive` and :meth:`leave` also tell the other processes), so the one-process
    :class:`~chatlib.chat_server.ChatServer` serves it unchanged.

    Call :meth:`open` before serving (it raises :class:`RedisUnavailable` with one clear line
    when Redis cannot be reached) and :meth:`close` after.
    """

    def __init__(
        self,
        redis_url: str,
        limits: ChatLimits | None = None,
        expiry: float = DEFAULT_REDIS_EXPIRY,
        outbox_size: int = DEFAULT_OUTBOX_SIZE,
    ) -> None:
        super().__init__(limits)
        self.redis_url = redis_url
        self.expiry = expiry
        self.outbox_size = outbox_size
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.elsewhere: dict[str, OtherProcess] = {}
        self.outbox: asyncio.Queue[Command] = asyncio.Queue()
        self.linked = False
        self.dropped = 0  # member events that never reached Redis, since the last report
        self.last_heard_myself = time.monotonic()
        self.latest_claim: asyncio.Future | None = None
        # Names being claimed here: whom each newcomer's welcome names, what it missed.
        self.newcomers: dict[str, Newcomer] = {}
        # Each newcomer's own arrival, until the channel brings it back (see admit_name).
        self.echoes: dict[str, asyncio.Future] = {}
        self.tasks: list[asyncio.Task] = []
        self.client: redis.Redis | None = None

    # --- Starting and stopping -----------------------------------------------------------------

    async def open(self) -> None:
        """Connect to Redis, subscribe, and start the background tasks."""
        try:
            # No automatic retries: this room notices a lost link itself, says so to the
            # members, and reconnects with backoff, logging each attempt.
            self.client = redis.Redis.from_url(
                self.redis_url,
                decode_responses=True,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=3,
                socket_timeout=self.expiry,
            )
            subscription = await self.subscribe()
        except ValueError as error:  # Not a redis:// URL at all.
            raise RedisUnavailable(f"{self.redis_url} is not a Redis URL ({error}).") from None
        except (RedisError, OSError) as error:
            raise RedisUnavailable(
                f"Redis at {self.redis_url} is unreachable ({describe(error)}). Is redis-server"
                " running there? Start it, or leave out --redis to run a single server."
            ) from None
        self.linked = True
        log.info("Sharing the room through Redis at %s as %s.", self.redis_url, self.process_id)
        self.tasks = [
            asyncio.create_task(self.write_outbox()),
            asyncio.create_task(self.keep_listening(subscription)),
            asyncio.create_task(self.keep_refreshing()),
        ]
        self.send(("PUBLISH", CHANNEL, self.event("roll-call")), counted=False)

    async def close(self) -> None:
        """Publish what is still queued, then stop the tasks and disconnect: at most 2.5 s.

        A server asked to stop must stop, even when Redis has gone quiet.
        """
        if self.linked:
            # Every member has left (and said so); the others can forget this process now
            # instead of waiting for it to fall silent.
            self.send(("PUBLISH", CHANNEL, self.event("goodbye")), counted=False)
            done = self.command(("PING",), counted=False)
            try:
                async with asyncio.timeout(1.5):
                    await done
            except (TimeoutError, RedisError, OSError):
                log.warning("Redis did not take the last events within 1.5 s.")
        for task in self.tasks:
            task.cancel()
        try:
            async with asyncio.timeout(1):
                await asyncio.gather(*self.tasks, return_exceptions=True)
                if self.client is not None:
                    await self.client.aclose()
        except TimeoutError:
            log.warning("The connection to Redis did not close within 1 s; leaving it.")

    # --- The room's events, shared --------------------------------------------------------------

    def names(self) -> list[str]:
        """Every member's name: this process's first, then those on the others."""
        remote = (name for other in self.elsewhere.values() for name in other.names)
        return [*self.members, *remote]

    async def admit_name(self, name: str) -> str | None:
        """Check the room's rules, then reserve ``name`` in Redis for this process.

        The handler awaits this as it does in a single process: here the wait is Redis's
        round trip.

        Returns why the name cannot be used, or ``None`` when it is reserved. The newcomer
        counts as here from the moment its name arrived, as in a single process: its welcome
        names who was here then, and whatever the room hears while Redis answers is kept
        and given to it right after the welcome (see :meth:`join`).
        """
        # This process's members, and the names being claimed here, are known for sure: they
        # count as taken. A name listed on another process is only as fresh as the last event
        # heard from there; Redis, which that process frees a name in before it says its
        # member left, decides for it.
        problem = name_problem(name, [*self.members, *self.newcomers])
        if problem is not None:
            return problem
        if not self.linked:
            return TRY_AGAIN
        settled = asyncio.get_running_loop().create_future()
        self.latest_claim = settled
        # From now on the newcomer is in the room as far as the others can tell: the welcome
        # names who is here now, and what the room hears meanwhile is kept for it.
        here = [listed for listed in self.names() if not same_name(listed, name)]
        newcomer = self.newcomers[name] = Newcomer(here)
        echo = self.echoes[name] = asyncio.get_running_loop().create_future()
        try:
            problem = await self.reserve(name, newcomer.arrived_at)
            if problem is not None:
                self.newcomers.pop(name, None)
            else:
                self.forget_freed_elsewhere(name)
                await self.hear_own_arrival(echo)
            return problem
        except BaseException:  # Cancelled: the client left, or took too long.
            self.newcomers.pop(name, None)
            raise
        finally:
            self.echoes.pop(name, None)
            # Whoever waits in claims_answered() resumes after the newcomer has joined: the
            # handler calls join() right after this returns, without waiting.
            settled.set_result(None)

    def forget_freed_elsewhere(self, name: str) -> None:
        """Redis has just given us ``name``: another process that still lists it freed it.

        That process frees a name before it publishes its member's departure, so the
        departure is on its way; the members here hear it now, before the newcomer's arrival
        (when the event comes, :meth:`departed` finds the name gone and says nothing). The
        newcomer was never told of the old holder: its welcome left that name out.
        """
        for other in self.elsewhere.values():
            for listed in [listed for listed in other.names if same_name(listed, name)]:
                del other.names[listed]
                heard = Heard(departure_line(listed))
                self.deliver(list(self.members.values()), heard.line)
                self.tell_newcomers(heard, but=name)

    @staticmethod
    async def hear_own_arrival(echo: asyncio.Future) -> None:
        """Wait (at most :data:`ECHO_WAIT`) until our newcomer's arrival comes back.

        The channel delivers events in the order Redis published them, so once our own
        arrival is back, every arrival published before it (a newcomer on another process a
        moment earlier) has been heard and kept for the welcome. The reply to the reservation
        comes on another connection and may overtake them.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(echo), ECHO_WAIT)

    async def reserve(self, name: str, arrived_at: float) -> str | None:
        """Run the script that reserves ``name`` and publishes the arrival; why not, or None.

        The arrival carries ``arrived_at``, when the name reached this server, so that the
        other servers can tell a newcomer of theirs who came first.
        """
        arrival = self.event("join", name=name, at=arrived_at)
        script = (RESERVE_AND_ANNOUNCE, 1, name_key(name), self.process_id)
        try:
            reserved = await self.command(
                ("EVAL", *script, int(self.expiry * 1000), CHANNEL, arrival), counted=False
            )
        except (RedisError, OSError):
            return TRY_AGAIN
        if not reserved:
            return name_taken_notice(name)  # Taken on another process, a moment ago.
        return None

    def join(self, name: str, websocket: ServerConnection, here: list[str] | None = None) -> Member:
        """Join, welcomed with who was here when the name arrived, then hear what was missed.

        The arrival itself was published by the reservation script (see admit_name).
        """
        newcomer = self.newcomers.pop(name, None)
        if newcomer is None:
            return super().join(name, websocket, here)
        # Who arrived before this newcomer, while Redis answered, and is still here, is named
        # in the welcome; what else the room heard meanwhile follows the welcome.
        present = set(self.names())
        earlier = [heard for heard in newcomer.missed if newcomer.arrived_earlier(heard, present)]
        welcomed_with = [*newcomer.names_seen, *(heard.arrival for heard in earlier)]
        member = super().join(name, websocket, welcomed_with)
        # The newcomers still waiting hear of this one too (its neighbours here were told by
        # super().join(); the other servers hear the arrival from Redis).
        self.tell_newcomers(Heard(arrival_line(name), name, newcomer.arrived_at))
        for heard in newcomer.missed:
            if heard not in earlier:
                self.write([websocket], heard.line)
        return member

    def announce(self, heard: Heard) -> None:
        """Deliver a line from the shared room to every member here, and to every newcomer
        whose name is being claimed (it gets the line with its welcome, see :meth:`join`)."""
        self.deliver(list(self.members.values()), heard.line)
        self.tell_newcomers(heard)

    def tell_newcomers(self, heard: Heard, but: str | None = None) -> None:
        """Keep ``heard`` for every newcomer whose name is being claimed (see :meth:`join`),
        except the one claiming ``but``."""
        for claimed, newcomer in self.newcomers.items():
            if claimed != but:
                newcomer.missed.append(heard)

    async def receive(self, member: Member, message: str | bytes) -> None:
        """Handle a member's message once every name claimed before it has settled.

        That way a newcomer whose name is on its way to Redis hears it too (see
        :meth:`claims_answered`).
        """
        await self.claims_answered()
        await super().receive(member, message)

    def relay(self, sender: Member, text: str) -> None:
        """Relay to this process's members at once, then publish for the other processes."""
        super().relay(sender, text)
        self.publish("message", name=sender.name, text=text)

    def leave(self, member: Member, reason: str) -> None:
        """Free the name in Redis, then leave locally and tell the other processes.

        Whoever hears "Dora has left the chat." may ask for "Dora" at once, on any server, and
        must get it: so the room says it only once Redis has freed the name (one round trip,
        bounded by the client's ``socket_timeout``; at once while the link is down). Until
        then the member is still listed, though nothing more reaches its closed connection.
        """
        if not self.linked:
            self.leave_now(member, reason)
            return
        release = (RELEASE_IF_MINE, 1, name_key(member.name), self.process_id)
        freed = self.command(("EVAL", *release), counted=False)
        freed.add_done_callback(lambda answer: self.name_freed(answer, member, reason))

    def name_freed(self, answer: asyncio.Future, member: Member, reason: str) -> None:
        """Redis answered the release (or failed to): the departure can be told now."""
        if not answer.cancelled() and answer.exception() is not None:
            log.warning("Redis did not free %r: %s", member.name, describe(answer.exception()))
        self.leave_now(member, reason)

    def leave_now(self, member: Member, reason: str) -> None:
        """Leave locally, then tell the newcomers being admitted and the other processes.

        A newcomer whose name Redis is still reserving will be welcomed with the names seen
        when it arrived, this member's among them, so it hears of the departure right after.
        """
        super().leave(member, reason)
        self.tell_newcomers(Heard(departure_line(member.name)))
        self.publish("leave", name=member.name)

    # --- Talking to Redis: one ordered pipe ---------------------------------------------------

    def event(self, kind: str, **fields: Any) -> str:
        """One event as JSON, signed with this process's id."""
        return json.dumps({"from": self.process_id, "event": kind, **fields})

    def publish(self, kind: str, **fields: Any) -> None:
        """Queue a member event for the other processes (dropped when it cannot go out)."""
        self.send(("PUBLISH", CHANNEL, self.event(kind, **fields)))

    def reservation(self, name: str) -> tuple[Any, ...]:
        """The command that reserves ``name`` for this process, if nobody holds it."""
        return ("SET", name_key(name), self.process_id, "NX", "PX", int(self.expiry * 1000))

    def send(self, args: tuple[Any, ...], counted: bool = True) -> None:
        """Queue a command without waiting for its answer.

        Member events are dropped (and counted) while the link is down, or when
        ``outbox_size`` of them already wait: Redis is too slow, and a queue without a bound
        would only grow the server's memory until it dies.
        """
        if counted and (not self.linked or self.outbox.qsize() >= self.outbox_size):
            if self.dropped == 0 and self.linked:
                log.warning(
                    "Redis is too slow: %d events wait; dropping new ones.", self.outbox_size
                )
            self.dropped += 1
            return
        self.outbox.put_nowait(Command(args, counted=counted))

    def command(self, args: tuple[Any, ...], counted: bool = True) -> asyncio.Future:
        """Queue a command; the returned future gets Redis's answer (or the error)."""
        answer = asyncio.get_running_loop().create_future()
        self.outbox.put_nowait(Command(args, answer, counted))
        return answer

    async def write_outbox(self) -> None:
        """The one task that talks to Redis: send what is queued, in order, in batches.

        Everything queued since the last batch goes in one pipeline (one round trip), so the
        outbox keeps up with a busy room.
        """
        while True:
            batch = [await self.outbox.get()]
            while not self.outbox.empty():
                batch.append(self.outbox.get_nowait())
            pipeline = self.client.pipeline(transaction=False)
            for command in batch:
                pipeline.execute_command(*command.args)
            try:
                answers = await pipeline.execute(raise_on_error=False)
            except (RedisError, OSError) as error:
                answers = [error] * len(batch)
                self.dropped += sum(command.counted for command in batch)
            for command, answer in zip(batch, answers, strict=True):
                if command.answer is None or command.answer.done():
                    continue
                if isinstance(answer, Exception):
                    command.answer.set_exception(answer)
                else:
                    command.answer.set_result(answer)
            if self.dropped and self.linked and self.outbox.empty():
                log.warning("%d room events did not reach the other servers.", self.dropped)
                self.dropped = 0

    # --- Hearing the others -----------------------------------------------------------------

    async def subscribe(self) -> Any:
        """Subscribe to the room's channel; return once Redis has confirmed it."""
        subscription = self.client.pubsub()
        try:
            await subscription.subscribe(CHANNEL)
            async with asyncio.timeout(3):
                while await subscription.get_message(timeout=1) is None:
                    pass
        except BaseException:
            await subscription.aclose()
            raise
        return subscription

    async def keep_listening(self, subscription: Any) -> None:
        """Deliver the others' events for as long as the server runs; reconnect when cut."""
        while True:
            try:
                await self.listen(subscription)
            except (RedisError, OSError, TimeoutError) as error:
                self.link_lost(describe(error))
            finally:
                await subscription.aclose()
            subscription = await self.reconnect()
            await self.link_restored()

    async def listen(self, subscription: Any) -> None:
        """Read the channel until the link fails; silence for ``expiry`` s counts as failure.

        This process hears its own ``present`` events come back every ``expiry / 3`` s, so a
        long silence means the link is dead even though no error was raised: the classic
        listener that died quietly while the server still accepted clients.
        """
        self.last_heard_myself = time.monotonic()
        while True:
            message = await subscription.get_message(timeout=self.expiry / 3)
            if message is not None and message["type"] == "message":
                self.on_event(message["data"])
            if time.monotonic() - self.last_heard_myself > self.expiry:
                raise TimeoutError(f"not even our own events came back for {self.expiry:g} s")

    async def reconnect(self) -> Any:
        """Try again and again, waiting longer each time; return the new subscription."""
        delay, attempt = FIRST_RETRY, 1
        while True:
            try:
                subscription = await self.subscribe()
            except (RedisError, OSError, TimeoutError) as error:
                log.warning(
                    "Reconnecting to Redis at %s, attempt %d failed (%s); next in %.1f s.",
                    self.redis_url,
                    attempt,
                    describe(error),
                    delay,
                )
                await asyncio.sleep(delay)
                delay, attempt = min(delay * 2, LAST_RETRY), attempt + 1
            else:
                log.info("Reconnected to Redis at %s after %d attempt(s).", self.redis_url, attempt)
                return subscription

    def link_lost(self, reason: str) -> None:
        """Tell the members and the log that the room is cut in parts for now."""
        self.linked = False
        log.warning("Lost the link to Redis at %s (%s).", self.redis_url, reason)
        self.announce(Heard(server_line(LINK_LOST)))

    async def link_restored(self) -> None:
        """Claim our members' names again, hear everyone's list, and say the room is whole."""
        now = time.monotonic()
        for other in self.elsewhere.values():
            other.last_heard = now  # They could not speak while we could not hear.
        self.linked = True
        await self.claim_names_again()
        self.send(("PUBLISH", CHANNEL, self.event("roll-call")), counted=False)
        self.send_present()
        self.announce(Heard(server_line(LINK_BACK)))

    async def claims_answered(self) -> None:
        """Wait until every name claimed before this moment is accepted or refused.

        A newcomer whose name has reached this server is in the room as far as its
        neighbours can tell, though its claim is still on its way to Redis. Holding their
        messages until it has joined means it hears what they said after its name arrived,
        as in a single process. Claims are answered in order: waiting for the latest is enough.
        """
        claim = self.latest_claim
        if claim is not None and not claim.done():
            await asyncio.wait({claim})

    def on_event(self, data: str) -> None:
        """Handle one event from the channel; a malformed one is logged and skipped."""
        try:
            event = json.loads(data)
            self.dispatch(event["from"], event["event"], event)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("Skipped a malformed event on %s: %.80r", CHANNEL, data)

    def dispatch(self, origin: str, kind: str, event: dict[str, Any]) -> None:
        """Act on one event: ours echoed back, or another process's news."""
        if origin == self.process_id:
            self.last_heard_myself = time.monotonic()
            echo = self.echoes.get(str(event.get("name"))) if kind == "join" else None
            if echo is not None and not echo.done():
                echo.set_result(None)
            return
        other = self.elsewhere.setdefault(origin, OtherProcess())
        other.last_heard = time.monotonic()
        if kind == "message":
            for line in message_lines(str(event.get("text", ""))):
                self.announce(Heard(chat_line(event["name"], line)))
        elif kind == "join":
            self.arrived(other, event["name"], event.get("at"))
        elif kind == "leave":
            self.departed(other, event["name"])
        elif kind == "present":
            self.take_roll(other, event["names"])
        elif kind == "roll-call":
            self.send_present()
        elif kind == "goodbye":
            del self.elsewhere[origin]
            for name in list(other.names):
                self.departed(other, name)

    def arrived(self, other: OtherProcess, name: str, arrived_at: Any = None) -> None:
        """A member joined on another process: note it and tell the members here.

        ``arrived_at`` is when its server read the name, if the event said (a number).
        """
        other.names[name] = None
        when = arrived_at if isinstance(arrived_at, int | float) else None
        self.announce(Heard(arrival_line(name), name, when))

    def departed(self, other: OtherProcess, name: str) -> None:
        """A member left another process: forget it and tell the members here."""
        if other.names.pop(name, "absent") is None:
            self.announce(Heard(departure_line(name)))

    def take_roll(self, other: OtherProcess, names: list[str]) -> None:
        """Bring our copy of another process's members up to date, announcing any change.

        The list comes down the same ordered pipe as that process's join and leave events,
        so it differs from our copy only when events were lost (an outage, a full outbox) or
        when it was written while a newcomer's claim was on its way. A difference counts only
        when two lists in a row show it: the second one is written after that claim settled.
        """
        gone = [name for name in other.names if name not in names]
        new = [name for name in names if name not in other.names]
        for name in gone:
            if name in other.doubts:
                self.departed(other, name)
        for name in new:
            if name in other.doubts:
                self.arrived(other, name)
        other.doubts = {name for name in [*gone, *new] if name not in other.doubts}

    # --- Staying alive, and noticing who is not --------------------------------------------

    async def keep_refreshing(self) -> None:
        """Every ``expiry / 3`` s: keep our names reserved, say who is here, forget the silent."""
        while True:
            await asyncio.sleep(self.expiry / 3)
            if not self.linked:
                continue
            expiry_ms = int(self.expiry * 1000)
            for name in self.members:
                self.send(("PEXPIRE", name_key(name), expiry_ms), counted=False)
            self.send_present()
            self.forget_silent_processes()

    def send_present(self) -> None:
        """Publish the full list of this process's members."""
        self.send(("PUBLISH", CHANNEL, self.event("present", names=self.names_here())), False)

    def names_here(self) -> list[str]:
        """The names of this process's own members."""
        return list(self.members)

    def forget_silent_processes(self) -> None:
        """Announce the departure of every member of a process silent for ``expiry`` s."""
        now = time.monotonic()
        for origin, other in list(self.elsewhere.items()):
            if now - other.last_heard > self.expiry:
                del self.elsewhere[origin]
                gone = list(other.names)
                log.warning(
                    "Server %s said nothing for %g s: counting it as gone (%d member(s): %s).",
                    origin,
                    self.expiry,
                    len(gone),
                    ", ".join(gone) or "none",
                )
                for name in gone:
                    self.departed(other, name)

    async def claim_names_again(self) -> None:
        """After an outage, reserve our members' names again (a restarted Redis lost them)."""
        for name in list(self.members):
            try:
                reserved = await self.command(self.reservation(name), counted=False)
            except (RedisError, OSError):
                return  # The link failed again; the listener will notice.
            if not reserved:
                log.warning("After the outage, %r is also in use on another server.", name)


def describe(error: BaseException) -> str:
    """An exception as a few words for a log line: ``ConnectionError: Connection refused``."""
    text = str(error).strip().rstrip(".") or "no details"
    return f"{type(error).__name__}: {text}"


# --- Running a server that shares its room --------------------------------------------------------


async def main(
    host: str,
    port: int,
    redis_url: str,
    limits: ChatLimits | None = None,
    allowed_origins: Iterable[str] = (),
    expiry: float = DEFAULT_REDIS_EXPIRY,
    tls: ssl.SSLContext | None = None,
    token: str | None = None,
) -> None:
    """Run a chat server whose room is shared with every server started with ``redis_url``.

    ``tls`` and ``token`` are those of :func:`chatlib.chat_server.main`.

    Redis must answer before the server starts listening, else :class:`RedisUnavailable`
    says why in one line. ``expiry`` is how long a crashed server's members take to be
    announced gone.
    """
    room = SharedRoom(redis_url, limits, expiry)
    await room.open()
    try:
        await run(ChatServer(room, token), host, port, allowed_origins, tls)
    finally:
        # Every member has left by now; publish their departures, then disconnect.
        await room.close()
