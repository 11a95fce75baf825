import pytest
import pytest_asyncio
from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from api.models import Foo, User
from backend.asgi import application
from tests.support import salt_of_length, settle

PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    """Tests of PostgreSQL or Redis behaviour run on the leg that has them (`make test` runs it
    where it finds them, tests/legs.py; CI always does)."""
    legs = {
        "postgres": (
            settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
            "needs PostgreSQL: runs on the PostgreSQL leg",
        ),
        "redis": (bool(settings.REDIS_URL), "needs Redis: runs on the Redis leg"),
        "e2e": (
            settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
            and bool(settings.REDIS_URL),
            "end-to-end with worker processes: needs DATABASE_URL (PostgreSQL) and REDIS_URL",
        ),
    }
    for item in items:
        for marker, (available, reason) in legs.items():
            if marker in item.keywords and not available:
                item.add_marker(pytest.mark.skip(reason=reason))
        if pytest_asyncio.is_async_test(item):
            # First in, last out: its teardown comes after every other async fixture's.
            item.fixturenames.insert(0, "settled_loop")


@pytest.fixture
async def settled_loop():
    """Ends an async test with nothing left running on its behalf (`tests.support.settle`)."""
    yield
    await settle()


ORIGIN = "http://localhost"


class FastPasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 at one iteration instead of a million (a third of a second per user). The count is
    part of the hash, so a server process that a test starts still accepts these passwords."""

    iterations = 1


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.conftest.FastPasswordHasher"]


def make_user(username: str, **fields) -> User:
    return User.objects.create_user(username, f"{username}@example.com", PASSWORD, **fields)


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Every test runs in an event loop of its own, and channels_redis keeps asyncio locks on the
    layer, bound to the loop that first used them; a server runs one loop for its life, a test
    suite hundreds, so each test gets a layer of its own, as each server process does."""
    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Closes PostgreSQL's connection pool before the test database is dropped (the pool would
    keep it busy), once asgiref's shared sync thread has given back the connection it holds
    (the tests' own `sync_to_async` calls leave it open there, as Django does in a thread)."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    with django_db_blocker.unblock():
        for connection in connections.all():
            if getattr(connection, "pool", None) is not None:
                connection.close_pool()


@pytest.fixture
def production_length_salt(settings):
    """HASHIDS_SALT as long as a production secret: longer than the part of a salt hashids reads."""
    settings.HASHIDS_SALT = salt_of_length(50)


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


class Socket(WebsocketCommunicator):
    """A communicator with patient defaults: a loaded CI machine is slower than a laptop."""

    # The `timeout` parameters are channels' own API, which these only give longer defaults.
    async def receive_output(self, timeout=5):  # noqa: ASYNC109
        return await super().receive_output(timeout)

    async def receive_json_from(self, timeout=5):  # noqa: ASYNC109
        return await super().receive_json_from(timeout)

    def recv(self, timeout: float) -> str:
        """The next frame, as the websockets client's `recv` returns it, for the helpers that
        real sockets share (tests.api.jobs_support.job_events); call it in a thread of its own
        (sync_to_async), from which it waits on the test's event loop."""
        return async_to_sync(self.receive_from)(timeout)


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
        communicator = Socket(application, "/ws/notifications/", headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        communicator.session_key = key if len(headers) > 1 else None
        sockets.append(communicator)
        return communicator

    yield open_socket
    for communicator in sockets:
        # A socket whose consumer failed has nothing left to close.
        if not communicator.future.done():
            await communicator.disconnect()
