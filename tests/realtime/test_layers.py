"""The Redis layer's reads: the hub's batched read, and reads that end when they are cancelled,
whenever the cancellation arrives."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer

from api.views.health import channel_layer_ok
from realtime.layers import EXPIRED, RedisChannelLayer
from tests.servers import RedisServer

pytestmark = pytest.mark.redis

# A read that is not blocked in Redis ends at once; a blocked one as soon as its connection is
# closed. A lost cancellation shows as a read still running after its 5 s blocking read.
ENDS_WITHIN = 2

READS = {
    "receive": lambda layer, channel: layer.receive(channel),
    "receive_many": lambda layer, channel: layer.receive_many(channel, 10),
}


@pytest.mark.parametrize("read", READS)
async def test_a_read_cancelled_at_any_turn_of_the_loop_ends(read):
    """What was tried: a read of an empty channel, cancelled after 0, 1, 2... turns of the
    event loop, through its first commands to its blocking read. With redis-py's own connection
    on Python 3.11, a cancellation that arrived as a command's write completed was lost, and the
    read blocked in one 5 s read after another."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for turns in range(40):
        reading = asyncio.ensure_future(READS[read](layer, channel))
        for _ in range(turns):
            await asyncio.sleep(0)
        reading.cancel()
        await asyncio.wait([reading], timeout=ENDS_WITHIN)
        assert reading.cancelled(), f"not cancelled after {turns} turns: {reading!r}"


@pytest.fixture
def two_shards():
    servers = [RedisServer(), RedisServer()]
    yield RedisChannelLayer(hosts=[server.url for server in servers])
    for server in servers:
        server.stop()


async def test_a_join_adds_the_channel_to_each_group_and_sets_its_expiry(two_shards):
    """What was tried: a channel joining 20 groups at once, as a socket joins an object's and
    its own on connect, on a layer sharded over two Redis servers, in one pipelined round trip
    per shard: each group, on its own shard, holds the channel, expires `group_expiry` after the
    join, and its messages reach the channel."""
    layer = two_shards
    channel, groups = await layer.new_channel(), [f"joined-{n}" for n in range(20)]
    assert {layer.consistent_hash(group) for group in groups} == {0, 1}
    await layer.group_add_many(groups, channel)

    for group in groups:
        shard = layer.connection(layer.consistent_hash(group))
        assert await members(layer, group) == [channel.encode()]
        ttl = await shard.ttl(layer._group_key(group))
        assert layer.group_expiry - 5 <= ttl <= layer.group_expiry
    for group in groups:
        await layer.group_send(group, {"type": "event", "group": group})
    received = await layer.receive_many(channel, 100)
    assert [message["group"] for message in received] == groups


async def test_commands_past_the_pools_connections_wait_for_one(settings):
    """What was tried: 50 joins, then 50 leaves, at once on a layer of 2 connections, as a
    thousand sockets closing together leave their groups. channels-redis' pool raised "Too many
    connections" for each command past the second."""
    [host] = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    layer = RedisChannelLayer(hosts=[{**host, "max_connections": 2}])
    channel, groups = await layer.new_channel(), [f"g{n}-{uuid.uuid4().hex}" for n in range(50)]

    await asyncio.gather(*(layer.group_add(group, channel) for group in groups))
    assert [await members(layer, group) for group in groups] == [[channel.encode()]] * 50
    await asyncio.gather(*(layer.group_discard(group, channel) for group in groups))
    assert [await members(layer, group) for group in groups] == [[]] * 50


async def members(layer, group: str) -> list[bytes]:
    return await layer.connection(layer.consistent_hash(group)).zrange(
        layer._group_key(group), 0, -1
    )


async def test_a_message_that_expired_unread_is_missed_by_some_group():
    """What was tried: a message to a group left unread in its channel past the layer's expiry
    (shortened to 1 s) while the group's next messages keep coming, each within the expiry of
    the one before (which would otherwise expire the channel's whole key): the first is
    deleted, as channels-redis deletes it, and the channel's missed groups say so."""
    layer = get_channel_layer()
    layer.expiry = 1
    channel, group = await layer.new_channel(), f"late-{uuid.uuid4().hex}"
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "expires"})
    for number in range(3):
        await asyncio.sleep(0.7)
        await layer.group_send(group, {"type": "later", "number": number})

    assert await layer.missed_groups(channel) == {EXPIRED}
    received = await layer.receive_many(channel, 10)
    assert {"type": "expires"} not in received
    assert received[-1] == {"type": "later", "number": 2}
    assert await layer.missed_groups(channel) == set()


async def test_receive_many_reads_what_waits_at_once_oldest_first():
    """What was tried: five messages waiting for a hub's channel and, behind them, one for
    another channel of the same process (both in one Redis key) and one to a group of both
    (one message in Redis, naming both), read four at a time."""
    layer = get_channel_layer()
    hub, other = await layer.new_channel(), await layer.new_channel()
    for number in range(5):
        await layer.send(hub, {"type": "event", "number": number})
    await layer.send(other, {"type": "other"})
    await layer.group_add("both", hub)
    await layer.group_add("both", other)
    await layer.group_send("both", {"type": "both"})

    assert [message["number"] for message in await layer.receive_many(hub, 4)] == [0, 1, 2, 3]
    assert await layer.receive_many(hub, 4) == [{"type": "event", "number": 4}, {"type": "both"}]
    # The other channel's messages, read with the hub's, wait for its own reader.
    assert await layer.receive(other) == {"type": "other"}
    assert await layer.receive(other) == {"type": "both"}


async def test_receive_many_waits_for_the_first_message():
    """What was tried: a read of an empty channel whose blocking reads (made short here) time
    out before a message comes."""
    layer = get_channel_layer()
    layer.brpop_timeout = 0.1
    channel = await layer.new_channel()
    reading = asyncio.ensure_future(layer.receive_many(channel, 10))

    done, _ = await asyncio.wait([reading], timeout=5 * layer.brpop_timeout)
    assert not done
    await layer.send(channel, {"type": "event"})
    assert await reading == [{"type": "event"}]


async def test_receive_many_reads_what_another_reader_of_its_key_took_for_it():
    """What was tried: channels-redis' own `receive` of another channel of the process, which
    reads the shared key in order and so takes the hub's waiting message first (it keeps it in
    a buffer): the hub's next read returns it."""
    layer = get_channel_layer()
    hub, other = await layer.new_channel(), await layer.new_channel()
    await layer.send(hub, {"type": "event"})
    await layer.send(other, {"type": "other"})

    assert await layer.receive(other) == {"type": "other"}
    assert await layer.receive_many(hub, 10) == [{"type": "event"}]


async def test_the_readiness_round_trip_leaves_the_hubs_messages_in_redis():
    """What was tried: the readiness check's layer round trip while an event waits for the hub
    (HAProxy asks every 2 s). Its read used the hub's key, took the event into a buffer the hub
    did not read, and the event was lost (the cluster smoke test stalled on it)."""
    layer = get_channel_layer()
    hub = await layer.new_channel()
    await layer.send(hub, {"type": "event"})

    assert await channel_layer_ok()
    assert not layer.receive_buffer
    assert await layer.receive_many(hub, 10) == [{"type": "event"}]
