"""One channel-layer membership per process and group, instead of one per socket.

Channels' usual pattern adds every socket's channel to every group it follows, so an event costs
one layer message and one consumer wake-up per socket. Here each process (each event loop) has a
single hub channel: the hub joins a group when its first local socket subscribes and leaves it
with the last, receives each event once, and writes the already-encoded frame straight to its
local sockets, checking each socket's access in memory.
"""

import asyncio
import contextlib
import logging
import weakref

from channels.layers import get_channel_layer

from realtime import metrics, notifications
from realtime.close_codes import CloseCode
from realtime.layers import EXPIRED
from realtime.loops import PerLoop

logger = logging.getLogger(__name__)

# Frames written (about as many sockets) between two yields to the event loop during a fan-out:
# the loop also serves HTTP (the writer's own response among it) and every other socket, which
# would otherwise wait for the whole fan-out; a yield costs about a socket's write. The writer's
# response needs a few turns of the loop (its group_send, its thread's return): 10 rather than
# 25 brings it back sooner at no measurable cost to the fan-out.
DELIVERY_SLICE = 10

# Messages read ahead from the layer while a fan-out is written, and the most read at once;
# past that, the layer's own capacity holds them (and drops what overflows it, which the hub
# answers).
INBOX_SIZE = 100

# The most sockets a group keeps in a tuple; a larger group's are a set. Most groups are an
# object followed by one user's few sockets, and a tuple of one or two sockets takes 48 to 56
# bytes, a set at least 216: 1 KiB of each idle socket with ten subscriptions. Past this size,
# the membership test of every write of a fan-out (`Hub._deliver`) would cost a scan.
TUPLE_MEMBERS = 8

# Seconds between two looks at what the layer lost (`Hub._watch`): a Redis restarted empty is
# noticed this long after it answers again, at the cost of a command per shard and process.
WATCH_INTERVAL = 1.0


def receiving() -> bool:
    """Whether this process's hub hears every event: false from the moment its layer stops
    answering until the hub has joined its groups again (readiness reports it). A process
    without a hub is receiving: its first socket starts one."""
    return all(hub.reachable for hub in get_hub)


