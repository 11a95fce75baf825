"""The `ws/notifications/` protocol, driven through the real ASGI stack."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from api.models import Foo
from backend.asgi import application
from tests.support import hashid, save, subscription

pytestmark = pytest.mark.django_db(transaction=True)


async def error_of(socket) -> dict:
    message = await socket.receive_json_from()
    assert message["type"] == "ERROR"
    assert message["error"] is True
    return message


@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"https://evil.example")],
        # No Origin at all (a script, which should use a token), and one that does not parse.
        [],
        [(b"origin", b"http://[::1")],
    ],
    ids=["foreign", "absent", "unparsable"],
)
async def test_socket_from_another_origin_is_refused_at_handshake(transactional_db, headers):
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_anonymous_socket_is_accepted_but_cannot_subscribe(open_socket, foo):
    socket = await open_socket()
    await socket.send_json_to(subscription(foo, request_id=7))
    error = await error_of(socket)
    assert error["payload"]["code"] == "not_authenticated"
    assert error["meta"] == {"request_id": 7}


async def test_text_that_is_not_json_is_a_parse_error_and_the_socket_stays(open_socket, user, foo):
    socket = await open_socket(user)
    await socket.send_to(text_data="{model: api.Foo")
    assert (await error_of(socket))["payload"]["code"] == "parse_error"
    await socket.send_json_to(subscription(foo, request_id=1))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"


async def test_binary_frame_is_a_parse_error(open_socket, user):
    socket = await open_socket(user)
    await socket.send_to(bytes_data=b'{"model": "api.Foo"}')
    assert (await error_of(socket))["payload"]["code"] == "parse_error"


async def test_json_that_is_not_an_object_is_invalid(open_socket, user):
    socket = await open_socket(user)
    await socket.send_json_to(["api.Foo", "abc"])
    payload = (await error_of(socket))["payload"]
    assert payload == {"code": "invalid", "detail": "Send a JSON object."}


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"id": "x"}, "model"),
        ({"model": "api.Foo", "id": None}, "id"),
        ({"model": "auth.Group", "id": "x"}, "model"),
        ({"model": "sessions.Session", "id": "x"}, "model"),
        ({"model": "<script>", "id": "x"}, "model"),
        ({"model": "api.Foo", "id": "not-a-hashid"}, "id"),
        ({"model": "api.Foo", "id": 12}, "id"),
        ({"model": "api.Foo", "id": "x", "action": "delete"}, "action"),
    ],
)
async def test_bad_fields_are_invalid_with_field_errors(open_socket, user, message, field):
    socket = await open_socket(user)
    await socket.send_json_to({**message, "request_id": "r1"})
    error = await error_of(socket)
    assert error["payload"]["code"] == "invalid"
    assert field in error["payload"]["errors"]
    assert error["meta"] == {"request_id": "r1"}


async def test_unsubscribable_model_error_names_the_subscribable_ones(open_socket, user):
    socket = await open_socket(user)
    await socket.send_json_to({"model": "auth.Group", "id": "x"})
    errors = (await error_of(socket))["payload"]["errors"]
    assert errors["model"] == [
        "'auth.Group' is not subscribable. Subscribable models: api.Foo, api.Job, api.User."
    ]


async def test_the_id_of_another_model_never_names_the_object_of_the_same_key(
    open_socket, production_length_salt, user
):
    """A User's id sent as a Foo's is refused, or decodes to some other Foo's key, depending on
    the key (api/hashids.py): never the Foo with the user's key."""
    await Foo.objects.acreate(id=user.pk, bar="same key", owner=user)
    socket = await open_socket(user)
    await socket.send_json_to({"model": "api.Foo", "id": hashid(user)})
    assert (await error_of(socket))["payload"]["code"] in {"invalid", "not_found"}


@pytest.mark.parametrize("request_id", [{"nested": 1}, True, 1.5, "x" * 101])
async def test_invalid_request_id_is_not_echoed(open_socket, user, foo, request_id):
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foo, request_id=request_id))
    error = await error_of(socket)
    assert "request_id" in error["payload"]["errors"]
    assert error["meta"] == {}


async def test_other_users_foo_is_not_found(open_socket, user, foreign_foo):
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foreign_foo, request_id=3))
    error = await error_of(socket)
    assert error["payload"] == {"code": "not_found", "detail": "No such object."}
    assert error["meta"] == {"request_id": 3}


async def test_deleted_foo_is_not_found_like_a_foreign_one(open_socket, user, foo):
    message = subscription(foo)
    await sync_to_async(foo.delete)()
    socket = await open_socket(user)
    await socket.send_json_to(message)
    assert (await error_of(socket))["payload"]["code"] == "not_found"


async def test_subscribe_with_request_id_answers_the_current_representation(
    open_socket, api, user, foo
):
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foo, request_id="a"))
    answer = await socket.receive_json_from()
    rest = await sync_to_async(api.get)(f"/api/foo/{hashid(foo)}")
    assert answer == {
        "type": "SUBSCRIBED",
        "payload": {"model": "api.Foo", "id": hashid(foo), "version": 1, "data": rest.json()},
        "meta": {"request_id": "a"},
    }


async def test_subscribe_without_request_id_answers_nothing_then_streams(open_socket, user, foo):
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foo))
    assert await socket.receive_nothing(timeout=0.2)
    await save(foo, bar="second")
    assert (await socket.receive_json_from())["payload"]["bar"] == "second"


