"""The hub never leaves a socket open and deaf: what its layer loses, its sockets are told."""

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.test import Client

from api.models import Foo
from realtime import hub, notifications
from realtime.hub import WATCH_INTERVAL, get_hub
from realtime.layers import EXPIRED
from realtime.metrics import LAYER_FAILURES, MESSAGES_DROPPED, RESYNCS_REQUESTED
from realtime.sockets import open_sockets
from tests.servers import RedisServer
from tests.support import close_code, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)

# A watch runs every second; a fault is answered within a few.
ANSWERED_WITHIN = 5


def sample(counter, **labels) -> float:
    """A counter's count, read from the counter: the registry would also run the jobs' collector,
    which reads the database, as no async code may."""
    [family] = counter.collect()
    counts = [s.value for s in family.samples if s.name.endswith("_total") and s.labels == labels]
    return counts[0] if counts else 0.0


def resyncs(reason: str) -> float:
    return sample(RESYNCS_REQUESTED, reason=reason)


async def wait_until(condition) -> None:
    """Polls `condition`: the hub's state is a flag, with no event to wait for."""
    async with asyncio.timeout(ANSWERED_WITHIN):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def heard_again(subscribed, user, foo, bar: str) -> bool:
    """Whether a new socket of `user`, subscribed to `foo`, hears its next change."""
    again = await subscribed(user, foo)
    await save(foo, bar=bar)
    return (await again.receive_json_from())["payload"]["bar"] == bar


async def test_a_hub_whose_receive_loop_fails_closes_its_sockets_with_4011(
    subscribed, open_socket, user, foo, caplog
):
    first, second = await subscribed(user, foo), await open_socket(user)
    failed_hub = get_hub()
    failures, closed = sample(LAYER_FAILURES), resyncs("hub_failed")

    # A message the hub cannot read (an event without its group) ends its receive loop.
    with caplog.at_level(logging.ERROR, logger="realtime.hub"):
        await get_channel_layer().send(await failed_hub._channel, {"type": notifications.EVENT})
        assert await close_code(first) == 4011
        assert await close_code(second) == 4011

    assert "The hub stopped receiving events" in caplog.text
    assert sample(LAYER_FAILURES) == failures + 1
    assert resyncs("hub_failed") == closed + 2


async def test_the_next_socket_gets_a_working_hub(subscribed, user, foo):
    first = await subscribed(user, foo)
    await get_channel_layer().send(await get_hub()._channel, {"type": notifications.EVENT})
    assert await close_code(first) == 4011

    assert await heard_again(subscribed, user, foo, "heard by the new hub")


async def test_a_cancelled_receive_loop_closes_its_sockets_with_4011(subscribed, user, foo):
    socket = await subscribed(user, foo)

    get_hub()._receiver.cancel()

    assert await close_code(socket) == 4011


async def test_a_process_without_a_hub_or_with_a_working_one_is_receiving(subscribed, user, foo):
    assert hub.receiving()
    await subscribed(user, foo)
    assert hub.receiving()


def memory_layer(settings, **config) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "realtime.layers.InMemoryChannelLayer", "CONFIG": config}
    }


async def send_changes(foo, bars: list[str]) -> str:
    """An event of the Foo for each of `bars`, sent to its group one after the other, with no
    turn of the loop for the hub in between (the in-memory layer's sends do not yield): the
    group."""
    group = notifications.group_name(Foo, foo.pk)
    for bar in bars:
        foo.bar = bar
        message = notifications.update_message(foo, {"bar"})
        await get_channel_layer().group_send(group, {**message, "group": group})
    return group


@pytest.fixture
def tiny_capacity(settings):
    """An in-memory layer whose channels hold one message: a second one sent before the hub
    reads the first is dropped."""
    memory_layer(settings, capacity=1)


