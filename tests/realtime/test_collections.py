"""Following a collection: `{"model"}` without an `id` follows every object the user can see."""

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from api.models import Foo, Job, User
from api.serializers import FooSerializer, JobSerializer, PublicUserSerializer, UserSerializer
from realtime import notifications
from realtime.hub import get_hub
from tests.conftest import make_user
from tests.support import group_members, hashid, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def following(open_socket):
    """A socket of `user` that follows `model`'s collection, its SUBSCRIBED answer checked."""

    async def following(user, model: str = "api.Foo"):
        socket = await open_socket(user)
        await socket.send_json_to({"model": model, "request_id": "list"})
        assert await socket.receive_json_from() == {
            "type": "SUBSCRIBED",
            "payload": {"model": model},
            "meta": {"request_id": "list"},
        }
        return socket

    return following


def patch(user, foo, data):
    client = APIClient()
    client.force_login(user)
    return client.patch(f"/api/foo/{hashid(foo)}", data, format="json")


def event_meta(instance, **extra) -> dict:
    return {
        "model": instance._meta.label,
        "id": hashid(instance),
        "version": instance.version,
        **extra,
    }


async def test_a_foo_created_for_the_user_arrives_as_create(following, user):
    socket = await following(user)
    foo = await sync_to_async(Foo.objects.create)(bar="new", owner=user)
    assert await socket.receive_json_from() == {
        "type": "CREATE_FOO",
        "payload": FooSerializer(foo).data,
        "meta": event_meta(foo, reason="created"),
    }


async def test_a_change_arrives_as_update_and_a_deletion_as_delete(following, user, foo):
    socket = await following(user)
    await save(foo, bar="changed")
    event = await socket.receive_json_from()
    assert (event["type"], event["payload"], event["meta"]) == (
        "UPDATE_FOO",
        FooSerializer(foo).data,
        event_meta(foo),
    )
    gone = {
        "type": "DELETE_FOO",
        "payload": {"id": hashid(foo)},
        "meta": event_meta(foo, reason="deleted"),
    }
    await sync_to_async(foo.delete)()
    assert await socket.receive_json_from() == gone


async def test_other_users_foos_are_not_sent(following, user, other_user, foreign_foo):
    socket = await following(user)
    await save(foreign_foo, bar="still not yours")
    await sync_to_async(Foo.objects.create)(bar="also not yours", owner=other_user)
    await sync_to_async(foreign_foo.delete)()
    assert await socket.receive_nothing(timeout=0.3)


async def test_a_transfer_is_create_for_the_new_owner_and_delete_for_the_old(
    following, user, other_user, foreign_foo
):
    mine, theirs = await following(user), await following(other_user)
    response = await sync_to_async(patch)(other_user, foreign_foo, {"owner": hashid(user)})
    assert response.status_code == 200
    gained = await mine.receive_json_from()
    assert (gained["type"], gained["payload"], gained["meta"]["reason"]) == (
        "CREATE_FOO",
        response.json(),
        "access_gained",
    )
    lost = await theirs.receive_json_from()
    assert (lost["type"], lost["payload"], lost["meta"]["reason"]) == (
        "DELETE_FOO",
        {"id": hashid(foreign_foo)},
        "access_lost",
    )
    assert lost["meta"]["version"] == gained["meta"]["version"] == 2


async def test_a_bulk_transfer_tells_both_owners(following, user, other_user, foo):
    mine, theirs = await following(user), await following(other_user)
    await sync_to_async(Foo.objects.filter(pk=foo.pk).update_and_notify)(owner=other_user)
    assert (await theirs.receive_json_from())["meta"]["reason"] == "access_gained"
    assert (await mine.receive_json_from())["meta"]["reason"] == "access_lost"


async def test_unfollowing_answers_and_stops_the_events(following, user):
    socket = await following(user)
    await socket.send_json_to({"model": "api.Foo", "action": "unsubscribe", "request_id": 2})
    assert await socket.receive_json_from() == {
        "type": "UNSUBSCRIBED",
        "payload": {"model": "api.Foo"},
        "meta": {"request_id": 2},
    }
    await sync_to_async(Foo.objects.create)(bar="unheard", owner=user)
    assert await socket.receive_nothing(timeout=0.3)


