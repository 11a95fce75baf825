"""5. Cost per change: SQL queries, serializer work and layer messages of one change with N
sockets subscribed, counted in-process.

In-process rather than on the live server because counting needs hooks in the process that does
the work: every query of every thread is counted by wrapping Django's cursor, every serializer
instantiation and `to_representation` by wrapping DRF's, every event encoding and `group_send` by
wrapping ours and the layer's. The sockets are real ones through the real ASGI stack (origin
check, session auth, consumer, hub), opened with channels' WebsocketCommunicator.

Two changes are measured for each N: `save()` of the object (what the realtime layer adds to any
write) and a whole PATCH through Django's test client (the REST request around it). For a
collection (N sockets following the owner's Foos, issue 13) the change is a new Foo: its `save()`,
and a whole POST. Counts cover
the window from the change to the last socket's frame, all threads.

Run in a backend's environment (bench.servers.backend_env), on the seeded world:

    python -m bench.cost --world world.json --ns 1,50,500 > cost.json
"""

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

ORIGIN = b"http://127.0.0.1"


class Tally:
    """Counts taken while `window` is open; `in_change` tells the change's own thread."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.open = False
        self.local = threading.local()
        self.lock = threading.Lock()

    def add(self, name: str, amount: int = 1) -> None:
        if self.open:
            with self.lock:
                self.counts[name] += amount

    @contextmanager
    def window(self):
        self.counts = Counter()
        self.open = True
        try:
            yield self.counts
        finally:
            self.open = False

    @contextmanager
    def change(self):
        self.local.in_change = True
        try:
            yield
        finally:
            self.local.in_change = False

    def in_change(self) -> bool:
        return getattr(self.local, "in_change", False)


def install(tally: Tally) -> None:
    """Wraps the counted functions; every process that imports this counts nothing until a
    window opens."""
    count_queries(tally)
    count_serializers(tally)
    count_events(tally)


def count_queries(tally: Tally) -> None:
    """Every query of every thread, by statement, in the change's thread or elsewhere."""
    from django.db.backends import utils

    execute = utils.CursorWrapper._execute_with_wrappers

    def counted_execute(self, sql, params, many, executor):
        where = "change" if tally.in_change() else "elsewhere"
        tally.add(f"queries_{where}")
        statement = sql.split(None, 1)[0].upper() if sql else "?"
        tally.add(f"sql_{where}_{statement}")
        return execute(self, sql, params, many, executor)

    utils.CursorWrapper._execute_with_wrappers = counted_execute


def count_serializers(tally: Tally) -> None:
    """DRF's serializer instantiations and `to_representation` calls, by serializer class."""
    from rest_framework import serializers

    to_representation = serializers.Serializer.to_representation

    def counted_to_representation(self, instance):
        tally.add(f"to_representation:{type(self).__name__}")
        return to_representation(self, instance)

    serializers.Serializer.to_representation = counted_to_representation

    init = serializers.BaseSerializer.__init__

    def counted_init(self, *args, **kwargs):
        tally.add(f"serializer_instances:{type(self).__name__}")
        init(self, *args, **kwargs)

    serializers.BaseSerializer.__init__ = counted_init


def count_events(tally: Tally) -> None:
    """Our event encodings and the channel layer's `group_send`s."""
    from channels.layers import get_channel_layer

    from realtime import notifications

    encode = notifications.encode

    def counted_encode(message):
        tally.add("json_encodes")
        return encode(message)

    notifications.encode = counted_encode

    layer = get_channel_layer()
    group_send = layer.group_send

    async def counted_group_send(group, message):
        tally.add("layer_group_sends")
        return await group_send(group, message)

    layer.group_send = counted_group_send


async def open_sockets(application, cookies: list[str], subscription: dict):
    from channels.testing import WebsocketCommunicator

    sockets = []
    for cookie in cookies:
        communicator = WebsocketCommunicator(
            application,
            "/ws/notifications/",
            headers=[(b"origin", ORIGIN), (b"cookie", f"sessionid={cookie}".encode())],
        )
        connected, _ = await communicator.connect(timeout=30)
        if not connected:
            raise RuntimeError("a socket was refused: is the world seeded in this database?")
        await communicator.send_json_to({**subscription, "request_id": 1})
        reply = await communicator.receive_json_from(timeout=30)
        if reply["type"] != "SUBSCRIBED":
            raise RuntimeError(f"subscription refused: {reply}")
        sockets.append(communicator)
    return sockets


async def drain(socket) -> list[dict]:
    """The frames a socket has already been sent, without waiting."""
    frames = []
    while not socket.output_queue.empty():
        message = socket.output_queue.get_nowait()
        if message["type"] == "websocket.send":
            frames.append(json.loads(message["text"]))
    return frames


