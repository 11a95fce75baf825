"""The product as a client meets it: a real Daphne process, a real socket, a real login."""

import contextlib
import http.cookiejar
import json
import signal
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from api import tokens
from api.models import ApiToken, Foo
from tests.conftest import PASSWORD
from tests.servers import Daphne, RedisServer, get, readiness, run_shell
from tests.support import hashid, rename_table

pytestmark = pytest.mark.django_db(transaction=True)

IDLE_LONGER_THAN_REDIS_READ = 6.5
EXCEPTION_MARKERS = ("Traceback", "Exception inside application")


@pytest.fixture
def server(transactional_db):
    """A Daphne process; a test that leaves an exception in its log fails."""
    daphne = Daphne()
    yield daphne
    log = daphne.stop()
    assert not any(marker in log for marker in EXCEPTION_MARKERS), log


class Browser:
    """What an SPA does over HTTP: cookies, a CSRF token, JSON."""

    def __init__(self, server):
        self.server = server
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == name)

    def request(self, method: str, path: str, body=None) -> dict:
        request = urllib.request.Request(
            f"{self.server.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        if method != "GET":
            request.add_header("X-CSRFToken", self.cookie("csrftoken"))
        with self.opener.open(request, timeout=10) as response:
            content = response.read()
        return json.loads(content) if content else {}

    def log_in(self, username: str) -> None:
        self.request("GET", "/api/auth/csrf")
        self.request("POST", "/api/auth/login", {"username": username, "password": PASSWORD})

    def socket(self, origin=None):
        return connect(
            f"ws://127.0.0.1:{self.server.port}/ws/notifications/",
            origin=origin or self.server.url,
            additional_headers={"Cookie": f"sessionid={self.cookie('sessionid')}"},
            open_timeout=10,
        )


def receive(socket) -> dict:
    return json.loads(socket.recv(timeout=10))


def subscribe(socket, foo) -> dict:
    socket.send(json.dumps({"model": "api.Foo", "id": hashid(foo), "request_id": 1}))
    return receive(socket)


def close_code(socket) -> int:
    """The code the server closed `socket` with (fails if it sends anything else first)."""
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)
    return closed.value.rcvd.code


def test_patch_over_rest_reaches_the_subscribed_socket(server, user, foo):
    browser = Browser(server)
    browser.log_in("alice")
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        body = browser.request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "live"})
        event = receive(socket)
    assert event == {
        "type": "UPDATE_FOO",
        "payload": body,
        "meta": {"model": "api.Foo", "id": hashid(foo), "version": 2},
    }


def test_socket_from_another_origin_is_refused(server, user):
    browser = Browser(server)
    browser.log_in("alice")
    with pytest.raises(InvalidStatus) as refused:
        browser.socket(origin="https://evil.example")
    assert refused.value.response.status_code == 403


def token_socket(server, secret: str, query: str = ""):
    """A script's socket: the token as subprotocols, no Origin, no cookie."""
    return connect(
        f"ws://127.0.0.1:{server.port}/ws/notifications/{query}",
        subprotocols=["bearer", secret],
        origin=None,
        open_timeout=10,
    )


