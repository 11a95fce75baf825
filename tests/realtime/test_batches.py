"""Batched subscriptions (`{"subscribe": [...]}`): each item answered as if it came alone, the
snapshots of each model read in one query."""

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import Foo
from realtime.hub import get_hub
from realtime.notifications import group_name
from tests.realtime.test_consumers import error_of
from tests.realtime.test_hub import wait_until
from tests.support import close_code, group_members, hashid, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)


def snapshot(foo, version=1) -> dict:
    return {
        "model": "api.Foo",
        "id": hashid(foo),
        "version": version,
        "data": {
            "id": hashid(foo),
            "bar": foo.bar,
            "owner": hashid(foo.owner),
            "created_at": foo.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": foo.updated_at.isoformat().replace("+00:00", "Z"),
            "version": version,
        },
    }


@contextlib.asynccontextmanager
async def queries():
    """The queries of the thread that runs the consumers' database work (the one sync thread
    that `database_sync_to_async` and `sync_to_async` share here), listed when the block ends."""
    context, captured = CaptureQueriesContext(connection), []
    await sync_to_async(context.__enter__)()
    try:
        yield captured
    finally:
        await sync_to_async(context.__exit__)(None, None, None)
        captured += await sync_to_async(lambda: context.captured_queries)()


async def mine(user, count: int) -> list[Foo]:
    return [await Foo.objects.acreate(bar=f"foo {i}", owner=user) for i in range(count)]


async def test_each_item_is_answered_in_order_with_its_request_id(open_socket, user):
    foos = await mine(user, 3)
    socket = await open_socket(user)
    await socket.send_json_to(
        {"subscribe": [subscription(foo, request_id=n) for n, foo in enumerate(foos)]}
    )

    for n, foo in enumerate(foos):
        assert await socket.receive_json_from() == {
            "type": "SUBSCRIBED",
            "payload": snapshot(foo),
            "meta": {"request_id": n},
        }
    assert await socket.receive_nothing(timeout=0.1)


async def test_the_subscribed_objects_stream_their_changes(open_socket, user):
    foos = await mine(user, 2)
    socket = await open_socket(user)
    await socket.send_json_to({"subscribe": [subscription(foo, request_id=foo.pk) for foo in foos]})
    for _ in foos:
        assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(foos[1], bar="changed")

    event = await socket.receive_json_from()
    assert event["type"] == "UPDATE_FOO"
    assert event["payload"]["id"] == hashid(foos[1])
    assert event["payload"]["bar"] == "changed"


async def test_sockets_batching_the_same_objects_at_once_are_each_answered_in_order(
    open_socket, user
):
    """A batch joins its groups at once, each under its group's lock: two sockets that join
    the same groups in opposite orders at the same time both get every item, in order, and
    every later change."""
    foos = await mine(user, 4)
    first, second = await open_socket(user), await open_socket(user)
    await first.send_json_to({"subscribe": [subscription(foo, request_id=foo.pk) for foo in foos]})
    await second.send_json_to(
        {"subscribe": [subscription(foo, request_id=foo.pk) for foo in reversed(foos)]}
    )

    for socket, order in ((first, foos), (second, foos[::-1])):
        for foo in order:
            answer = await socket.receive_json_from()
            assert (answer["type"], answer["meta"]) == ("SUBSCRIBED", {"request_id": foo.pk})
    for foo in foos:
        await save(foo, bar="changed")
        for socket in (first, second):
            assert (await socket.receive_json_from())["payload"]["id"] == hashid(foo)


async def test_a_collection_is_followed_in_a_batch(open_socket, user):
    (foo,) = await mine(user, 1)
    socket = await open_socket(user)
    await socket.send_json_to(
        {"subscribe": [{"model": "api.Foo", "request_id": "list"}, subscription(foo, request_id=1)]}
    )

    assert await socket.receive_json_from() == {
        "type": "SUBSCRIBED",
        "payload": {"model": "api.Foo"},
        "meta": {"request_id": "list"},
    }
    assert (await socket.receive_json_from())["meta"] == {"request_id": 1}


