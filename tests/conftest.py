import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from api.models import Foo, User
from backend.asgi import application

PASSWORD = "correct horse battery staple"
ORIGIN = "http://localhost"


def make_user(username: str, **fields) -> User:
    return User.objects.create_user(username, f"{username}@example.com", PASSWORD, **fields)


@pytest.fixture
def user(db):
    return make_user("alice", first_name="Alice", last_name="Liddell")


@pytest.fixture
def other_user(db):
    return make_user("bob", first_name="Bob")


@pytest.fixture
def foo(user):
    return Foo.objects.create(bar="first", owner=user)


@pytest.fixture
def foreign_foo(other_user):
    return Foo.objects.create(bar="not yours", owner=other_user)


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def anonymous_api():
    return APIClient()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
async def open_socket(transactional_db):
    """Opens `ws/notifications/` through the real ASGI stack (origin check, session auth)."""
    await get_channel_layer().flush()
    sockets = []

    async def open_socket(user=None, origin=ORIGIN, session_key=None):
        headers = [(b"origin", origin.encode())]
        if user is not None or session_key is not None:
            key = session_key or await sync_to_async(session_cookie)(user)
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
        communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        communicator.session_key = key if len(headers) > 1 else None
        sockets.append(communicator)
        return communicator

    yield open_socket
    for communicator in sockets:
        await communicator.disconnect()