async def test_sockets_that_missed_a_dropped_message_are_told_to_resync(
    tiny_capacity, subscribed, user, other_user, foo, foreign_foo, caplog
):
    socket, bystander = await subscribed(user, foo), await subscribed(other_user, foreign_foo)
    dropped, resynced = sample(MESSAGES_DROPPED), resyncs("dropped")

    with caplog.at_level(logging.WARNING, logger="realtime.layers"):
        group = await send_changes(foo, ["kept", "dropped"])

    assert (await socket.receive_json_from())["payload"]["bar"] == "kept"
    assert await close_code(socket) == 4205
    assert f"A message to group {group} was dropped: 1 channel(s) over capacity" in caplog.text
    assert sample(MESSAGES_DROPPED) == dropped + 1
    assert resyncs("dropped") == resynced + 1
    # Its group lost nothing: it stays open.
    assert await bystander.receive_nothing(timeout=0.2)


@pytest.fixture
def instant_expiry(settings):
    """An in-memory layer whose messages expire as they are sent: one the hub has not read by
    the next send is deleted."""
    memory_layer(settings, expiry=0)


async def test_a_message_that_expired_unread_resyncs_every_socket_of_the_hub(
    instant_expiry, subscribed, user, other_user, foo, foreign_foo
):
    """What was tried: two events sent before the hub reads the first, expired by then, as it
    would be for a hub a minute behind. Channels' in-memory layer deletes it and takes the
    hub's channel out of every group: every socket of the hub resyncs, and the hub, joined
    again, hears the next change."""
    socket, bystander = await subscribed(user, foo), await subscribed(other_user, foreign_foo)
    resynced = resyncs("layer_lost")

    await send_changes(foo, ["expired", "unheard"])

    assert await close_code(socket) == 4205
    assert await close_code(bystander) == 4205
    assert resyncs("layer_lost") == resynced + 2
    # A change sends two messages, the second of which would expire the first again.
    get_channel_layer().expiry = 60
    assert await heard_again(subscribed, user, foo, "after the expiry")


@pytest.mark.redis
async def test_every_socket_resyncs_when_a_message_to_the_hub_expired_in_redis(
    subscribed, user, other_user, foo, foreign_foo
):
    """What was tried: the mark that the Redis layer's send leaves when it deletes a message
    that waited for the hub past the layer's expiry (tests/realtime/test_layers.py makes it),
    set where the send sets it. Which group the message was for is not known: every socket of
    the hub resyncs."""
    socket, bystander = await subscribed(user, foo), await subscribed(other_user, foreign_foo)
    resynced = resyncs("dropped")
    layer = get_channel_layer()
    name = layer.non_local_name(await get_hub()._channel)

    await layer.connection(layer.consistent_hash(name)).sadd(
        f"{layer.prefix}{name}$missed", EXPIRED
    )

    assert await close_code(socket) == 4205
    assert await close_code(bystander) == 4205
    assert resyncs("dropped") == resynced + 2


@pytest.fixture
def own_redis(settings):
    """The layer on redis-servers of the test's own, which it may flush or kill."""
    servers = []

    def own_redis(shards=1) -> list[RedisServer]:
        servers.extend(RedisServer() for _ in range(shards))
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "realtime.layers.RedisChannelLayer",
                "CONFIG": {"hosts": [server.url for server in servers]},
            }
        }
        return servers

    yield own_redis
    for server in servers:
        server.stop()


@pytest.mark.redis
async def test_sockets_are_told_to_resync_when_redis_loses_the_hubs_memberships(
    own_redis, subscribed, user, foo
):
    [server] = own_redis()
    socket = await subscribed(user, foo)
    resynced = resyncs("layer_lost")

    # What a restart without persistence, or a failover to an empty replica, leaves behind.
    await asyncio.to_thread(server.client().flushall)

    assert await close_code(socket) == 4205
    assert resyncs("layer_lost") == resynced + 1
    assert await heard_again(subscribed, user, foo, "after the flush")


