"""Channels' layers, made to say what they lose, so that no event is missed without a word.

Both layers drop a message to a full channel (channels-redis with an INFO line, the in-memory
layer silently), and a hub's channel carries a whole process's events. Here the sending process
logs a warning, counts the drop (`realtime_layer_messages_dropped`) and records the group in the
receiving channel's "missed" set, which the hub reads every second (`missed_groups`) and answers
by telling that group's sockets to resync (see `realtime.hub`).

The Redis layer also keeps a sentinel key per hub on every shard (`memberships_kept`): a Redis
that restarted empty, failed over to an empty replica or was flushed has lost the hub's group
memberships with it, and the hub learns it within a second, whether or not redis-py's
reconnection hid the restart from its blocking read.

A message that waited unread past the layer's `expiry` (60 s) is deleted by the next send, which
both layers do without a word; a hub that far behind has sockets that missed it. The in-memory
layer then also takes the channel out of every group, which `memberships_kept` reports; the
Redis layer records `EXPIRED` among the missed groups, its group unknown.
"""

import asyncio
import collections
import logging
import time

import redis.asyncio
from channels import layers
from channels.exceptions import ChannelFull
from channels_redis import core, utils

from realtime import metrics

logger = logging.getLogger(__name__)

# Seconds Redis keeps a hub's sentinel after the hub last refreshed it (every second). A process
# stalled for longer is told that its memberships were lost: it costs a resync, nothing more.
SENTINEL_TTL = 60


# Among the groups `missed_groups` reports: a message to the channel expired unread, whichever
# group it was sent to (no group name has an asterisk).
EXPIRED = "*"


def dropped(group: str, channels: int) -> None:
    metrics.MESSAGES_DROPPED.inc(channels)
    logger.warning(
        "A message to group %s was dropped: %s channel(s) over capacity. Their sockets in the "
        "group will be told to resync.",
        group,
        channels,
    )


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """Channels' in-memory layer, recording what it drops for the hub."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.missed: dict[str, set[str]] = collections.defaultdict(set)
        # Channels taken out of their groups since their hub last asked.
        self.lost: set[str] = set()

    async def group_send(self, group, message):
        """Channels' own, but for a full channel."""
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:
                dropped(group, 1)
                self.missed[channel].add(group)

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        """Adds `channel` to `groups`: this layer's joins take no round trip to batch."""
        for group in groups:
            await self.group_add(group, channel)

    async def receive_many(self, channel: str, limit: int) -> list[dict]:
        """The next message to `channel`: this layer's receive takes no round trip that a
        batch would save."""
        return [await self.receive(channel)]

    def _clean_expired(self):
        """Channels' own, run before each of the layer's operations, but that a channel whose
        message expired unread, which Channels takes out of every group, is recorded for
        `memberships_kept`, and keeps its queue: Channels drops a queue that this leaves empty,
        and a reader waiting on it (a hub) would wait for ever on a queue no send reaches."""
        now = time.time()
        for channel, queue in self.channels.items():
            while not queue.empty() and queue._queue[0][0] < now:
                queue.get_nowait()
                self._remove_from_groups(channel)
                self.lost.add(channel)
        timeout = int(now) - self.group_expiry
        for channels in self.groups.values():
            for name, joined in list(channels.items()):
                if joined and joined < timeout:
                    channels.pop(name, None)

    async def memberships_kept(self, channel: str) -> bool:
        """Whether `channel` kept its memberships since the last call: this layer lives and dies
        with its process, but takes a channel whose message expired unread out of its groups."""
        kept = channel not in self.lost
        self.lost.discard(channel)
        return kept

    async def missed_groups(self, channel: str) -> set[str]:
        """The groups whose messages to `channel` were dropped since the last call."""
        return self.missed.pop(channel, set())