async def test_following_the_collection_and_one_of_its_foos_sends_each_change_once(
    following, user, foo
):
    socket = await following(user)
    await socket.send_json_to(subscription(foo, request_id="one"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(foo, bar="once")
    assert (await socket.receive_json_from())["payload"]["bar"] == "once"
    await sync_to_async(foo.delete)()
    assert (await socket.receive_json_from())["type"] == "DELETE_FOO"
    assert await socket.receive_nothing(timeout=0.3)
    # The deletion ended the subscription to the Foo too: the hub left its group.
    assert notifications.group_name(Foo, foo.pk) not in get_hub().groups


async def test_an_instance_subscription_ended_by_a_transfer_ends_quietly(
    following, user, other_user, foo
):
    socket = await following(user)
    await socket.send_json_to(subscription(foo, request_id="one"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(foo, owner=other_user)
    assert (await socket.receive_json_from())["meta"]["reason"] == "access_lost"
    assert await socket.receive_nothing(timeout=0.3)
    assert notifications.group_name(Foo, foo.pk) not in get_hub().groups


async def test_users_collection_shows_others_public_form_and_ones_own_full(following, user):
    socket = await following(user, "api.User")
    bob = await sync_to_async(make_user)("bob")
    created = await socket.receive_json_from()
    assert (created["type"], created["payload"]) == ("CREATE_USER", PublicUserSerializer(bob).data)
    await save(bob, email="bob@elsewhere.example")  # not in the public form: nothing
    await save(user, email="alice@elsewhere.example")
    own = await socket.receive_json_from()
    assert (own["type"], own["payload"]) == ("UPDATE_USER", UserSerializer(user).data)
    await save(bob, is_active=False)
    lost = await socket.receive_json_from()
    assert (lost["type"], lost["meta"]["reason"]) == ("DELETE_USER", "access_lost")
    await save(bob, username="inactive-bob")  # shown to nobody before or after: nothing
    await save(bob, is_active=True)
    back = await socket.receive_json_from()
    assert (back["type"], back["meta"]["reason"]) == ("CREATE_USER", "access_gained")
    assert back["payload"] == {"id": hashid(bob), "username": "inactive-bob"}
    await sync_to_async(bob.delete)()
    assert (await socket.receive_json_from())["meta"]["reason"] == "deleted"
    assert await socket.receive_nothing(timeout=0.3)


async def test_users_collection_and_one_user_send_each_change_once(following, user, other_user):
    socket = await following(user, "api.User")
    await socket.send_json_to(subscription(other_user, request_id="bob"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(other_user, username="robert")
    assert (await socket.receive_json_from())["payload"]["username"] == "robert"
    assert await socket.receive_nothing(timeout=0.3)


async def test_unfollowing_or_closing_leaves_the_users_collection_group(following, user):
    group = notifications.collection_group(User)
    first, second = await following(user, "api.User"), await following(user, "api.User")
    assert await group_members(group) == 1  # the process's hub, once for both sockets
    await first.send_json_to({"model": "api.User", "action": "unsubscribe"})
    await second.disconnect()
    await first.send_json_to({"model": "api.Foo", "id": "x", "request_id": "sync"})
    assert (await first.receive_json_from())["type"] == "ERROR"
    assert await group_members(group) == 0


async def test_a_job_is_created_for_the_collection_and_updated_for_every_socket(
    following, open_socket, user
):
    listing, other_tab = await following(user, "api.Job"), await open_socket(user)
    job = await sync_to_async(Job.objects.create)(kind=Job.Kind.FOO_IMPORT, owner=user)
    created = await listing.receive_json_from()
    assert (created["type"], created["payload"], created["meta"]["reason"]) == (
        "CREATE_JOB",
        JobSerializer(job).data,
        "created",
    )
    assert (await other_tab.receive_json_from())["type"] == "UPDATE_JOB"  # a feed, as before
    await save(job, state=Job.State.RUNNING)
    for socket in (listing, other_tab):
        assert (await socket.receive_json_from())["payload"]["state"] == "running"
        assert await socket.receive_nothing(timeout=0.2)


async def test_bad_collection_subscriptions_get_an_error_and_the_socket_stays(
    open_socket, monkeypatch, user, foo
):
    """Tried: a model that is no collection, with and without a request id, and unfollowing it;
    an unknown model; an anonymous socket."""
    monkeypatch.setattr(Job, "realtime_collection", False)
    socket = await open_socket(user)
    detail = (
        "'api.Job' cannot be followed as a collection: name one object's id. "
        "Collections: api.Foo, api.User."
    )
    for message in (
        {"model": "api.Job", "request_id": 1},
        {"model": "api.Job", "action": "unsubscribe", "request_id": 1},
    ):
        await socket.send_json_to(message)
        assert await socket.receive_json_from() == {
            "type": "ERROR",
            "error": True,
            "payload": {
                "code": "invalid",
                "detail": "The message is not a valid subscription.",
                "errors": {"id": [detail]},
            },
            "meta": {"request_id": 1},
        }
    await socket.send_json_to({"model": "api.Job"})
    assert (await socket.receive_json_from())["payload"]["errors"] == {"id": [detail]}
    await socket.send_json_to({"model": "api.Nothing", "request_id": 2})
    assert "model" in (await socket.receive_json_from())["payload"]["errors"]
    await socket.send_json_to(subscription(foo, request_id=3))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    anonymous = await open_socket()
    await anonymous.send_json_to({"model": "api.Foo", "request_id": 4})
    assert (await anonymous.receive_json_from())["payload"]["code"] == "not_authenticated"


async def test_following_a_collection_without_request_id_is_silent(open_socket, user):
    socket = await open_socket(user)
    await socket.send_json_to({"model": "api.Foo"})
    await socket.send_json_to({"model": "api.Foo"})  # twice: still one collection
    await socket.send_json_to({"model": "api.Foo", "request_id": "last"})
    assert (await socket.receive_json_from())["meta"] == {"request_id": "last"}
    foo = await sync_to_async(Foo.objects.create)(bar="heard", owner=user)
    assert (await socket.receive_json_from())["meta"] == event_meta(foo, reason="created")
    assert await socket.receive_nothing(timeout=0.2)


async def test_collections_count_towards_the_subscription_limit(open_socket, settings, user, foo):
    settings.REALTIME = {"MAX_SUBSCRIPTIONS": 2}
    socket = await open_socket(user)
    for message in (
        {"model": "api.Foo", "request_id": 1},
        {"model": "api.User", "request_id": 2},
        subscription(foo, request_id=3),
        {"model": "api.Job", "request_id": 4},
    ):
        await socket.send_json_to(message)
    answers = [(await socket.receive_json_from())["type"] for _ in range(4)]
    assert answers == ["SUBSCRIBED", "SUBSCRIBED", "ERROR", "ERROR"]


async def test_a_model_that_is_no_collection_tells_its_objects_subscribers_only(
    open_socket, monkeypatch, user, foo
):
    monkeypatch.setattr(Foo, "realtime_collection", False)
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foo, request_id="one"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await sync_to_async(Foo.objects.create)(bar="unannounced", owner=user)
    await save(foo, bar="changed")
    assert (await socket.receive_json_from())["payload"]["bar"] == "changed"
    assert await socket.receive_nothing(timeout=0.3)
