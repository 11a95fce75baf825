"""Counts asgiref's thread hops (sync_to_async and async_to_sync calls) of one PATCH through the
project's ASGI application in-process, on the database in DATABASE_URL (a world set up by
perf/request_path.py: pass its session and Foo id)."""

import asyncio
import collections
import json
import sys

import django

django.setup()

from asgiref import sync  # noqa: E402
from asgiref.testing import ApplicationCommunicator  # noqa: E402

from backend.asgi import application  # noqa: E402

CSRF = "a" * 32
calls = collections.Counter()
for name in ("SyncToAsync", "AsyncToSync"):
    cls = getattr(sync, name)
    original = cls.__call__

    def counted(self, *args, _original=original, _name=name, **kwargs):
        target = self.func if hasattr(self, "func") else self.awaitable
        calls[f"{_name}: {getattr(target, '__qualname__', '?')}"] += 1
        return _original(self, *args, **kwargs)

    cls.__call__ = counted


async def patch(session, foo, value):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": f"/api/foo/{foo}",
        "raw_path": f"/api/foo/{foo}".encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"cookie", f"sessionid={session}; csrftoken={CSRF}".encode()),
            (b"x-csrftoken", CSRF.encode()),
            (b"origin", b"http://127.0.0.1"),
        ],
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input(
        {"type": "http.request", "body": json.dumps({"bar": value}).encode()}
    )
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    assert start["status"] == 200, body
    await communicator.wait(5)


async def main(session, foo):
    await patch(session, foo, "warm")
    calls.clear()
    await patch(session, foo, "counted")
    print(sum(calls.values()), "hops")
    for name, count in calls.most_common():
        print(f"{count:3} {name}")


asyncio.run(main(*sys.argv[1:3]))