class Hub:
    """Lives as long as its event loop, or until its receive loop fails: one idle blocking read
    per process is cheaper and safer than stopping and restarting the layer's receive as sockets
    come and go.

    Whatever the layer loses is answered, never left to a deaf socket: a hub whose receive loop
    ends closes its sockets with 4011 and is handed to no new socket; a layer that lost the
    hub's memberships (Redis restarted empty) or was unreachable, or that dropped a message to
    this process for capacity or deleted one that expired unread, gets the hub's groups joined
    again and the sockets that may have missed an event closed with 4205, so that their clients
    reconnect and resync."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        # Each group's local sockets: a tuple, or a set past TUPLE_MEMBERS.
        self.groups: dict[str, tuple | set] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.reachable = True
        self.failed = False
        self._channel = asyncio.ensure_future(self._open())
        self._receiver = asyncio.ensure_future(self._receive())

    async def _open(self) -> str:
        # The default prefix, whose Redis key the process's other Channels consumers with a
        # layer would share: `receive_many` hands messages over with their readers both ways.
        channel = await self.layer.new_channel()
        # Marked before the first join, so that every membership is one the mark outlives.
        await self.layer.memberships_kept(channel)
        return channel

    def _lock(self, group: str) -> asyncio.Lock:
        """Serialises joins and leaves of one group, so that the layer sees them in order."""
        return self._locks.setdefault(group, asyncio.Lock())

    async def join(self, groups: list[str], socket) -> None:
        """Joins those of `groups` the hub is not in yet in one layer round trip per shard
        (`group_add_many`): a socket that connects or subscribes to a batch would otherwise wait
        for one round trip after the other, in a reconnect storm on Redis most of its wait, and
        hold a connection of the layer's pool for each. Each group's lock is held from before its
        round trip until the socket is among its members, as a single join's would be; the
        locks are taken in one order, so that two sockets joining the same groups cannot each
        wait for the other.

        A join the layer fails (Redis unreachable) closes the socket with 4205, in none of the
        groups: its client comes back, and resyncs, once the layer answers again."""
        try:
            async with contextlib.AsyncExitStack() as locks:
                ordered = sorted(set(groups))
                for group in ordered:
                    await locks.enter_async_context(self._lock(group))
                new = [group for group in ordered if group not in self.groups]
                await self.layer.group_add_many(new, await self._channel)
                for group in groups:
                    self.groups[group] = with_member(self.groups.get(group, ()), socket)
        except Exception as error:
            # Each layer raises its own errors (redis-py's are not OSErrors).
            logger.warning(
                "A socket could not join its groups: %s: %s", type(error).__name__, error
            )
            await self._resync({socket}, "layer_lost")

    async def leave(self, group: str, socket) -> None:
        """Takes `socket` out of `group`, if it is in: a socket closed while it waited to join
        leaves a group it is not in yet, and then again once it is."""
        async with self._lock(group):
            members = self.groups.get(group)
            if members is None or socket not in members:
                return
            members = self.groups[group] = without_member(members, socket)
            if not members:
                del self.groups[group]
                # A failed hub's memberships are left to expire: its layer may be what failed.
                if not self.failed:
                    await self._discard(group)

    async def _discard(self, group: str) -> None:
        """Leaves `group` in the layer. A membership the layer fails to end (Redis unreachable)
        is left to expire: the hub drops its events meanwhile, having no socket in it, and the
        socket, closing or unsubscribing, goes on regardless."""
        try:
            await self.layer.group_discard(group, await self._channel)
        except Exception as error:
            logger.warning(
                "The hub could not leave group %s: %s: %s", group, type(error).__name__, error
            )

    async def _rejoin(self, channel: str) -> None:
        await self.layer.group_add_many(list(self.groups), channel)

    async def _watch(self, channel: str) -> None:
        """Every WATCH_INTERVAL, asks the layer whether it lost the hub's memberships or dropped
        or expired messages to it, and joins the hub's groups again every half `group_expiry` (a
        day by default), before the layer expires them, which it would do even while sockets
        still follow them: the first socket's join is the hub's only one.

        A group left during a re-join may be joined again; the hub then drops its events,
        having no socket in it, until the membership expires."""
        refreshed = self.loop.time()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                if not await self.layer.memberships_kept(channel) or not self.reachable:
                    await self._rejoin(channel)
                    refreshed = self.loop.time()
                    await self._resync(self._sockets(self.groups), "layer_lost")
                elif self.loop.time() - refreshed >= self.layer.group_expiry / 2:
                    await self._rejoin(channel)
                    refreshed = self.loop.time()
                missed = await self.layer.missed_groups(channel)
            except Exception:
                # Each layer raises its own errors (redis-py's are not OSErrors).
                if self.reachable:
                    logger.warning("The channel layer is unreachable", exc_info=True)
                self.reachable = False
            else:
                self.reachable = True
                # An expired message was sent to a group of the hub's, not known which.
                await self._resync(
                    self._sockets(self.groups if EXPIRED in missed else missed), "dropped"
                )

    async def _receive(self) -> None:
        """Ends only when it fails: the hub's sockets are then closed, never left deaf."""
        try:
            channel = await self._channel
            inbox = asyncio.Queue(INBOX_SIZE)
            # The watch and the writes end with the receive loop, whichever way that ends.
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._watch(channel))
                tasks.create_task(self._write(inbox))
                while True:
                    for message in await self.layer.receive_many(channel, INBOX_SIZE):
                        await inbox.put(message)
        except Exception:
            metrics.LAYER_FAILURES.inc()
            logger.exception("The hub stopped receiving events; closing its sockets with 4011")
        finally:
            self.failed = True
            get_hub.discard(self.loop)
            await self._resync(self._sockets(self.groups), "hub_failed", CloseCode.HUB_FAILED)

    def _sockets(self, groups) -> set:
        return {socket for group in groups for socket in self.groups.get(group, ())}

    async def _resync(self, sockets: set, reason: str, code=CloseCode.RESYNC) -> None:
        """Closes `sockets`, whose clients then reconnect and resync from snapshots."""
        if sockets:
            logger.warning("Telling %s socket(s) to resync: %s", len(sockets), reason)
        for socket in sockets:
            metrics.RESYNCS_REQUESTED.labels(reason).inc()
            await socket.close(code)

    async def _write(self, inbox: asyncio.Queue) -> None:
        """Takes every message that arrived during the last fan-out at once, in order: with
        changes in flight, each socket is then handed its frames together, which Twisted sends
        in one write (one send() and one poll registration) rather than one per frame."""
        while True:
            messages = [await inbox.get()]
            while not inbox.empty():
                messages.append(inbox.get_nowait())
            events = []
            for message in messages:
                if message["type"] == notifications.EVENT:
                    events.append(message)
                else:
                    await self._deliver(events)
                    events = []
                    await self._close(message)
            await self._deliver(events)

    async def _deliver(self, events: list[dict]) -> None:
        """Writes the events to their groups' sockets, each socket's in order, yielding to the
        loop after about DELIVERY_SLICE frames. The next events wait for these, so each socket
        still sees a group's events in order. A socket that joins meanwhile missed nothing (its
        snapshot is read after its join); one that left is handed nothing more, whether it
        unsubscribed, closed, or an earlier event of these ended its subscription (a socket
        still closing may be handed a frame, which Daphne drops for a closed connection)."""
        routes: dict[object, list[tuple[dict, UserFrames]]] = {}
        for event in events:
            frames = UserFrames(event["frames"])
            for socket in self.groups.get(event["group"], ()):
                routes.setdefault(socket, []).append((event, frames))
        written = unyielded = 0
        for socket, its_events in routes.items():
            if unyielded >= DELIVERY_SLICE:
                await asyncio.sleep(0)
                unyielded = 0
            for event, frames in its_events:
                if socket in self.groups.get(event["group"], ()):
                    written += await socket.deliver(event["group"], event, frames[socket.user_pk])
            unyielded += len(its_events)
        metrics.EVENTS_DELIVERED.inc(written)

    async def _close(self, message: dict) -> None:
        """Closes the group's sockets, or those opened with the message's credential."""
        credential = message["credential"]
        for socket in list(self.groups.get(message["group"], ())):
            if credential is None or socket.credential == credential:
                await socket.close(message["code"])


# The hub of the running loop, started by its first socket.
get_hub: PerLoop[Hub] = PerLoop(Hub)


def with_member(members: tuple | set, socket) -> tuple | set:
    """`members` with `socket` (once), as a set once there are more than TUPLE_MEMBERS."""
    if socket in members:
        return members
    if isinstance(members, set):
        members.add(socket)
        return members
    if len(members) < TUPLE_MEMBERS:
        return (*members, socket)
    return {*members, socket}


def without_member(members: tuple | set, socket) -> tuple | set:
    if isinstance(members, set):
        members.discard(socket)
        return members
    return tuple(member for member in members if member is not socket)


class UserFrames(dict):
    """An event's frame for each user (`frame_for`), looked up once per user and fan-out."""

    def __init__(self, frames: list[notifications.Frame]):
        super().__init__()
        self.frames = frames

    def __missing__(self, user_pk: int) -> notifications.Frame | None:
        frame = self[user_pk] = frame_for(self.frames, user_pk)
        return frame


def frame_for(frames: list[notifications.Frame], user_pk: int) -> notifications.Frame | None:
    """The first frame whose audience includes the user; None if they may see none."""
    for frame in frames:
        if frame["members"] is None or user_pk in frame["members"]:
            return frame
    return None
