"""A change costs the same whether one socket or fifty follow it."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import User
from api.serializers import FooSerializer, PublicUserSerializer, UserSerializer

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
