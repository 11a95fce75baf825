"""Sockets of a session that stops authenticating are closed, whatever ended it."""

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from realtime.sessions import get_watcher
from tests.conftest import make_user
from tests.servers import run_shell
from tests.support import close_code, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)

INTERVAL = 0.05
NEW_PASSWORD = "a new and much longer passphrase"


@pytest.fixture
def check_often(settings):
    settings.REALTIME = {"SESSION_CHECK_INTERVAL": INTERVAL}


async def still_hears(socket, foo) -> None:
    """`socket` is open and receives `foo`'s next change."""
    await socket.send_json_to(subscription(foo, request_id="still"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(foo, bar="still heard")
    assert (await socket.receive_json_from())["payload"]["bar"] == "still heard"


async def test_expiry_moved_earlier_in_the_database_closes_the_socket(
    check_often, open_socket, user, foo
):
    ended = await open_socket(user)
    kept = await open_socket(user)
    await Session.objects.filter(session_key=ended.session_key).aupdate(expire_date=timezone.now())
    assert await close_code(ended) == 4401
    await still_hears(kept, foo)


async def test_session_deleted_by_another_process_closes_the_socket(
    check_often, open_socket, user, foo
):
    ended = await open_socket(user)
    kept = await open_socket(user)
    # The embedded default: the other process's in-memory layer reaches no one here.
    await sync_to_async(run_shell)(
        "from django.contrib.sessions.models import Session; "
        f"Session.objects.filter(session_key={ended.session_key!r}).delete()",
        REDIS_URL="",
    )
    assert await close_code(ended) == 4401
    await still_hears(kept, foo)


async def test_password_change_closes_the_users_other_sessions(check_often, open_socket, user, foo):
    await save(user, is_staff=True, is_superuser=True)
    other = await open_socket(user)
    admin = Client()
    await sync_to_async(admin.force_login)(user)
    # Django's own password change keeps the session it is made from (under a new key).
    response = await sync_to_async(admin.post)(
        f"/admin/api/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert await close_code(other) == 4401
    over_http = Client()
    over_http.cookies[settings.SESSION_COOKIE_NAME] = other.session_key
    assert (await sync_to_async(over_http.get)("/api/auth/me")).status_code == 401
    kept = await open_socket(session_key=admin.cookies[settings.SESSION_COOKIE_NAME].value)
    assert await kept.receive_nothing(timeout=10 * INTERVAL)
    await still_hears(kept, foo)


async def queries_of_a_pass() -> list[str]:
    """The SQL of one pass of this process's watcher. The pass reads in the thread of
    `database_sync_to_async`, whose connection is not this thread's: the capture starts, stops
    and is read there."""
    in_thread = database_sync_to_async
    queries = CaptureQueriesContext(connection)
    await in_thread(queries.__enter__)()
    await get_watcher().check()
    await in_thread(queries.__exit__)(None, None, None)
    return await in_thread(lambda: [query["sql"] for query in queries])()


async def test_a_pass_costs_one_query_for_1_and_20_sockets(open_socket, user):
    others = await sync_to_async(lambda: [make_user(f"user{n}") for n in range(19)])()
    sockets = [await open_socket(user)]
    assert len(await queries_of_a_pass()) == 1
    sockets += [await open_socket(other) for other in others]
    assert len(get_watcher().sockets) == 20
    assert len(await queries_of_a_pass()) == 1
    for socket in sockets:
        assert await socket.receive_nothing(timeout=0.01)


async def test_watcher_stops_with_the_last_socket_and_starts_with_the_next(
    check_often, open_socket, user
):
    first = await open_socket(user)
    running = get_watcher()._task
    await first.disconnect()
    await asyncio.wait_for(running, timeout=5)
    second = await open_socket(user)
    await Session.objects.filter(session_key=second.session_key).adelete()
    assert await close_code(second) == 4401


@sync_to_async
def rename_table(old: str, new: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")


class Logged(logging.Handler):
    """Sets `event` when `realtime.sessions` logs `message` with its traceback."""

    def __init__(self, message: str):
        super().__init__()
        self.message, self.event = message, asyncio.Event()

    def emit(self, record):
        if record.getMessage() == self.message and record.exc_info:
            self.event.set()


async def test_failed_pass_is_logged_and_the_next_one_runs(check_often, open_socket, user):
    socket = await open_socket(user)
    failure = Logged("Could not re-check the sessions of 1 socket(s)")
    logging.getLogger("realtime.sessions").addHandler(failure)
    # A real failure of the database: the table the pass reads is gone for a while.
    await rename_table("django_session", "django_session_away")
    try:
        await asyncio.wait_for(failure.event.wait(), timeout=5)
    finally:
        await rename_table("django_session_away", "django_session")
        logging.getLogger("realtime.sessions").removeHandler(failure)
    assert await socket.receive_nothing(timeout=0.01)
    await Session.objects.filter(session_key=socket.session_key).aupdate(expire_date=timezone.now())
    assert await close_code(socket) == 4401