class Connection(redis.asyncio.Connection):
    """redis-py's connection, but that a command's write is timed by `asyncio.timeout` rather
    than `asyncio.wait_for`.

    On Python 3.11, `wait_for` loses a cancellation that arrives as the write it waits for
    completes (CPython gh-86296, fixed in 3.12). A read (channels-redis' `receive`, the hub's
    `receive_many`) then goes on to its blocking read, and from each 5 s read to the next, for
    ever: a hub cancelled with its loop, or a consumer with a channel of its own cancelled when
    its client leaves, would never end, and would hold a pool connection. redis-py writes without
    `wait_for` when it has no socket timeout: the timeout is hidden from it for the write and
    applied around it instead (the read after it keeps it)."""

    async def send_packed_command(self, command, check_health=True):
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()
        timeout, self.socket_timeout = self.socket_timeout, None
        try:
            async with asyncio.timeout(timeout):
                await super().send_packed_command(command, check_health=False)
        finally:
            self.socket_timeout = timeout


class RedisChannelLayer(core.RedisChannelLayer):
    """channels-redis' layer, on connections that lose no cancellation (`Connection`),
    recording each drop next to the full channel's messages, on its shard, where the receiving
    process reads it.

    `group_send` is channels-redis 4.3.0's (pinned), but that its script also adds the group to
    a full channel's "missed" set (channels-redis returns only how many channels were full, and
    only Redis knows which), and `EXPIRED` when it deletes a message that expired unread, and
    that it takes two round trips where channels-redis takes four:
    the group's cleanup and read go in one pipeline, the channels' cleanup in the script. The
    writer's thread waits for them, on a loop that is busy writing the fan-out meanwhile."""

    GROUP_SEND = """
        local over_capacity = 0
        local group = ARGV[#ARGV - 3]
        local current_time = ARGV[#ARGV - 2]
        local expiry = ARGV[#ARGV - 1]
        local expired = ARGV[#ARGV]
        for i=1,#KEYS do
            if redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, expired) > 0 then
                redis.call('SADD', KEYS[i] .. '$missed', '*')
                redis.call('EXPIRE', KEYS[i] .. '$missed', expiry)
            end
            if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
                redis.call('ZADD', KEYS[i], current_time, ARGV[i])
                redis.call('EXPIRE', KEYS[i], expiry)
            else
                over_capacity = over_capacity + 1
                redis.call('SADD', KEYS[i] .. '$missed', group)
                redis.call('EXPIRE', KEYS[i] .. '$missed', expiry)
            end
        end
        return over_capacity
    """

    def __init__(self, hosts=None, **kwargs):
        hosts = [{"connection_class": Connection, **host} for host in utils.decode_hosts(hosts)]
        super().__init__(hosts=hosts, **kwargs)

    def create_pool(self, index):
        """A pool whose commands wait for a free connection once `max_connections` are in use,
        where channels-redis' pool raises "Too many connections". Sockets that close together
        (a load balancer's restart, a network blip, a test of a thousand) each leave their
        groups at once: past the limit their disconnects failed, and each one left its socket
        counted open and a member of its groups (bench, connect: 500 of 1,500 closing sockets).
        The hosts are `redis://` URLs (REDIS_URL)."""
        host = dict(self.hosts[index])
        return redis.asyncio.BlockingConnectionPool.from_url(host.pop("address"), **host)

    async def group_send(self, group, message):
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        shard = self.connection(self.consistent_hash(group))
        async with shard.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
            _, members = await pipe.zrange(key, 0, -1).execute()
        keys_by_shard, messages, capacities = self._map_channel_keys_to_connection(
            [name.decode() for name in members], message
        )
        for index, keys in keys_by_shard.items():
            over_capacity = await self.connection(index).eval(
                self.GROUP_SEND,
                len(keys),
                *keys,
                *[messages[channel_key] for channel_key in keys],
                *[capacities[channel_key] for channel_key in keys],
                group,
                time.time(),
                self.expiry,
                int(time.time()) - int(self.expiry),
            )
            if over_capacity:
                dropped(group, over_capacity)

    async def group_add(self, group, channel):
        await self.group_add_many([group], channel)

    async def group_add_many(self, groups: list[str], channel: str) -> None:
        """Adds `channel` to `groups` in one round trip per shard, the shards' at once.

        channels-redis' `group_add` takes two round trips per group (the membership, then the
        group's expiry), one group after the other. A socket's connect waits for its joins, and
        so does each subscription to objects that no other socket of the process follows
        (`Hub.join`), as does a hub that joins all its groups again (`Hub._rejoin`): in a
        reconnect storm, each socket joined eleven groups, each on a connection of its own."""
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        by_shard: dict[int, list[str]] = collections.defaultdict(list)
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_shard[self.consistent_hash(group)].append(group)
        await asyncio.gather(
            *(self._add(index, shard_groups, channel) for index, shard_groups in by_shard.items())
        )

    async def _add(self, index: int, groups: list[str], channel: str) -> None:
        joined = time.time()
        async with self.connection(index).pipeline(transaction=False) as pipe:
            for key in map(self._group_key, groups):
                pipe.zadd(key, {channel: joined}).expire(key, self.group_expiry)
            await pipe.execute()

    async def receive_many(self, channel: str, limit: int) -> list[dict]:
        """Up to `limit` messages to `channel`, oldest first, in one round trip when some are
        waiting; when none is, the first to arrive (a blocking read).

        channels-redis' `receive` takes four round trips per message (a script that restores its
        in-flight backup, BZPOPMIN, the backup's ZADD, then its ZPOPMIN), each waiting for a
        turn of the event loop. A hub on a loop busy with requests and fan-outs read one message
        in tens of milliseconds: at 100 changes a second its events fell 20 s behind the
        responses. Here a message leaves Redis as it is read, with no backup: a read cancelled
        in flight loses what it read, which only a hub that is ending can do, and its sockets
        end with it.

        The process's channels of one prefix share a Redis key. The messages this read finds for
        the others are handed to channels-redis' buffers, where their own `receive` finds them;
        those that channels-redis' `receive` of another channel found for this one wait in this
        channel's buffer, and are read first (the readiness check reads a prefix of its own, so
        that in this project the hub is its key's only reader)."""
        buffered = self.receive_buffer.pop(channel, None)
        if buffered is not None and not buffered.empty():
            return [buffered.get_nowait() for _ in range(buffered.qsize())]
        name = self.non_local_name(channel)
        key = self.prefix + name
        connection = self.connection(self.consistent_hash(name))
        popped = await connection.zpopmin(key, limit)
        while not popped:
            first = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            popped = [] if first is None else [first[1:]]
        messages = []
        for content, _ in popped:
            message = self.deserialize(content)
            # A group's message names its channels in the key (a list), a channel's its one.
            addressees = message.pop("__asgi_channel__", channel)
            for addressee in addressees if isinstance(addressees, list) else [addressees]:
                if addressee == channel:
                    messages.append(message)
                else:
                    self.receive_buffer[addressee].put_nowait(message)
        return messages

    async def memberships_kept(self, channel: str) -> bool:
        """Refreshes `channel`'s sentinel on every shard: False if a shard had lost it since the
        last call, and with it the channel's memberships there. (The first call sets it. SET
        with GET needs Redis 6.2 or later.)"""
        key = f"{self.prefix}:sentinel:{channel}"
        kept = True
        for index in range(self.ring_size):
            previous = await self.connection(index).set(key, 1, ex=SENTINEL_TTL, get=True)
            kept = kept and previous is not None
        return kept

    async def missed_groups(self, channel: str) -> set[str]:
        """The groups whose messages to `channel`'s process were dropped since the last call (a
        process's channels share one Redis key, and so one missed set)."""
        name = self.non_local_name(channel)
        key = f"{self.prefix}{name}$missed"
        async with self.connection(self.consistent_hash(name)).pipeline() as pipe:
            groups, _ = await pipe.smembers(key).delete(key).execute()
        return {group.decode() for group in groups}
