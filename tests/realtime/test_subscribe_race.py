"""A subscription neither misses a change committed while its snapshot is read, nor replays an
older one."""

import asyncio
import threading
from contextlib import contextmanager

import pytest
from channels.layers import get_channel_layer
from django.db import connection, transaction

from realtime import notifications
from realtime.hub import get_hub
from tests.support import group_members, subscription

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