def test_revoking_a_token_over_rest_closes_its_socket_with_4401(server, user, foo):
    token, secret = tokens.issue(user, "script")
    with token_socket(server, secret) as socket:
        assert socket.subprotocol == "bearer"
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        request = urllib.request.Request(
            f"{server.url}/api/auth/tokens/{hashid(token)}",
            method="DELETE",
            headers={"Authorization": f"Bearer {secret}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204
        assert close_code(socket) == 4401
    assert not ApiToken.objects.exists()


def test_a_token_in_the_socket_url_is_refused_with_a_readable_error(server, user):
    _, secret = tokens.issue(user, "leaky")
    with token_socket(server, secret, query=f"?access_token={secret}") as socket:
        error = receive(socket)
        assert close_code(socket) == 4401
    assert error["payload"] == {"code": "authentication_failed", "detail": tokens.QUERY_DETAIL}


@pytest.mark.redis
def test_change_saved_in_another_process_reaches_the_socket_over_redis(server, user, foo):
    browser = Browser(server)
    browser.log_in("alice")
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        run_shell(
            "from api.models import Foo\n"
            f"foo = Foo.objects.get(pk={foo.pk})\n"
            "foo.bar = 'shell'\n"
            "foo.save()"
        )
        assert receive(socket)["payload"]["bar"] == "shell"


@pytest.mark.redis
def test_idle_socket_survives_redis_blocking_reads(server, user, foo):
    browser = Browser(server)
    browser.log_in("alice")
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        # Longer than the layer's 5 s blocking read: redis-py must not time the hub out.
        with pytest.raises(TimeoutError):
            socket.recv(timeout=IDLE_LONGER_THAN_REDIS_READ)
        Foo.objects.filter(pk=foo.pk).update_and_notify(bar="after a quiet while")
        assert receive(socket)["payload"]["bar"] == "after a quiet while"


def test_message_over_the_size_limit_closes_the_socket_with_4009(server, user):
    browser = Browser(server)
    browser.log_in("alice")
    with browser.socket() as socket:
        socket.send(json.dumps({"model": "api.Foo", "id": "x" * 70_000}))
        assert close_code(socket) == 4009


def test_logout_closes_the_sessions_socket_with_4401(server, user, foo):
    browser = Browser(server)
    browser.log_in("alice")
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        browser.request("POST", "/api/auth/logout")
        assert close_code(socket) == 4401


def test_socket_is_closed_with_4401_when_its_session_expires(server, user, foo):
    browser = Browser(server)
    browser.log_in("alice")
    session = SessionStore(browser.cookie("sessionid"))
    session.set_expiry(timezone.now() + timedelta(seconds=2))
    session.save()
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        assert close_code(socket) == 4401


DRAIN_SECONDS = 4.0
DRAIN_SOCKETS = 8


class Recorder(threading.Thread):
    """Reads `socket` until the server closes it: what arrived, the close code, and when."""

    def __init__(self, socket):
        super().__init__(daemon=True)
        self.socket = socket
        self.messages = []
        self.code = None
        self.closed_at = None
        self.start()

    def run(self):
        try:
            while True:
                self.messages.append(json.loads(self.socket.recv(timeout=DRAIN_SECONDS * 3)))
        except ConnectionClosed as closed:
            self.code = closed.rcvd.code
            self.closed_at = time.monotonic()


def test_sigterm_drains_the_sockets_with_4012_over_the_window_then_exits(user, foo):
    """A deploy: readiness fails at once, new sockets are turned away, open ones are closed one
    by one over the window (each hearing every change committed before its close), then the
    process exits, cleanly."""
    daphne = Daphne(REALTIME_DRAIN_SECONDS=str(DRAIN_SECONDS))
    browser = Browser(daphne)
    browser.log_in("alice")
    opened = contextlib.ExitStack()
    sockets = [opened.enter_context(browser.socket()) for _ in range(DRAIN_SOCKETS)]
    for socket in sockets:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
    recorders = [Recorder(socket) for socket in sockets]

    signalled = time.monotonic()
    daphne.process.send_signal(signal.SIGTERM)
    while not readiness(daphne.port).startswith("503 "):
        assert time.monotonic() - signalled < 1, "readiness did not turn 503 at once"
    with browser.socket() as late:
        assert close_code(late) == 4012
    changed = browser.request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "during the drain"})
    committed = time.monotonic()

    daphne.process.wait(timeout=DRAIN_SECONDS + 5)
    exited = time.monotonic()
    log = daphne.stop()
    for recorder in recorders:
        recorder.join(DRAIN_SECONDS)
    opened.close()
    assert [recorder.code for recorder in recorders] == [4012] * DRAIN_SOCKETS
    closes = sorted(recorder.closed_at for recorder in recorders)
    assert closes[-1] - closes[0] > 0.3 * DRAIN_SECONDS
    assert exited - signalled < DRAIN_SECONDS + 5
    assert not any(marker in log for marker in EXCEPTION_MARKERS), log
    # A socket still open well after the change committed heard it before its close; one closed
    # earlier resubscribes elsewhere and gets it in its snapshot.
    for recorder in recorders:
        if recorder.closed_at > committed + 0.5:
            assert {"type": "UPDATE_FOO", "payload": changed} in [
                {key: message[key] for key in ("type", "payload")} for message in recorder.messages
            ]


def bytes_waiting(port: int) -> int:
    """What the server listening on 127.0.0.1:`port` has been sent and not read yet, over all
    its connections (/proc/net/tcp's rx_queue): commands waiting for a stopped Redis."""
    waiting = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, _, queues = line.split()[1:5]
        if int(local.split(":")[1], 16) == port:
            waiting += int(queues.split(":")[1], 16)
    return waiting


def check_readiness_until_exit(daphne: Daphne) -> None:
    """What HAProxy does, faster: a readiness check on a new connection every 0.1 s, each
    without waiting for the last, until the process has exited."""
    while daphne.process.poll() is None:
        threading.Thread(target=get, args=(f"{daphne.url}/api/health/ready",)).start()
        time.sleep(0.1)