async def test_foreign_and_absent_objects_are_the_same_not_found(open_socket, user, foreign_foo):
    (foo,) = await mine(user, 1)
    absent = Foo(pk=foreign_foo.pk + 100)
    socket = await open_socket(user)
    await socket.send_json_to(
        {
            "subscribe": [
                subscription(foreign_foo, request_id="foreign"),
                subscription(foo, request_id="mine"),
                {"model": "api.Foo", "id": hashid(absent), "request_id": "absent"},
            ]
        }
    )

    foreign = await error_of(socket)
    assert (await socket.receive_json_from())["meta"] == {"request_id": "mine"}
    gone = await error_of(socket)
    assert (
        foreign["payload"] == gone["payload"] == {"code": "not_found", "detail": "No such object."}
    )
    assert (foreign["meta"], gone["meta"]) == ({"request_id": "foreign"}, {"request_id": "absent"})
    await save(foreign_foo, bar="not for you")
    assert await socket.receive_nothing(timeout=0.2)


async def test_an_invalid_item_gets_its_error_and_the_others_are_subscribed(open_socket, user):
    (foo,) = await mine(user, 1)
    socket = await open_socket(user)
    await socket.send_json_to(
        {
            "subscribe": [
                {"model": "api.Foo", "id": "not-a-hashid", "request_id": "bad"},
                {**subscription(foo), "action": "unsubscribe", "request_id": "undo"},
                subscription(foo, request_id="good"),
            ]
        }
    )

    bad = await error_of(socket)
    assert bad["payload"]["code"] == "invalid"
    assert "id" in bad["payload"]["errors"]
    assert bad["meta"] == {"request_id": "bad"}
    undo = await error_of(socket)
    assert "action" in undo["payload"]["errors"]
    assert undo["meta"] == {"request_id": "undo"}
    assert await socket.receive_json_from() == {
        "type": "SUBSCRIBED",
        "payload": snapshot(foo),
        "meta": {"request_id": "good"},
    }


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"subscribe": []}, "subscribe"),
        ({"subscribe": {"model": "api.Foo"}}, "subscribe"),
        ({"subscribe": ["api.Foo"]}, "subscribe"),
        ({"subscribe": [{"model": "api.Foo"}], "request_id": [1]}, "request_id"),
    ],
)
async def test_a_malformed_batch_is_invalid_as_a_whole(open_socket, user, message, field):
    socket = await open_socket(user)
    await socket.send_json_to({"request_id": "batch", **message})

    error = await error_of(socket)
    assert error["payload"]["code"] == "invalid"
    assert field in error["payload"]["errors"]
    assert error["meta"] == ({} if field == "request_id" else {"request_id": "batch"})


async def test_items_past_the_subscription_limit_are_refused_one_by_one(
    open_socket, settings, user
):
    settings.REALTIME = {"MAX_SUBSCRIPTIONS": 2}
    foos = await mine(user, 3)
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foos[0], request_id="first"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await socket.send_json_to(
        {"subscribe": [subscription(foo, request_id=n) for n, foo in enumerate(foos[1:], 1)]}
    )

    assert (await socket.receive_json_from())["meta"] == {"request_id": 1}
    error = await error_of(socket)
    assert error["payload"]["code"] == "too_many_subscriptions"
    assert error["meta"] == {"request_id": 2}


async def test_a_batch_longer_than_the_subscription_limit_is_invalid(open_socket, settings, user):
    settings.REALTIME = {"MAX_SUBSCRIPTIONS": 2}
    foos = await mine(user, 3)
    socket = await open_socket(user)
    await socket.send_json_to(
        {"subscribe": [subscription(foo) for foo in foos], "request_id": "batch"}
    )

    error = await error_of(socket)
    assert error["payload"]["errors"] == {
        "subscribe": ["At most 2 subscriptions per batch, as many as a socket may hold."]
    }
    assert error["meta"] == {"request_id": "batch"}


