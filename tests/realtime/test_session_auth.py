"""A socket is its session's user exactly when that session would authenticate over HTTP."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import timezone

from tests.support import save, subscription

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_SECRET_KEY = "a-rotated-secret-key-as-long-as-production-ones-are!"


@sync_to_async
def logged_in(user) -> SessionStore:
    """The session of a login of `user`, as the server stores it."""
    client = Client()
    client.force_login(user)
    return SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)


@sync_to_async
def changed(session: SessionStore, change) -> None:
    """`session` saved after `change(session)`."""
    change(session)
    session.save()


async def answer_to_subscribing(socket, foo) -> str:
    """SUBSCRIBED for the socket of `foo`'s owner, the error code for an anonymous one."""
    await socket.send_json_to(subscription(foo, request_id=1))
    answer = await socket.receive_json_from()
    return answer["type"] if answer["type"] == "SUBSCRIBED" else answer["payload"]["code"]


async def test_a_live_session_is_its_users_socket(open_socket, user, foo):
    socket = await open_socket(session_key=(await logged_in(user)).session_key)
    assert await answer_to_subscribing(socket, foo) == "SUBSCRIBED"


async def test_an_expired_session_is_anonymous(open_socket, user, foo):
    session = await logged_in(user)
    await changed(session, lambda s: s.set_expiry(timezone.now() - timedelta(seconds=1)))
    socket = await open_socket(session_key=session.session_key)
    assert await answer_to_subscribing(socket, foo) == "not_authenticated"


@pytest.mark.parametrize("key", ["a" * 32, "short"])
async def test_a_forged_session_key_is_anonymous(open_socket, foo, key):
    socket = await open_socket(session_key=key)
    assert await answer_to_subscribing(socket, foo) == "not_authenticated"


async def test_a_session_of_an_inactive_user_is_anonymous(open_socket, user, foo):
    session = await logged_in(user)
    await save(user, is_active=False)
    socket = await open_socket(session_key=session.session_key)
    assert await answer_to_subscribing(socket, foo) == "not_authenticated"


async def test_a_session_from_before_a_password_change_is_anonymous(open_socket, user, foo):
    session = await logged_in(user)
    user.set_password("a new and much longer passphrase")
    await save(user)
    socket = await open_socket(session_key=session.session_key)
    assert await answer_to_subscribing(socket, foo) == "not_authenticated"


async def test_a_session_without_a_user_is_anonymous(open_socket, foo):
    session = SessionStore()
    session["cart"] = ["something"]
    await sync_to_async(session.create)()
    socket = await open_socket(session_key=session.session_key)
    assert await answer_to_subscribing(socket, foo) == "not_authenticated"


async def test_a_session_of_a_backend_no_longer_configured_is_anonymous(open_socket, user, foo):
    session = await logged_in(user)
    await changed(session, lambda s: s.__setitem__(BACKEND_SESSION_KEY, "retired.auth.Backend"))
    socket = await open_socket(session_key=session.session_key)
    assert await answer_to_subscribing(socket, foo) == "not_authenticated"


async def test_a_session_from_before_a_secret_key_rotation_still_authenticates(
    open_socket, settings, user, foo
):
    session = await logged_in(user)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = OTHER_SECRET_KEY
    socket = await open_socket(session_key=session.session_key)
    assert await answer_to_subscribing(socket, foo) == "SUBSCRIBED"
    # The socket left the session as it was: its cookie still logs the browser in over HTTP.
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert (await sync_to_async(browser.get)("/api/auth/me")).status_code == 200
