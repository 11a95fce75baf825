"""A change costs the same whether one socket or fifty (or, following a collection, 500)
follow it."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import Foo, User
from api.serializers import FooSerializer, PublicUserSerializer, UserSerializer
from realtime import notifications
from realtime.hub import Hub
from tests.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def serializer_calls(monkeypatch):
    """Counts representations built, per serializer class."""
    calls = {}
    for serializer in (FooSerializer, UserSerializer, PublicUserSerializer):
        original = serializer.to_representation

        def counting(self, instance, original=original, name=serializer.__name__):
            calls[name] = calls.get(name, 0) + 1
            return original(self, instance)

        monkeypatch.setattr(serializer, "to_representation", counting)
    return calls


async def cost_of_change(instance, sockets, serializer_calls, **fields) -> tuple[int, dict]:
    """Queries and serializations from the save to the last socket's event."""
    serializer_calls.clear()

    @sync_to_async
    def change():
        with CaptureQueriesContext(connection) as queries:
            for name, value in fields.items():
                setattr(instance, name, value)
            instance.save()
        return len(queries)

    queries = await change()
    for socket in sockets:
        assert (await socket.receive_json_from())["type"].startswith("UPDATE_")
    return queries, dict(serializer_calls)


async def test_foo_change_costs_the_same_for_1_and_50_sockets(
    subscribed, serializer_calls, user, foo
):
    one = [await subscribed(user, foo)]
    cost_one = await cost_of_change(foo, one, serializer_calls, bar="one")
    fifty = one + [await subscribed(user, foo) for _ in range(49)]
    cost_fifty = await cost_of_change(foo, fifty, serializer_calls, bar="fifty")
    assert cost_one == cost_fifty == (1, {"FooSerializer": 1})


async def test_user_change_costs_two_serializations_for_1_and_50_watchers(
    subscribed, serializer_calls, user
):
    watchers = await sync_to_async(User.objects.bulk_create)(
        [User(username=f"watcher{n}") for n in range(50)]
    )
    own = await subscribed(user, user)
    sockets = [own, await subscribed(watchers[0], user)]
    cost_one = await cost_of_change(user, sockets, serializer_calls, username="a1")
    sockets += [await subscribed(watcher, user) for watcher in watchers[1:]]
    cost_fifty = await cost_of_change(user, sockets, serializer_calls, username="a50")
    expected = (1, {"UserSerializer": 1, "PublicUserSerializer": 1})
    assert cost_one == cost_fifty == expected


@pytest.fixture
def layer_messages(monkeypatch):
    """Counts group sends by the saving process, and messages read by this process's hub."""
    counts = {"sent": 0, "received": 0}
    original_send, original_deliver = notifications.broadcast, Hub._deliver

    def send(messages):
        counts["sent"] += len(messages)
        original_send(messages)

    async def deliver(self, events):
        counts["received"] += len(events)
        await original_deliver(self, events)

    monkeypatch.setattr(notifications, "broadcast", send)
    monkeypatch.setattr(Hub, "_deliver", deliver)
    return counts


@pytest.mark.parametrize("followers", [1, 50, 500])
async def test_collection_change_costs_the_same_for_1_50_and_500_followers(
    open_socket, serializer_calls, layer_messages, user, followers, settings
):
    """A Foo's change reaches N sockets that follow its owner's collection with one query (the
    save), one serialization, and one message to the owner's group that this process's hub
    reads once; the Foo's own group, which no socket follows, costs a send and no read.

    The 500 sockets are one user's, over the per-user socket limit, which is not what this
    measures."""
    settings.REALTIME = {"MAX_SOCKETS_PER_USER": followers}
    key = await sync_to_async(session_cookie)(user)
    sockets = []
    for _ in range(followers):
        socket = await open_socket(session_key=key)
        await socket.send_json_to({"model": "api.Foo"})
        sockets.append(socket)
    await socket.send_json_to({"model": "api.Foo", "request_id": "last"})
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    foo = await sync_to_async(Foo.objects.create)(bar="new", owner=user)
    for socket in sockets:
        assert (await socket.receive_json_from())["type"] == "CREATE_FOO"
    layer_messages.update(sent=0, received=0)
    cost = await cost_of_change(foo, sockets, serializer_calls, bar="changed")
    assert cost == (1, {"FooSerializer": 1})
    assert layer_messages == {"sent": 2, "received": 1}
