"""When events are sent, to whom, and what a lost access stops."""

import asyncio
import copy
import logging
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from api.models import Foo
from tests.conftest import PASSWORD
from tests.support import close_code, group_members, hashid, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)


async def test_rolled_back_change_sends_nothing(subscribed, user, foo):
    socket = await subscribed(user, foo)

    class Abort(Exception):
        pass

    @sync_to_async
    def change_then_fail():
        with transaction.atomic():
            foo.bar = "never committed"
            foo.save()
            raise Abort

    with pytest.raises(Abort):
        await change_then_fail()
    assert await socket.receive_nothing(timeout=0.2)
    assert (await Foo.objects.aget(pk=foo.pk)).bar == "first"


async def test_event_is_sent_after_commit_not_at_save(subscribed, user, foo):
    socket = await subscribed(user, foo)
    seen_before_commit = []

    @sync_to_async
    def save_in_transaction():
        with transaction.atomic():
            foo.bar = "committed"
            foo.save()
            seen_before_commit.append(Foo.objects.get(pk=foo.pk).bar)

    await save_in_transaction()
    event = await socket.receive_json_from()
    assert event["payload"]["bar"] == "committed"
    assert seen_before_commit == ["committed"]


async def test_bulk_update_and_notify_sends_each_changed_object(subscribed, user, foo):
    second = await Foo.objects.acreate(bar="second", owner=user)
    socket = await subscribed(user, foo)
    await socket.send_json_to(subscription(second, request_id="s"))
    await socket.receive_json_from()
    count = await sync_to_async(Foo.objects.filter(owner=user).update_and_notify)(bar="bulk")
    events = [await socket.receive_json_from() for _ in range(2)]
    assert count == 2
    assert sorted((e["meta"]["id"], e["payload"]["bar"], e["meta"]["version"]) for e in events) == (
        sorted([(hashid(foo), "bulk", 2), (hashid(second), "bulk", 2)])
    )


async def test_bulk_update_of_untracked_fields_sends_nothing(subscribed, user, foo):
    socket = await subscribed(user, foo)
    later = timezone.now() + timedelta(days=1)
    await sync_to_async(Foo.objects.filter(pk=foo.pk).update_and_notify)(updated_at=later)
    assert await socket.receive_nothing(timeout=0.2)
    assert (await Foo.objects.aget(pk=foo.pk)).version == 2


async def test_failing_channel_layer_never_fails_the_write(
    subscribed, api, settings, user, foo, caplog
):
    await subscribed(user, foo)
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    with caplog.at_level(logging.ERROR, logger="realtime.notifications"):
        response = await sync_to_async(api.patch)(
            f"/api/foo/{hashid(foo)}", {"bar": "saved anyway"}, format="json"
        )
    assert response.status_code == 200
    assert (await Foo.objects.aget(pk=foo.pk)).bar == "saved anyway"
    assert "Could not send realtime.event to group realtime.api.foo." in caplog.text


async def test_closed_sockets_leave_every_group(open_socket, subscribed, user, foo):
    first = await subscribed(user, foo)
    second = await subscribed(user, foo)
    await first.disconnect()
    await save(foo, bar="still heard")
    assert (await second.receive_json_from())["payload"]["bar"] == "still heard"
    await second.disconnect()
    assert await group_members(f"realtime.api.foo.{foo.pk}") == 0
    assert await group_members(f"realtime.user.{user.pk}") == 0


async def test_logout_closes_the_sessions_sockets_with_4401(open_socket, user, other_user):
    client = Client()
    await sync_to_async(client.login)(username="alice", password=PASSWORD)
    key = client.cookies["sessionid"].value
    socket = await open_socket(session_key=key)
    other_session = await open_socket(user)
    someone_else = await open_socket(other_user)
    await sync_to_async(client.post)("/api/auth/logout")
    assert await close_code(socket) == 4401
    assert await other_session.receive_nothing(timeout=0.2)
    assert await someone_else.receive_nothing(timeout=0.2)


async def test_logging_out_a_visitor_closes_nothing(open_socket, user):
    """Django's logout() of a visitor who never logged in names no user (a project's own logout
    view may take such a request; ours answers 401 first): it fails nothing and closes no
    socket."""
    socket = await open_socket(user)
    request = RequestFactory().post("/logout")
    request.session = SessionStore()
    request.user = AnonymousUser()
    await sync_to_async(logout)(request)
    assert await socket.receive_nothing(timeout=0.2)


async def test_deleted_session_closes_its_sockets(open_socket, user):
    socket = await open_socket(user)
    other_session = await open_socket(user)
    await Session.objects.filter(session_key=socket.session_key).adelete()
    assert await close_code(socket) == 4401
    assert await other_session.receive_nothing(timeout=0.2)