async def test_a_batch_costs_the_throttle_one_message_per_item(open_socket, settings, user):
    settings.REALTIME = {"THROTTLE_BURST": 3, "THROTTLE_RATE": 0.001}
    foos = await mine(user, 4)
    socket = await open_socket(user)
    await socket.send_json_to(
        {"subscribe": [subscription(foo) for foo in foos], "request_id": "batch"}
    )

    error = await error_of(socket)
    assert error["payload"]["code"] == "throttled"
    assert error["meta"] == {"request_id": "batch"}
    # Refused whole: none of its objects was subscribed. Two messages are left.
    await save(foos[0], bar="unheard")
    await socket.send_json_to(
        {"subscribe": [subscription(foo, request_id=foo.bar) for foo in foos[1:3]]}
    )
    assert (await socket.receive_json_from())["meta"] == {"request_id": "foo 1"}
    assert (await socket.receive_json_from())["meta"] == {"request_id": "foo 2"}
    assert await socket.receive_nothing(timeout=0.2)
    await socket.send_json_to(subscription(foos[3], request_id="over"))
    assert (await error_of(socket))["payload"]["code"] == "throttled"


async def test_anonymous_batch_is_not_authenticated(open_socket, foo):
    socket = await open_socket()
    await socket.send_json_to({"subscribe": [subscription(foo)], "request_id": "batch"})

    error = await error_of(socket)
    assert error["payload"]["code"] == "not_authenticated"
    assert error["meta"] == {"request_id": "batch"}


async def test_one_query_per_model_whatever_the_number_of_objects(open_socket, user, other_user):
    """Each object in the representation its user may see: the user's own profile in full and
    another's public one, serialized together with the Foos in one batch."""
    foos = await mine(user, 5)
    socket = await open_socket(user)
    items = [subscription(foo, request_id=n) for n, foo in enumerate(foos)]
    items += [subscription(user, request_id="me"), subscription(other_user, request_id="them")]

    async with queries() as captured:
        await socket.send_json_to({"subscribe": items})
        answers = [await socket.receive_json_from() for _ in items]

    assert [answer["type"] for answer in answers] == ["SUBSCRIBED"] * 7
    assert [answer["payload"]["data"]["bar"] for answer in answers[:5]] == [foo.bar for foo in foos]
    assert set(answers[5]["payload"]["data"]) == {
        "id",
        "username",
        "email",
        "first_name",
        "last_name",
        "date_joined",
    }
    assert answers[6]["payload"]["data"] == {"id": hashid(other_user), "username": "bob"}
    assert len(captured) == 2
    assert {query["sql"].split(" FROM ")[1].split()[0] for query in captured} == {
        '"api_foo"',
        '"api_user"',
    }


async def test_a_socket_closed_while_its_batch_waits_to_join_is_left_in_no_group(open_socket, user):
    """A batch waits for a group's lock (another socket is joining or leaving that group) and,
    meanwhile, its session is deleted: the socket is closed with 4401, and is then in none of
    the groups it was joining, not even those it joined after it was closed."""
    foos = sorted(await mine(user, 3), key=lambda foo: group_name(Foo, foo.pk))
    first, held, last = (group_name(Foo, foo.pk) for foo in foos)
    socket = await open_socket(user)
    hub = get_hub()
    async with hub._lock(held):
        # Joined in the groups' order; left, on the close, in the batch's.
        await socket.send_json_to({"subscribe": [subscription(foo) for foo in reversed(foos)]})
        await wait_until(hub._lock(first).locked)
        await Session.objects.filter(session_key=socket.session_key).adelete()
        await asyncio.sleep(0.1)
    assert await close_code(socket) == 4401
    assert not {first, held, last} & set(hub.groups)
    assert [await group_members(group) for group in (first, held, last)] == [0, 0, 0]
