"""A subscription neither misses a change committed while its snapshot is read, nor replays an
older one; a list fetched after following its collection converges with the events."""

import asyncio
import threading
from contextlib import contextmanager

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from rest_framework.test import APIClient

from api.models import Foo
from api.serializers import FooSerializer
from api.views.foos import FooViewSet
from realtime import notifications
from realtime.hub import get_hub
from tests.support import group_members, hashid, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def reads_blocked(table: str):
    """Holds a lock that makes every read of `table` wait, from another connection."""
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            if connection.vendor == "postgresql":
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                    holding.set()
                    release.wait(10)
            else:
                with connection.cursor() as cursor:
                    cursor.execute("BEGIN EXCLUSIVE")
                    holding.set()
                    release.wait(10)
                    cursor.execute("COMMIT")
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


async def wait_until(condition) -> None:
    async with asyncio.timeout(5):
        # Polls: nothing signals when another task has reached the state this waits for.
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def held_events(group: str) -> int:
    """Events the subscribing socket holds back for `group` (synchronisation only)."""
    (socket,) = get_hub().groups[group]
    return len(socket.pending.get(group, ()))


async def test_change_committed_during_the_snapshot_is_replayed_after_it(open_socket, user, foo):
    socket = await open_socket(user)
    group = notifications.group_name(type(foo), foo.pk)
    with reads_blocked("api_foo"):
        await socket.send_json_to(subscription(foo, request_id="s"))
        await wait_until(lambda: _is(group_members(group), 1))
        # The snapshot read waits on the lock; meanwhile two events reach the socket: one of
        # the version it will read (committed before the read), one newer.
        same = notifications.update_message(foo, None)
        foo.bar, foo.version = "newer", 2
        newer = notifications.update_message(foo, None)
        for message in (same, newer):
            await get_channel_layer().group_send(group, {**message, "group": group})
        await wait_until(lambda: _is(held_events(group), 2))
    answer = await socket.receive_json_from()
    assert (answer["type"], answer["payload"]["version"]) == ("SUBSCRIBED", 1)
    event = await socket.receive_json_from()
    assert (event["type"], event["payload"]["bar"], event["meta"]["version"]) == (
        "UPDATE_FOO",
        "newer",
        2,
    )
    assert await socket.receive_nothing(timeout=0.2)


async def _is(count, expected: int) -> bool:
    return await count == expected


def fold(items: list[dict], events: list[dict]) -> dict:
    """What a client makes of a list and the events of its collection (the JS client's
    `subscribeList`): the list's items, then each event newer than what it knows of its object.
    A DELETE carries the version of the last state, so it is newer when not older; a deleted
    object's version is kept, so that a late older event cannot bring it back."""
    state = {item["id"]: item for item in items}
    known = {item["id"]: item["version"] for item in items}
    for event in events:
        id, version = event["meta"]["id"], event["meta"]["version"]
        deletes = event["type"].startswith("DELETE_")
        if id in known and (version < known[id] or (version == known[id] and not deletes)):
            continue
        known[id] = version
        if deletes:
            state.pop(id, None)
        else:
            state[id] = event["payload"]
    return state


def in_another_thread(work) -> None:
    thread = threading.Thread(target=lambda: (work(), connection.close()))
    thread.start()
    thread.join(10)


async def test_a_list_fetched_after_following_converges_with_the_events(
    open_socket, monkeypatch, user, other_user
):
    """Creates, updates, transfers both ways and deletes commit after the SUBSCRIBED answer and
    before the GET, after the GET read the list but before its response, and after it: the list
    and the events together give exactly the server's state."""
    kept, leaving, arriving = await sync_to_async(
        lambda: [
            Foo.objects.create(bar=bar, owner=owner)
            for bar, owner in [("kept", user), ("leaving", user), ("arriving", other_user)]
        ]
    )()
    later = await sync_to_async(Foo.objects.create)(bar="arrives later", owner=other_user)
    socket = await open_socket(user)
    await socket.send_json_to({"model": "api.Foo", "request_id": "list"})
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"

    list_view = FooViewSet.list

    def list_then_change(self, request, *args, **kwargs):
        response = list_view(self, request, *args, **kwargs)
        in_another_thread(
            lambda: change_after_the_read(user, other_user, created_early, leaving, arriving, later)
        )
        return response

    monkeypatch.setattr(FooViewSet, "list", list_then_change)
    created_early = await sync_to_async(change_before_the_read)(user, kept, arriving)
    items = (await sync_to_async(get_list)(user))["results"]
    await save(created_early, bar="changed after the response")
    await sync_to_async(leaving.delete)()
    marker = await sync_to_async(Foo.objects.create)(bar="last", owner=user)
    events = await events_until(socket, hashid(marker))

    expected = await sync_to_async(visible_state)(user)
    assert len(expected) == 5
    assert fold(items, events) == expected


def change_before_the_read(user, kept, arriving) -> Foo:
    """A create, an update and a transfer in, committed before the GET reads the list."""
    created = Foo.objects.create(bar="created before the read", owner=user)
    kept.bar = "changed before the read"
    kept.save()
    arriving.owner = user
    arriving.save()
    return created


def change_after_the_read(user, other_user, created_early, leaving, arriving, later) -> None:
    """An update, a transfer out and back, a create, a delete, and a transfer in then an update,
    committed after the GET read the list but before its response."""
    created_early.bar = "changed after the read"
    created_early.save()
    leaving.owner = other_user  # lost, then back
    leaving.save()
    Foo.objects.create(bar="created after the read", owner=user)
    arriving.delete()
    later.owner = user
    later.save()
    later.bar = "arrived, then changed"
    later.save()
    leaving.owner = user
    leaving.save()


async def events_until(socket, last_id: str) -> list[dict]:
    """The socket's events up to the one about `last_id`, included."""
    events = []
    while not events or events[-1]["meta"]["id"] != last_id:
        events.append(await socket.receive_json_from())
    return events


def visible_state(user) -> dict:
    """The server's state of the Foos `user` sees, by id, as the list serializes them."""
    return {item["id"]: item for item in FooSerializer(Foo.visible_to(user), many=True).data}


def get_list(user) -> dict:
    client = APIClient()
    client.force_login(user)
    return client.get("/api/foo").json()
