"""Faults of the channel layer, with real processes: Daphne web processes on a redis-server of
the test's own, which the test kills and starts again empty, or lets overflow.

They run on the Redis leg: they test what production runs (the Redis layer across processes)
and need the redis-server binary, which the first leg, meant to run without Redis, may lack.
They never touch the leg's own Redis."""

import contextlib
import json
import logging
import signal
import time

import pytest
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed

from api.models import Foo
from tests.servers import Daphne, RedisServer
from tests.support import hashid
from tests.test_end_to_end import Browser, receive, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

# The codes that tell a client to reconnect and resync (realtime/close_codes.py).
RESYNC_CODES = {4011, 4205}
REDIS_DOWN_FOR = 10
# Every web process delivers again, or has closed its sockets, this long after Redis is back.
ANSWERED_WITHIN = 5


@pytest.fixture
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def webs(redis_server, transactional_db):
    """Daphne web processes on `redis_server`, started on demand."""
    processes = []

    def webs(count: int) -> list[Daphne]:
        processes.extend(Daphne(REDIS_URL=redis_server.url) for _ in range(count))
        return processes

    yield webs
    for process in processes:
        process.stop()


def logged_in(web: Daphne) -> Browser:
    browser = Browser(web)
    browser.log_in("alice")
    return browser


def fate(socket, bar: str, deadline: float):
    """The code `socket` was closed with, "delivered" once it receives the change to `bar`, or
    None if by `deadline` it is still open and has not heard of it."""
    try:
        while (left := deadline - time.monotonic()) > 0:
            event = json.loads(socket.recv(timeout=left))
            if event["type"] == "UPDATE_FOO" and event["payload"]["bar"] == bar:
                return "delivered"
    except ConnectionClosed as closed:
        return closed.rcvd.code
    except TimeoutError:
        pass
    return None


def test_after_redis_restarts_empty_no_socket_is_open_and_deaf(redis_server, webs, user, foo):
    browsers = [logged_in(web) for web in webs(2)]
    with contextlib.ExitStack() as stack:
        sockets = {}
        for process, browser in enumerate(browsers):
            for number in range(2):
                socket = stack.enter_context(browser.socket())
                assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
                sockets[f"web {process}, socket {number}"] = socket

        redis_server.kill()
        time.sleep(REDIS_DOWN_FOR)  # the outage itself, not a wait for an event
        redis_server.start()
        deadline = time.monotonic() + ANSWERED_WITHIN
        browsers[0].request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "after the restart"})
        fates = {
            name: fate(socket, "after the restart", deadline) for name, socket in sockets.items()
        }

    assert all(outcome in RESYNC_CODES | {"delivered"} for outcome in fates.values()), fates
    # The next sockets, on every process, hear every change again.
    with contextlib.ExitStack() as stack:
        fresh = [stack.enter_context(browser.socket()) for browser in browsers]
        for socket in fresh:
            assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        browsers[1].request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "heard again"})
        assert [receive(socket)["payload"]["bar"] for socket in fresh] == ["heard again"] * 2


def until_closed(socket) -> tuple[list, int]:
    """What `socket` heard (each change's `bar`) before it was closed, and the close code."""
    heard = []
    try:
        while True:
            heard.append(receive(socket)["payload"]["bar"])
    except ConnectionClosed as closed:
        return heard, closed.rcvd.code


def dropped() -> float:
    return REGISTRY.get_sample_value("realtime_layer_messages_dropped_total") or 0.0


def test_a_message_dropped_for_capacity_is_counted_and_its_sockets_resync(
    redis_server, webs, settings, user, foo, caplog
):
    [web] = webs(1)
    # This process sends the changes, to a layer that holds one message per process channel.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_server.url], "capacity": 1},
        }
    }
    before = dropped()
    browser = logged_in(web)
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        # The web process falls behind: its channel fills while it reads nothing.
        web.process.send_signal(signal.SIGSTOP)
        try:
            with caplog.at_level(logging.WARNING, logger="realtime.layers"):
                for number in range(3):
                    Foo.objects.filter(pk=foo.pk).update_and_notify(bar=f"change {number}")
        finally:
            web.process.send_signal(signal.SIGCONT)
        heard, code = until_closed(socket)

    assert code == 4205
    assert heard == ["change 0", "change 1"][: len(heard)]
    assert "over capacity. Their sockets in the group will be told to resync." in caplog.text
    assert dropped() > before