@pytest.mark.redis
def test_sigterm_exits_while_readiness_checks_wait_on_an_unanswering_layer():
    """Daphne's shutdown waits for the requests in flight (here a readiness check whose layer
    round trip waits on a stopped Redis, up to its timeout) and meanwhile takes new ones: the
    load balancer's next checks, also waiting on the layer when the event loop stops. None of
    them may keep the process from exiting."""
    redis_server = RedisServer()
    daphne = Daphne(REDIS_URL=redis_server.url, REALTIME_DRAIN_SECONDS=str(DRAIN_SECONDS))
    checks = threading.Thread(target=check_readiness_until_exit, args=(daphne,))
    try:
        redis_server.process.send_signal(signal.SIGSTOP)
        checks.start()
        deadline = time.monotonic() + 10
        while not bytes_waiting(redis_server.port):
            assert time.monotonic() < deadline, "no readiness check reached the layer"
            time.sleep(0.01)
        daphne.process.send_signal(signal.SIGTERM)
        daphne.process.wait(timeout=DRAIN_SECONDS + 5)
    finally:
        daphne.process.kill()
        daphne.stop()
        checks.join()
        redis_server.process.send_signal(signal.SIGCONT)
        redis_server.stop()


def scrape(server, token: str) -> dict:
    """The samples of a Daphne process's own `/metrics`, by name (unlabelled ones)."""
    request = urllib.request.Request(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def test_metrics_count_the_processs_sockets_subscriptions_and_deliveries(user, foo):
    daphne = Daphne(METRICS_TOKEN="scrape-token")
    try:
        browser = Browser(daphne)
        browser.log_in("alice")
        with browser.socket() as watching, browser.socket():
            assert subscribe(watching, foo)["type"] == "SUBSCRIBED"
            browser.request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "counted"})
            assert receive(watching)["type"] == "UPDATE_FOO"
            found = scrape(daphne, "scrape-token")
    finally:
        log = daphne.stop()
    assert found["realtime_sockets_open"] == 2
    assert found["realtime_subscriptions"] == 1
    assert found["realtime_events_delivered_total"] == 1
    assert not any(marker in log for marker in EXCEPTION_MARKERS), log


@pytest.fixture
def own_redis():
    """A redis-server of the test's own, for a Daphne process to lose."""
    server = RedisServer()
    yield server
    server.stop()


# What a Redis fault does to a process's sockets: the code the client sees, what the server logs,
# and what it must not (a hub that fails logs its traceback, on purpose, but never crashes the
# application).
REDIS_FAULTS = {
    # The hub's receive loop ends: 4011.
    "killed": (
        lambda redis: redis.kill(),
        4011,
        "The hub stopped receiving events",
        ("Exception inside application",),
    ),
    # Restarted empty, or flushed: the layer lost the hub's memberships, 4205.
    "emptied": (lambda redis: redis.client().flushall(), 4205, "", EXCEPTION_MARKERS),
}


@pytest.mark.redis
@pytest.mark.parametrize("fault", REDIS_FAULTS)
def test_a_redis_fault_closes_the_socket_with_the_code_that_makes_it_resync(
    own_redis, user, foo, fault
):
    cause, code, logged, forbidden = REDIS_FAULTS[fault]
    daphne = Daphne(REDIS_URL=own_redis.url)
    browser = Browser(daphne)
    browser.log_in("alice")
    with browser.socket() as socket:
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
        cause(own_redis)
        assert close_code(socket) == code
    log = daphne.stop()
    assert logged in log
    assert not any(marker in log for marker in forbidden), log


def test_a_consumer_that_fails_closes_its_socket_with_1011_and_frees_its_place(user, foo):
    """What was tried: a subscription whose snapshot the database fails to read (its table renamed
    away), under Daphne with one socket allowed per user. Daphne closes the failed socket with
    1011, which the client treats as a resync, and the socket is counted out: the gauge is back
    to zero and the user's next socket is admitted."""
    daphne = Daphne(REALTIME_MAX_SOCKETS_PER_USER="1", METRICS_TOKEN="scrape-token")
    try:
        browser = Browser(daphne)
        browser.log_in("alice")
        table = Foo._meta.db_table
        with browser.socket() as failing:
            rename_table(Foo, table, f"{table}_lost")
            try:
                failing.send(json.dumps({"model": "api.Foo", "id": hashid(foo), "request_id": 1}))
                assert close_code(failing) == 1011
            finally:
                rename_table(Foo, f"{table}_lost", table)
        found = scrape(daphne, "scrape-token")
        with browser.socket() as again:
            assert subscribe(again, foo)["type"] == "SUBSCRIBED"
    finally:
        log = daphne.stop()
    assert found["realtime_sockets_open"] == 0
    assert found["realtime_subscriptions"] == 0
    assert "Exception inside application" in log
