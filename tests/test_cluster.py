"""The production shape on one machine: `make cluster`, and the cluster the tests hold
(tests/servers.py's Cluster: HAProxy with deploy/haproxy.cfg in front of three Daphne
processes, and a worker), through which every change reaches every process's sockets."""

import contextlib
import os
import signal
import socket as stdlib_socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from channels_redis.core import RedisChannelLayer
from websockets.exceptions import ConnectionClosedError

from api.models import Foo
from realtime.notifications import group_name
from tests.api.jobs_support import items, job_events
from tests.servers import (
    ROOT,
    START_TIMEOUT,
    Cluster,
    Daphne,
    RedisServer,
    child_environment,
    free_port,
    run_shell,
    served_by,
)
from tests.support import hashid
from tests.test_end_to_end import Browser, receive, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

WEB_PROCESSES = {"web1", "web2", "web3"}
METRICS_TOKEN = "scrape-token"


def make_cluster(port: int, **env) -> subprocess.Popen:
    """`make cluster` in a process group of its own, so that it can be stopped as a whole."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "cluster", f"PORT={port}"],
        cwd=ROOT,
        env=child_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


@pytest.mark.parametrize(
    "database_url", ["", "sqlite:///db.sqlite3"], ids=["unset", "not PostgreSQL"]
)
def test_make_cluster_refuses_to_start_without_postgresql_saying_what_to_set(database_url):
    process = make_cluster(free_port(), DATABASE_URL=database_url, REDIS_URL="")
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert process.returncode != 0
    assert "make cluster needs DATABASE_URL=postgres://" in output
    assert "REDIS_URL=redis://" in output


def cluster_port() -> int:
    """A port for `make cluster` whose web processes' ports (honcho's `+100` to `+102`) are free
    too: a free base port says nothing of them."""
    while True:
        port = free_port()
        try:
            for offset in (100, 101, 102):
                with stdlib_socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port


@pytest.mark.e2e
def test_make_cluster_serves_from_three_web_processes_through_haproxy(transactional_db):
    port = cluster_port()
    process = make_cluster(port)
    try:
        answered = served_by(f"http://127.0.0.1:{port}", len(WEB_PROCESSES))
    finally:
        stop_group(process)
    output = process.stdout.read()
    assert answered == WEB_PROCESSES, output
    assert output.count("Starting worker") == 2, output


@pytest.fixture
def cluster(transactional_db):
    cluster = Cluster(METRICS_TOKEN=METRICS_TOKEN)
    yield cluster
    cluster.stop()


def sockets_on_every_process(browser: Browser, foo, stack: contextlib.ExitStack) -> dict:
    """One socket subscribed to `foo` on each web process, opened through the load balancer,
    keyed by the name of the process HAProxy put it on (the handshake's X-Served-By)."""
    sockets = {}
    for _ in range(10):
        socket = stack.enter_context(browser.socket())
        sockets.setdefault(socket.response.headers["X-Served-By"], socket)
        if set(sockets) == WEB_PROCESSES:
            break
    assert set(sockets) == WEB_PROCESSES
    for socket in sockets.values():
        assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
    return sockets


def assert_every_socket_hears(sockets: dict, bar: str) -> None:
    for name, socket in sockets.items():
        event = receive(socket)
        assert (event["type"], event["payload"]["bar"]) == ("UPDATE_FOO", bar), name


@pytest.mark.e2e
def test_a_change_from_any_process_reaches_sockets_on_every_web_process(cluster, user, foo):
    browser = Browser(cluster.lb)
    browser.log_in(user.username)
    with contextlib.ExitStack() as stack:
        sockets = sockets_on_every_process(browser, foo, stack)
        # Saved through each web process in turn.
        for number, web in enumerate(cluster.webs, 1):
            direct = Browser(web)
            direct.log_in(user.username)
            direct.request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": f"through web{number}"})
            assert_every_socket_hears(sockets, f"through web{number}")

        # Saved by manage.py shell.
        run_shell(
            f"from api.models import Foo; foo = Foo.objects.get(pk={foo.pk}); "
            "foo.bar = 'from the shell'; foo.save()"
        )
        assert_every_socket_hears(sockets, "from the shell")

        # Saved by the worker: a job's events come from the process that runs it.
        browser.request("POST", "/api/foo/import", {"items": items(10)})
        for name, socket in sockets.items():
            events = job_events(socket)
            assert events[-1]["payload"]["state"] == "succeeded", name
            assert events[-1]["payload"]["result"]["created"] == 10, name


def metrics_status(url: str) -> int:
    """The status of a scrape of `url` with the cluster's metrics token."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.e2e
def test_metrics_are_refused_through_the_load_balancer_and_scraped_from_each_process(cluster):
    for path in ["/metrics", "/%6detrics", "/metrics?format=text"]:
        assert metrics_status(f"{cluster.lb.url}{path}") == 404, path
    for web in cluster.webs:
        assert metrics_status(f"{web.url}/metrics") == 200


@pytest.mark.e2e
def test_sockets_of_a_killed_web_process_reconnect_to_the_others_and_resync(cluster, user, foo):
    browser = Browser(cluster.lb)
    browser.log_in(user.username)
    with contextlib.ExitStack() as stack:
        # Two sockets on each web process.
        rounds = [sockets_on_every_process(browser, foo, stack) for _ in range(2)]
        cluster.webs[1].kill()  # web2, a crash: no close frame to anyone
        for sockets in rounds:
            with pytest.raises(ConnectionClosedError) as dropped:
                sockets["web2"].recv(timeout=10)
            # The connection just ends, without a close frame: 1006, as a browser reports it.
            assert dropped.value.rcvd is None
            assert sockets.pop("web2").close_code == 1006

        # Changed while they are away, through the load balancer. Its health checks need two
        # failures 2 s apart to mark web2 down, and until then it sends web2 (which now has the
        # fewest connections) every new connection first: refused, each is redispatched.
        changed = browser.request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "while away"})

        # What the JS client does next: a new socket through the load balancer (at the first
        # attempt, on a live process), and the subscription it held, whose snapshot resyncs it.
        for _ in rounds:
            socket = stack.enter_context(browser.socket())
            assert socket.response.headers["X-Served-By"] in WEB_PROCESSES - {"web2"}
            snapshot = subscribe(socket, foo)
            assert (snapshot["type"], snapshot["payload"]["data"]) == ("SUBSCRIBED", changed)

        # The sockets on the other processes noticed nothing: still open, they hear the change.
        for sockets in rounds:
            for name, socket in sockets.items():
                assert receive(socket) == {
                    "type": "UPDATE_FOO",
                    "payload": changed,
                    "meta": {"model": "api.Foo", "id": hashid(foo), "version": 2},
                }, name

    # HAProxy takes web2 out of rotation once its health checks fail; what the tests and the
    # benchmark then report: HAProxy's verdict, and what each process answers at its own port.
    deadline = time.monotonic() + START_TIMEOUT
    while "web2" in cluster.lb.in_rotation():
        assert time.monotonic() < deadline, "HAProxy kept the killed web2 in rotation"
        time.sleep(0.2)
    assert cluster.lb.in_rotation() == {"web1", "web3"}
    with pytest.raises(RuntimeError) as out_of_rotation:
        cluster.lb.wait_in_rotation(timeout=0)
    report = str(out_of_rotation.value)
    assert "the load balancer reaches only ['web1', 'web3']" in report
    assert "Server web/web2 is DOWN" in report
    assert "web2 at its own port: no answer" in report
    assert 'web1 at its own port: 200 {"status":"ok"' in report


@pytest.fixture
def two_redis_servers():
    servers = [RedisServer(), RedisServer()]
    yield servers
    for server in servers:
        server.stop()


def groups_on_each_shard(foos: list[Foo], redis_urls: list[str]) -> dict:
    """A Foo whose group lives on each shard of a layer over `redis_urls`."""
    layer = RedisChannelLayer(hosts=redis_urls)
    shards = {}
    for foo in foos:
        shards.setdefault(layer.consistent_hash(group_name(Foo, foo.pk)), foo)
    assert set(shards) == {0, 1}, "every Foo's group hashed to the same shard"
    return shards


@pytest.mark.e2e
def test_a_layer_sharded_over_two_redis_servers_delivers_every_group(two_redis_servers, user):
    urls = [server.url for server in two_redis_servers]
    sharded = ",".join(urls)
    # Consecutive ids hash to the same shard ten at most in a row (checked up to 200,000).
    foos = [Foo.objects.create(bar=f"foo {n}", owner=user) for n in range(11)]
    shards = groups_on_each_shard(foos, urls)
    webs = [Daphne(REDIS_URL=sharded), Daphne(REDIS_URL=sharded)]
    try:
        for foo in shards.values():
            # Subscribed on one process, changed through the other and from the shell.
            browser, other = Browser(webs[0]), Browser(webs[1])
            browser.log_in(user.username)
            other.log_in(user.username)
            with browser.socket() as socket:
                assert subscribe(socket, foo)["type"] == "SUBSCRIBED"
                other.request("PATCH", f"/api/foo/{hashid(foo)}", {"bar": "from the other"})
                assert receive(socket)["payload"]["bar"] == "from the other"
                run_shell(
                    f"from api.models import Foo; Foo.objects.filter(pk={foo.pk})"
                    ".update_and_notify(bar='from the shell')",
                    REDIS_URL=sharded,
                )
                assert receive(socket)["payload"]["bar"] == "from the shell"
    finally:
        for web in webs:
            web.stop()