@pytest.mark.redis
async def test_a_shard_that_restarts_empty_stops_readiness_then_resyncs_the_sockets(
    own_redis, subscribed, user, foo, caplog
):
    servers = own_redis(shards=2)
    socket = await subscribed(user, foo)
    layer = get_channel_layer()
    # The shard that does not hold the hub's channel: its blocking read goes on meanwhile.
    receiving_on = layer.consistent_hash(layer.non_local_name(await get_hub()._channel))
    other = servers[1 - receiving_on]

    with caplog.at_level(logging.WARNING, logger="realtime.hub"):
        await asyncio.to_thread(other.kill)
        await wait_until(lambda: not hub.receiving())
        ready = await sync_to_async(Client().get)("/api/health/ready")
        assert (ready.status_code, ready.json()["hub"]) == (503, "unavailable")
        await asyncio.sleep(2 * WATCH_INTERVAL)  # the outage goes on, watched twice more
        await asyncio.to_thread(other.start)

    assert await close_code(socket) == 4205
    # Logged once, not once a second.
    warnings = [record.getMessage() for record in caplog.records if record.name == "realtime.hub"]
    assert warnings.count("The channel layer is unreachable") == 1
    await wait_until(hub.receiving)
    assert await heard_again(subscribed, user, foo, "after the restart")


def refuse(server: RedisServer, command: str, refused: bool = True) -> None:
    """Has `server` refuse `command` to the layer (an ACL rule), or serve it again: a command
    that fails as it would with Redis unreachable, while the hub's own reads go on."""
    rule = f"-{command}" if refused else f"+{command}"
    server.client().execute_command("ACL", "SETUSER", "default", rule)


@pytest.mark.redis
async def test_sockets_whose_groups_the_layer_cannot_join_are_closed_with_4205(
    own_redis, subscribed, open_socket, user, other_user, foo, caplog
):
    """What was tried: a socket opening, and another subscribing to a new object, while Redis
    refuses the joins' ZADD. Each used to end its consumer with the layer's error: a socket
    closed with 1011 or a failed handshake, counted open for good."""
    [server] = own_redis()
    socket = await subscribed(user, foo)
    second = await sync_to_async(Foo.objects.create)(bar="second", owner=user)
    resynced = resyncs("layer_lost")

    with caplog.at_level(logging.WARNING, logger="realtime.hub"):
        await asyncio.to_thread(refuse, server, "zadd")
        opening = await open_socket(other_user)
        await socket.send_json_to(subscription(second, request_id="sub"))
        assert await close_code(opening) == 4205
        assert await close_code(socket) == 4205

    assert caplog.text.count("A socket could not join its groups: NoPermissionError") == 2
    assert resyncs("layer_lost") == resynced + 2
    # Daphne's disconnect after the close counts them out, as it does any closed socket.
    for closed in (opening, socket):
        await closed.disconnect()
    assert open_sockets().sockets == {}
    await asyncio.to_thread(refuse, server, "zadd", refused=False)
    assert await heard_again(subscribed, user, second, "once the layer joins again")


@pytest.mark.redis
async def test_a_socket_whose_groups_the_layer_cannot_leave_still_closes(
    own_redis, subscribed, user, foo, caplog
):
    """What was tried: a socket closing while Redis refuses the leave's ZREM. Its disconnect
    used to fail on the layer's error, the socket still counted open (toward its user's limit)
    and a member of its groups in the hub."""
    [server] = own_redis()
    socket = await subscribed(user, foo)
    group = notifications.group_name(Foo, foo.pk)

    with caplog.at_level(logging.WARNING, logger="realtime.hub"):
        await asyncio.to_thread(refuse, server, "zrem")
        await socket.disconnect()

    assert f"The hub could not leave group {group}" in caplog.text
    assert open_sockets().sockets == {}
    assert get_hub().groups == {}
    await asyncio.to_thread(refuse, server, "zrem", refused=False)
    assert await heard_again(subscribed, user, foo, "after a leave the layer refused")


