"""The ASGI handler (backend/handlers.py): Daphne's requests go through the whole middleware
stack and the view, run in sync mode, with what each middleware adds."""

import json

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings

from api.models import Foo
from backend.asgi import application
from tests.conftest import session_cookie
from tests.support import hashid

CSRF = "c" * 32


async def request(method: str, path: str, user=None, body=None, **headers) -> dict:
    """A request through the project's ASGI application, as Daphne makes it."""
    session = None if user is None else await sync_to_async(session_cookie)(user)
    return await send(method, path, session, body, **headers)


async def send(method: str, path: str, session: str | None, body=None, **headers) -> dict:
    """`request`, for a session key already made."""
    cookies = f"csrftoken={CSRF}"
    if session is not None:
        cookies += f"; {settings.SESSION_COOKIE_NAME}={session}"
    raw = [(b"host", b"127.0.0.1"), (b"cookie", cookies.encode())]
    raw += [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    content = b""
    if body is not None:
        content = json.dumps(body).encode()
        raw += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    communicator = HttpCommunicator(application, method, path, body=content, headers=raw)
    response = await communicator.get_response(timeout=10)
    response["headers"] = {
        name.decode().lower(): value.decode() for name, value in response["headers"]
    }
    return response


@pytest.mark.django_db(transaction=True)
async def test_a_patch_runs_the_view_and_every_middleware(user, foo):
    response = await request(
        "PATCH", f"/api/foo/{hashid(foo)}", user, {"bar": "through asgi"}, x_csrftoken=CSRF
    )

    assert response["status"] == 200
    assert json.loads(response["body"])["bar"] == "through asgi"
    assert response["headers"]["etag"] == '"2"'
    assert response["headers"]["x-frame-options"] == "DENY"
    assert response["headers"]["x-content-type-options"] == "nosniff"
    assert (await Foo.objects.aget(pk=foo.pk)).bar == "through asgi"


@pytest.mark.django_db(transaction=True)
async def test_a_session_write_without_its_csrf_token_is_refused(user, foo):
    response = await request("PATCH", f"/api/foo/{hashid(foo)}", user, {"bar": "forged"})

    assert response["status"] == 403
    assert "CSRF" in json.loads(response["body"])["detail"]
    assert (await Foo.objects.aget(pk=foo.pk)).bar == foo.bar


@pytest.mark.django_db(transaction=True)
async def test_a_current_if_none_match_gets_304(user, foo):
    response = await request("GET", f"/api/foo/{hashid(foo)}", user, if_none_match='"1"')

    assert response["status"] == 304
    assert response["body"] == b""
    assert response["headers"]["etag"] == '"1"'


@pytest.mark.django_db(transaction=True)
async def test_a_patch_is_handed_from_the_loop_to_a_thread_twice(user, foo, monkeypatch):
    """Each hand-off waits in the loop's queue behind whatever else the loop serves. Two remain:
    request_started's receivers, then the middleware chain with the view (in Django's async
    mode, each middleware hook was one more)."""
    session = await sync_to_async(session_cookie)(user)
    await send("PATCH", f"/api/foo/{hashid(foo)}", session, {"bar": "warm"}, x_csrftoken=CSRF)
    handed = []
    call = SyncToAsync.__call__

    def counted(self, *args, **kwargs):
        handed.append(self.func)
        return call(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    response = await send(
        "PATCH", f"/api/foo/{hashid(foo)}", session, {"bar": "counted"}, x_csrftoken=CSRF
    )

    assert response["status"] == 200
    assert len(handed) == 2, handed