async def test_update_event_carries_what_rest_returns(subscribed, api, user, foo):
    socket = await subscribed(user, foo)
    response = await sync_to_async(api.patch)(
        f"/api/foo/{hashid(foo)}", {"bar": "changed"}, format="json"
    )
    event = await socket.receive_json_from()
    assert event == {
        "type": "UPDATE_FOO",
        "payload": response.json(),
        "meta": {"model": "api.Foo", "id": hashid(foo), "version": 2},
    }


async def test_save_without_tracked_change_sends_nothing(subscribed, user, foo):
    socket = await subscribed(user, foo)
    await save(foo)
    assert await socket.receive_nothing(timeout=0.2)
    await save(foo, bar="now")
    assert (await socket.receive_json_from())["meta"]["version"] == 3


async def test_each_save_grows_the_version_by_one(subscribed, user, foo):
    socket = await subscribed(user, foo)
    for bar in ("b", "c", "d"):
        await save(foo, bar=bar)
    versions = [(await socket.receive_json_from())["meta"]["version"] for _ in range(3)]
    assert versions == [2, 3, 4]


async def test_subscribing_twice_gives_one_event_per_change(subscribed, user, foo):
    socket = await subscribed(user, foo)
    await socket.send_json_to(subscription(foo, request_id="again"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(foo, bar="once")
    assert (await socket.receive_json_from())["payload"]["bar"] == "once"
    assert await socket.receive_nothing(timeout=0.2)


async def test_unsubscribe_answers_and_stops_events(subscribed, user, foo):
    socket = await subscribed(user, foo)
    await socket.send_json_to(subscription(foo, action="unsubscribe", request_id=9))
    assert await socket.receive_json_from() == {
        "type": "UNSUBSCRIBED",
        "payload": {"model": "api.Foo", "id": hashid(foo)},
        "meta": {"request_id": 9},
    }
    await save(foo, bar="unheard")
    assert await socket.receive_nothing(timeout=0.2)


async def test_unsubscribe_without_request_id_is_silent(subscribed, user, foo):
    socket = await subscribed(user, foo)
    await socket.send_json_to(subscription(foo, action="unsubscribe"))
    assert await socket.receive_nothing(timeout=0.2)
    # The socket handles messages in order: once a later one is answered, this one was handled.
    await socket.send_json_to([])
    assert (await error_of(socket))["payload"]["code"] == "invalid"
    await save(foo, bar="unheard")
    assert await socket.receive_nothing(timeout=0.2)


async def test_delete_event_ends_the_subscription(subscribed, user, foo):
    socket = await subscribed(user, foo)
    foo_id = hashid(foo)
    await sync_to_async(foo.delete)()
    assert await socket.receive_json_from() == {
        "type": "DELETE_FOO",
        "payload": {"id": foo_id},
        "meta": {"model": "api.Foo", "id": foo_id, "version": 1, "reason": "deleted"},
    }
    assert await socket.receive_nothing(timeout=0.2)


async def test_other_users_and_unsubscribed_sockets_receive_nothing(
    subscribed, open_socket, user, other_user, foo
):
    mine = await subscribed(user, foo)
    unsubscribed = await open_socket(user)
    other = await open_socket(other_user)
    await other.send_json_to(subscription(foo))
    assert (await error_of(other))["payload"]["code"] == "not_found"
    await save(foo, bar="private")
    assert (await mine.receive_json_from())["payload"]["bar"] == "private"
    assert await unsubscribed.receive_nothing(timeout=0.2)
    assert await other.receive_nothing(timeout=0.2)


async def test_subscription_limit(open_socket, settings, user):
    settings.REALTIME = {"MAX_SUBSCRIPTIONS": 2}
    foos = [await Foo.objects.acreate(bar=str(i), owner=user) for i in range(3)]
    socket = await open_socket(user)
    for foo in foos[:2]:
        await socket.send_json_to(subscription(foo, request_id=foo.bar))
        assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await socket.send_json_to(subscription(foos[2], request_id="third"))
    error = await error_of(socket)
    assert error["payload"]["code"] == "too_many_subscriptions"
    assert error["meta"] == {"request_id": "third"}
    await socket.send_json_to(subscription(foos[0], request_id="again"))
    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"


async def test_too_many_messages_are_throttled(open_socket, settings, user, foo):
    settings.REALTIME = {"THROTTLE_BURST": 3, "THROTTLE_RATE": 0.001}
    socket = await open_socket(user)
    for n in range(3):
        await socket.send_json_to(subscription(foo, request_id=n))
        assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await socket.send_json_to(subscription(foo, request_id=3))
    assert (await error_of(socket))["payload"]["code"] == "throttled"


async def test_message_over_the_size_limit_closes_with_4009(open_socket, settings, user):
    settings.REALTIME = {"MAX_MESSAGE_BYTES": 100}
    socket = await open_socket(user)
    await socket.send_to(text_data=json.dumps({"model": "api.Foo", "id": "é" * 60}))
    message = await socket.receive_output()
    assert message == {"type": "websocket.close", "code": 4009}


async def test_unsubscribing_from_an_unfollowed_object_is_answered_all_the_same(
    open_socket, user, foo
):
    socket = await open_socket(user)
    await socket.send_json_to(subscription(foo, action="unsubscribe", request_id=4))
    assert (await socket.receive_json_from())["type"] == "UNSUBSCRIBED"


async def test_sockets_subscribing_at_once_all_receive_events(open_socket, user, foo):
    sockets = [await open_socket(user) for _ in range(5)]
    for socket in sockets:
        await socket.send_json_to(subscription(foo, request_id="s"))
    for socket in sockets:
        assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    await save(foo, bar="all")
    for socket in sockets:
        assert (await socket.receive_json_from())["payload"]["bar"] == "all"
