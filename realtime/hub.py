"""One channel-layer membership per process and group, instead of one per socket.

Channels' usual pattern adds every socket's channel to every group it follows, so an event costs
one layer message and one consumer wake-up per socket. Here each process (each event loop) has a
single hub channel: the hub joins a group when its first local socket subscribes and leaves it
with the last, receives each event once, and writes the already-encoded frame straight to its
local sockets, checking each socket's access in memory.
"""

import asyncio
import logging
import weakref

from channels.layers import get_channel_layer

from realtime import notifications

logger = logging.getLogger(__name__)

_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def get_hub() -> "Hub":
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub


class Hub:
    """Lives as long as its event loop: one idle blocking read per process is cheaper and safer
    than stopping and restarting the layer's receive as sockets come and go."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.layer = get_channel_layer()
        self.groups: dict[str, set] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # The default prefix: channels_redis reads all of a process's channels through one
        # shared key, so a channel with a prefix of its own would starve behind the others.
        self._channel = asyncio.ensure_future(self.layer.new_channel())
        self._receiver = asyncio.ensure_future(self._receive())
        self._refresher = asyncio.ensure_future(self._refresh())
        self._receiver.add_done_callback(lambda _: self._end(loop))

    def _end(self, loop: asyncio.AbstractEventLoop) -> None:
        """A hub whose receive has ended (its loop closing, or the layer failing) is not handed
        to new sockets."""
        _hubs.pop(loop, None)
        self._refresher.cancel()

    def _lock(self, group: str) -> asyncio.Lock:
        """Serialises joins and leaves of one group, so that the layer sees them in order."""
        return self._locks.setdefault(group, asyncio.Lock())

    async def join(self, group: str, socket) -> None:
        async with self._lock(group):
            members = self.groups.get(group)
            if members is None:
                await self.layer.group_add(group, await self._channel)
                members = self.groups[group] = set()
            members.add(socket)

    async def leave(self, group: str, socket) -> None:
        async with self._lock(group):
            members = self.groups[group]
            members.discard(socket)
            if not members:
                del self.groups[group]
                await self.layer.group_discard(group, await self._channel)

    async def _refresh(self) -> None:
        """Joins the hub's groups again before the layer expires their membership (a day by
        default), which it would do even while sockets still follow them: the first socket's
        join is the hub's only one, and later subscribers may outlive it by far.

        A group left while this runs may be joined again; the hub then drops its events, having
        no socket in it, until the membership expires."""
        channel = await self._channel
        while True:
            await asyncio.sleep(self.layer.group_expiry / 2)
            for group in list(self.groups):
                await self.layer.group_add(group, channel)

    async def _receive(self) -> None:
        channel = await self._channel
        while True:
            message = await self.layer.receive(channel)
            if message["type"] == notifications.EVENT:
                await self._deliver(message)
            else:
                await self._close(message)

    async def _deliver(self, message: dict) -> None:
        group = message["group"]
        frames: dict[int, list | None] = {}
        for socket in list(self.groups.get(group, ())):
            if socket.user_pk not in frames:
                frames[socket.user_pk] = _frame_for(message["frames"], socket.user_pk)
            await socket.deliver(group, message, frames[socket.user_pk])

    async def _close(self, message: dict) -> None:
        for socket in list(self.groups.get(message["group"], ())):
            await socket.close(message["code"])


def _frame_for(frames: list, user_pk: int) -> list | None:
    """The first frame whose audience includes the user; None if they may see none.

    A frame is `[members, text]`: members None for every authenticated user, text None when the
    change shows nothing new in that representation."""
    for frame in frames:
        if frame[0] is None or user_pk in frame[0]:
            return frame
    return None