async def test_a_fan_out_lets_the_loop_serve_others_between_slices(
    subscribed, user, foo, monkeypatch
):
    """The loop that writes a fan-out also serves HTTP, the writer's own response among it: it
    gets a turn after every DELIVERY_SLICE sockets, and every socket still gets the event."""
    monkeypatch.setattr(hub, "DELIVERY_SLICE", 2)
    sockets = [await subscribed(user, foo) for _ in range(5)]

    async def watch() -> set[int]:
        """How many sockets had the frame at each of this task's turns, until all have it."""
        seen = {0}
        while max(seen) < len(sockets):
            await asyncio.sleep(0)
            seen.add(sum(not socket.output_queue.empty() for socket in sockets))
        return seen

    async with asyncio.timeout(ANSWERED_WITHIN):
        watching = asyncio.ensure_future(watch())
        await save(foo, bar="to five sockets")
        seen = await watching

    # The task ran between the first socket's frame and the last's.
    assert seen & {1, 2, 3, 4}
    for socket in sockets:
        assert (await socket.receive_json_from())["payload"]["bar"] == "to five sockets"


async def test_events_that_arrive_together_reach_each_socket_in_order(subscribed, user, foo):
    """Events that arrive during a fan-out are written together in the next one: each socket
    gets those of the groups it follows, in the order they were sent."""
    second = await sync_to_async(Foo.objects.create)(bar="second", owner=user)
    one, both = await subscribed(user, foo), await subscribed(user, foo)
    await both.send_json_to(subscription(second, request_id="sub"))
    assert (await both.receive_json_from())["type"] == "SUBSCRIBED"

    def change(instance, bar: str) -> dict:
        instance.bar = bar
        message = notifications.update_message(instance, {"bar"})
        return {**message, "group": message["object"]}

    changes = [(foo, "foo first"), (second, "second"), (foo, "foo again")]
    messages = [await sync_to_async(change)(instance, bar) for instance, bar in changes]
    for message in messages:
        await get_channel_layer().group_send(message["group"], message)

    async with asyncio.timeout(ANSWERED_WITHIN):
        got_one = [(await one.receive_json_from())["payload"]["bar"] for _ in range(2)]
        got_both = [(await both.receive_json_from())["payload"]["bar"] for _ in range(3)]
    assert got_one == ["foo first", "foo again"]
    assert got_both == ["foo first", "second", "foo again"]
    assert await one.receive_nothing()
    assert await both.receive_nothing()


async def test_nothing_follows_the_event_that_ends_a_subscription_in_the_same_fan_out(
    subscribed, user, foo
):
    """A socket that an event unsubscribed is handed none of the group's events that arrived
    with it."""
    socket = await subscribed(user, foo)

    def delete_then_update() -> list[dict]:
        deleted = notifications.delete_message(foo)
        foo.bar = "after the delete"
        updated = notifications.update_message(foo, {"bar"})
        return [{**message, "group": message["object"]} for message in (deleted, updated)]

    for message in await sync_to_async(delete_then_update)():
        await get_channel_layer().group_send(message["group"], message)

    assert (await socket.receive_json_from())["type"] == "DELETE_FOO"
    assert await socket.receive_nothing()


async def test_a_group_past_its_tuple_size_hears_each_event_once(subscribed, user, foo):
    """One more socket than a tuple holds follow the object: each hears each event once, and
    one that unsubscribes hears no more while the others still do."""
    sockets = [await subscribed(user, foo) for _ in range(hub.TUPLE_MEMBERS + 1)]
    group = notifications.group_name(Foo, foo.pk)

    await save(foo, bar="to all")
    for socket in sockets:
        assert (await socket.receive_json_from())["payload"]["bar"] == "to all"
    leaver, *stayers = sockets
    await leaver.send_json_to({**subscription(foo), "action": "unsubscribe", "request_id": 1})
    assert (await leaver.receive_json_from())["type"] == "UNSUBSCRIBED"
    await save(foo, bar="to the others")

    for socket in stayers:
        assert (await socket.receive_json_from())["payload"]["bar"] == "to the others"
        assert await socket.receive_nothing(timeout=0.01)
    assert await leaver.receive_nothing()
    assert len(get_hub().groups[group]) == len(stayers)


def test_a_small_group_is_a_tuple_and_a_join_twice_adds_once():
    first, second = object(), object()
    members = hub.with_member(hub.with_member((), first), second)
    assert members == (first, second)
    assert hub.with_member(members, first) is members
    assert hub.without_member(members, first) == (second,)
    assert hub.without_member((second,), second) == ()
