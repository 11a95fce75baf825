"""One channel-layer membership per process and group, instead of one per socket.

Channels' usual pattern adds every socket's channel to every group it follows, so an event costs
one layer message and one consumer wake-up per socket. Here each process (each event loop) has a
single hub channel: the hub joins a group when its first local socket subscribes and leaves it
with the last, receives each event once, and writes the already-encoded frame straight to its
local sockets, checking each socket's access in memory.
"""

import asyncio
import logging
import time
import weakref

from channels.layers import get_channel_layer

from realtime import notifications

logger = logging.getLogger(__name__)

_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def get_hub() -> "Hub":
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


class Hub:
    def __init__(self):
        self.layer = get_channel_layer()
        self.groups: dict[str, set] = {}
        self.sockets: set = set()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._channel = asyncio.ensure_future(self.layer.new_channel(prefix="realtime.hub."))
        self._receiver = asyncio.ensure_future(self._receive())

    def _lock(self, group: str) -> asyncio.Lock:
        lock = self._locks.get(group)
        if lock is None:
            lock = self._locks[group] = asyncio.Lock()
        return lock

    async def join(self, group: str, socket) -> None:
        async with self._lock(group):
            members = self.groups.get(group)
            if members is None:
                await self.layer.group_add(group, await self._channel)
                members = self.groups[group] = set()
            members.add(socket)
            self.sockets.add(socket)

    async def leave(self, group: str, socket) -> None:
        async with self._lock(group):
            members = self.groups.get(group)
            if members is None or socket not in members:
                return
            members.discard(socket)
            if not members:
                del self.groups[group]
                await self.layer.group_discard(group, await self._channel)

    async def detach(self, socket, groups) -> None:
        """Leave all `groups` for a closing socket; the last socket out stops the hub."""
        for group in groups:
            await self.leave(group, socket)
        self.sockets.discard(socket)
        if not self.sockets:
            self._receiver.cancel()
            _hubs.pop(asyncio.get_running_loop(), None)

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
        now = time.time()
        texts: dict[int, str | None] = {}
        for socket in list(self.groups.get(group, ())):
            if socket.session_expires_at <= now:
                await socket.close(notifications.CLOSE_LOGGED_OUT)
                continue
            if socket.user_pk not in texts:
                texts[socket.user_pk] = _frame_for(message["frames"], socket.user_pk)
            text = texts[socket.user_pk]
            if text is None:
                await socket.forget(group)
                await socket.send(text_data=message["gone"])
                continue
            await socket.send(text_data=text)
            if message["ends"]:
                await socket.forget(group)

    async def _close(self, message: dict) -> None:
        for socket in list(self.groups.get(message["group"], ())):
            await socket.close(message["code"])


def _frame_for(frames: list, user_pk: int) -> str | None:
    """The first frame whose audience includes the user; None if they may see none."""
    for members, text in frames:
        if members is None or user_pk in members:
            return text
    return None