async def test_deleting_sessions_that_name_nobody_closes_nothing(open_socket, user):
    """Sessions that authenticate no one: an anonymous visitor's, with data of its own, and one
    whose data does not decode (tampered with, or signed with a retired key). Their deletion
    finds no user to tell, and fails nothing."""
    socket = await open_socket(user)
    visitor = SessionStore()
    visitor["cart"] = [1, 2]
    await sync_to_async(visitor.save)()
    await Session.objects.acreate(
        session_key="x" * 32, session_data="not signed", expire_date=timezone.now()
    )
    await Session.objects.exclude(session_key=socket.session_key).adelete()
    assert await Session.objects.acount() == 1
    assert await socket.receive_nothing(timeout=0.2)


@sync_to_async
def session_expiring_in(user, seconds: float) -> str:
    """A session that expires `seconds` from now, as one logged in long ago would."""
    client = Client()
    client.force_login(user)
    store = client.session
    store.set_expiry(timezone.now() + timedelta(seconds=seconds))
    store.save()
    return store.session_key


async def test_socket_is_closed_when_its_session_expires(open_socket, user, foo):
    socket = await open_socket(session_key=await session_expiring_in(user, 2))
    await socket.send_json_to(subscription(foo, request_id=1))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    assert await close_code(socket) == 4401


async def test_deactivated_user_is_closed_and_hears_nothing_more(subscribed, user, foo):
    socket = await subscribed(user, foo)
    await save(user, is_active=False)
    assert await close_code(socket) == 4401
    await save(foo, bar="after")
    assert await socket.receive_nothing(timeout=0.2)


async def test_transferred_foo_is_deleted_for_the_old_owner(subscribed, api, user, other_user, foo):
    socket = await subscribed(user, foo)
    response = await sync_to_async(api.patch)(
        f"/api/foo/{hashid(foo)}", {"owner": hashid(other_user)}, format="json"
    )
    assert response.status_code == 200
    assert await socket.receive_json_from() == {
        "type": "DELETE_FOO",
        "payload": {"id": hashid(foo)},
        "meta": {"model": "api.Foo", "id": hashid(foo), "version": 2, "reason": "access_lost"},
    }
    await foo.arefresh_from_db()
    await save(foo, bar="not for alice")
    assert await socket.receive_nothing(timeout=0.2)
    new_owner = await subscribed(other_user, foo)
    await save(foo, bar="for bob")
    assert (await new_owner.receive_json_from())["payload"]["bar"] == "for bob"


async def test_user_sees_full_and_others_restricted_form_like_rest(subscribed, user, other_user):
    own = await subscribed(user, user)
    watcher = await subscribed(other_user, user)
    await save(user, username="alicia")
    own_event, watcher_event = await own.receive_json_from(), await watcher.receive_json_from()
    assert own_event["type"] == watcher_event["type"] == "UPDATE_USER"
    assert own_event["payload"] == await rest_user(user, as_user=user)
    assert watcher_event["payload"] == await rest_user(user, as_user=other_user)
    assert watcher_event["payload"] == {"id": hashid(user), "username": "alicia"}


@sync_to_async
def rest_user(target, as_user):
    client = Client()
    client.force_login(as_user)
    return client.get(f"/api/users/{hashid(target)}").json()


async def test_change_only_the_full_form_shows_reaches_its_owner_only(subscribed, user, other_user):
    own = await subscribed(user, user)
    watcher = await subscribed(other_user, user)
    await save(user, email="new@example.com")
    assert (await own.receive_json_from())["payload"]["email"] == "new@example.com"
    assert await watcher.receive_nothing(timeout=0.2)
    await save(user, username="alice2")
    assert (await watcher.receive_json_from())["payload"]["username"] == "alice2"


async def test_deactivated_user_is_deleted_for_watchers(subscribed, user, other_user):
    watcher = await subscribed(other_user, user)
    await save(user, is_active=False)
    event = await watcher.receive_json_from()
    assert event["type"] == "DELETE_USER"
    assert event["meta"]["reason"] == "access_lost"


async def test_inactive_user_cannot_be_subscribed_to(open_socket, user, other_user):
    await save(other_user, is_active=False)
    socket = await open_socket(user)
    await socket.send_json_to(subscription(other_user))
    assert (await socket.receive_json_from())["payload"]["code"] == "not_found"


async def test_login_records_an_absolute_session_expiry(open_socket, user):
    client = Client()
    response = await sync_to_async(client.post)(
        "/api/auth/login",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    session = await Session.objects.aget(session_key=client.cookies["sessionid"].value)
    assert "_session_expiry" in session.get_decoded()


async def test_deleted_user_is_closed(open_socket, user):
    socket = await open_socket(user)
    await sync_to_async(user.delete)()
    assert await close_code(socket) == 4401


async def test_subscription_outlives_the_layers_group_expiry(subscribed, settings, user, foo):
    # The layer forgets a group membership after `group_expiry` (a day by default, two seconds
    # here), though sockets may follow the group for longer than that.
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["group_expiry"] = 2
    settings.CHANNEL_LAYERS = layers
    socket = await subscribed(user, foo)
    await asyncio.sleep(3)

    await save(foo, bar="after the expiry")

    assert (await socket.receive_json_from())["payload"]["bar"] == "after the expiry"
