"""The ASGI handler (backend/handlers.py): Daphne's requests go through the whole middleware
stack and the view, run in sync mode, with what each middleware adds."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings

from api.models import Foo
from backend.asgi import application
from tests.conftest import session_cookie
from tests.support import hashid

CSRF = "c" * 32


async def request(method: str, path: str, user=None, body=None, **headers) -> dict:
    """A request through the project's ASGI application, as Daphne makes it."""
    cookies = f"csrftoken={CSRF}"
    if user is not None:
        key = await sync_to_async(session_cookie)(user)
        cookies += f"; {settings.SESSION_COOKIE_NAME}={key}"
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