async def measure_change(tally: Tally, sockets, prepare, change, required: int) -> dict:
    """`prepare()` runs before the window (loading the object is not the change's cost),
    `change(prepared)` inside it. The first `required` sockets must receive a frame; the others
    (restricted watchers of a User) are counted if the server sent them one."""
    from asgiref.sync import sync_to_async

    def run(prepared):
        with tally.change():
            return change(prepared)

    prepared = await sync_to_async(prepare)()
    with tally.window() as counts:
        started = time.perf_counter()
        status = await sync_to_async(run)(prepared)
        changed = time.perf_counter()
        frames = [await socket.receive_json_from(timeout=30) for socket in sockets[:required]]
        delivered = time.perf_counter()
        # The hub writes to all of a group's sockets in one pass: what it sent is queued by now.
        await asyncio.sleep(0.05)
        for socket in sockets[required:]:
            frames += await drain(socket)
    kinds = Counter(frame["type"] for frame in frames)
    return {
        "status": status,
        "frames": len(frames),
        "frame_types": dict(kinds),
        "queries_change": counts["queries_change"],
        "queries_elsewhere": counts["queries_elsewhere"],
        "sql": {key[4:]: value for key, value in sorted(counts.items()) if key.startswith("sql_")},
        "to_representation": sum(
            v for k, v in counts.items() if k.startswith("to_representation:")
        ),
        "serializer_instances": sum(
            v for k, v in counts.items() if k.startswith("serializer_instances:")
        ),
        "by_serializer": {
            key: value
            for key, value in sorted(counts.items())
            if key.startswith(("to_representation:", "serializer_instances:"))
        },
        "json_encodes": counts["json_encodes"],
        "layer_group_sends": counts["layer_group_sends"],
        "change_ms": round(1000 * (changed - started), 3),
        "delivery_ms": round(1000 * (delivered - changed), 3),
    }


class Changes:
    """The two changes measured, each a (prepare, change) pair that writes a value of its own:
    `save()` of the object, and a whole PATCH through Django's test client (for a collection:
    the `save()` of a new object, and a whole POST)."""

    def __init__(self):
        self.count = 0

    def unique(self) -> str:
        self.count += 1
        return f"cost-{os.getpid()}-{self.count}"

    def save(self, model, pk, field: str):
        def prepare():
            return model.objects.get(pk=pk)

        def change(instance):
            setattr(instance, field, self.unique())
            instance.save()

        return prepare, change

    def create(self, model, field: str, **known):
        """`save()` of a new object with `known` fields."""

        def prepare():
            return model(**known)

        def change(instance):
            setattr(instance, field, self.unique())
            instance.save()

        return prepare, change

    def patch(self, path: str, session: str, field: str, method: str = "patch"):
        """The request: a PATCH, or the `method` that creates (a POST)."""
        from django.test import Client

        def prepare():
            client = Client(HTTP_HOST="127.0.0.1")
            client.cookies["sessionid"] = session
            return client

        def change(client):
            send = getattr(client, method)
            response = send(path, {field: self.unique()}, content_type="application/json")
            return response.status_code

        return prepare, change


def objects(world: dict, n: int, changes: Changes) -> dict:
    """For each object, what its N sockets are and which changes are measured on it."""
    from api.hashids import decode
    from api.models import Foo, User

    owner, star = world["owner"], world["star"]
    foo = owner["foos"][0]
    return {
        "foo": {
            "cookies": [owner["sessions"][0]] * n,
            "subscription": {"model": "api.Foo", "id": foo},
            "save": changes.save(Foo, decode(Foo, foo), "bar"),
            "patch": changes.patch(f"/api/foo/{foo}", owner["sessions"][0], "bar"),
        },
        "user": {
            "cookies": [star["sessions"][0]]
            + [w["sessions"][0] for w in world["watchers"][: n - 1]],
            "subscription": {"model": "api.User", "id": star["id"]},
            "save": changes.save(User, decode(User, star["id"]), "first_name"),
            "patch": changes.patch(f"/api/users/{star['id']}", star["sessions"][0], "first_name"),
        },
        # Issue 13: N sockets of the owner following its Foos, each change a new Foo.
        "collection": {
            "cookies": [owner["sessions"][0]] * n,
            "subscription": {"model": "api.Foo"},
            "save": changes.create(Foo, "bar", owner_id=decode(User, owner["id"])),
            "patch": changes.patch("/api/foo", owner["sessions"][0], "bar", method="post"),
        },
    }


async def measure_object(tally: Tally, kind: str, measured: dict) -> dict:
    from backend.asgi import application

    sockets = await open_sockets(application, measured["cookies"], measured["subscription"])
    # Foo and collection: every socket is the owner's. User: the first socket is the user's own.
    required = 1 if kind == "user" else len(sockets)
    # One of each first, unmeasured: lazy imports and caches are not a per-change cost.
    await measure_change(tally, sockets, *measured["save"], required)
    await measure_change(tally, sockets, *measured["patch"], required)
    result = {
        "sockets": len(sockets),
        "save": await measure_change(tally, sockets, *measured["save"], required),
        "patch": await measure_change(tally, sockets, *measured["patch"], required),
    }
    for socket in sockets:
        await socket.disconnect()
    return result


async def measure(world: dict, ns: list[int]) -> dict:
    tally = Tally()
    install(tally)
    changes = Changes()
    results: dict = {"foo": {}, "user": {}, "collection": {}}
    for n in ns:
        for kind, measured in objects(world, n, changes).items():
            results[kind][str(n)] = await measure_object(tally, kind, measured)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world", required=True, help="bench.seed's JSON")
    parser.add_argument("--ns", default="1,50,500")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    with open(args.world) as world:
        world = json.load(world)
    ns = [int(n) for n in args.ns.split(",") if n.strip()]
    json.dump(asyncio.run(measure(world, ns)), sys.stdout)


if __name__ == "__main__":
    main()
