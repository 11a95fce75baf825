"""API tokens on the WebSocket, through the real ASGI stack: offered as the subprotocols
`bearer, <token>`, never in the URL, and ended by revocation, expiry or deactivation."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from api import tokens
from backend.asgi import application
from realtime.close_codes import CloseCode
from tests.conftest import Socket, session_cookie
from tests.support import subscription

UNKNOWN = "rrb_" + "A" * 43
MALFORMED = "Malformed token: an API token is rrb_ and 43 more characters."
INVALID = "Invalid token: it does not exist or was revoked."
SUBPROTOCOLS = (
    "Unsupported subprotocols: offer exactly 'bearer' and the token, or none to use the "
    "session cookie."
)


@pytest.fixture
async def connect(transactional_db):
    """Opens `ws/notifications/` as a script does: no Origin, no cookie, unless given."""
    await get_channel_layer().flush()
    sockets = []

    async def connect(subprotocols, path="/ws/notifications/", headers=()):
        socket = Socket(application, path, headers=list(headers), subprotocols=subprotocols)
        sockets.append(socket)
        connected, subprotocol = await socket.connect()
        assert connected
        return socket, subprotocol

    yield connect
    for socket in sockets:
        await socket.disconnect()


@pytest.fixture
def issue(transactional_db):
    return sync_to_async(tokens.issue)


async def closed_with(socket) -> int:
    message = await socket.receive_output()
    assert message["type"] == "websocket.close", message
    return message["code"]


async def refusal(socket) -> tuple[dict, int]:
    """What a refused socket gets: its ERROR event, then its close code."""
    return await socket.receive_json_from(), await closed_with(socket)


def refused(detail: str) -> dict:
    return {
        "type": "ERROR",
        "error": True,
        "payload": {"code": "authentication_failed", "detail": detail},
        "meta": {},
    }


async def test_a_token_opens_a_socket_without_origin_and_the_server_picks_bearer(
    connect, issue, user, foo, foreign_foo
):
    _, secret = await issue(user, "script")

    socket, subprotocol = await connect(["bearer", secret])
    await socket.send_json_to(subscription(foo, request_id=1))
    mine = await socket.receive_json_from()
    await socket.send_json_to(subscription(foreign_foo, request_id=2))
    theirs = await socket.receive_json_from()

    assert subprotocol == "bearer"
    assert mine["type"] == "SUBSCRIBED"
    assert mine["payload"]["data"]["bar"] == "first"
    assert theirs["payload"]["code"] == "not_found"


async def test_a_token_socket_ignores_the_origin_and_the_cookie(
    connect, issue, user, other_user, foo
):
    _, secret = await issue(user, "script")
    cookie = await sync_to_async(session_cookie)(other_user)
    headers = [
        (b"origin", b"https://evil.example"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]

    socket, _ = await connect(["bearer", secret], headers=headers)
    await socket.send_json_to(subscription(foo, request_id=1))

    assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"


async def test_revoking_the_token_closes_its_sockets_with_4401(connect, issue, user):
    token, secret = await issue(user, "script")
    _, other_secret = await issue(user, "other")
    socket, _ = await connect(["bearer", secret])
    bystander, _ = await connect(["bearer", other_secret])

    await sync_to_async(token.delete)()

    assert await closed_with(socket) == CloseCode.LOGGED_OUT
    assert await bystander.receive_nothing()


async def test_deactivating_the_user_closes_token_sockets_with_4401(connect, issue, user):
    _, secret = await issue(user, "script")
    socket, _ = await connect(["bearer", secret])

    user.is_active = False
    await sync_to_async(user.save)()

    assert await closed_with(socket) == CloseCode.LOGGED_OUT


async def test_a_token_socket_closes_with_4401_when_the_token_expires(connect, issue, user):
    _, secret = await issue(user, "script", expires_at=timezone.now() + timedelta(seconds=1))
    socket, _ = await connect(["bearer", secret])

    assert await closed_with(socket) == CloseCode.LOGGED_OUT


async def test_expired_token_is_refused_saying_when(connect, issue, user):
    expired_at = timezone.now() - timedelta(seconds=1)
    _, secret = await issue(user, "old", expires_at=expired_at)

    socket, subprotocol = await connect(["bearer", secret])

    assert subprotocol == "bearer"
    assert await refusal(socket) == (
        refused(f"Token expired at {expired_at.isoformat()}; create a new one."),
        CloseCode.LOGGED_OUT,
    )


async def test_revoked_token_is_refused(connect, issue, user):
    token, secret = await issue(user, "gone")
    await sync_to_async(token.delete)()

    socket, _ = await connect(["bearer", secret])

    assert await refusal(socket) == (refused(INVALID), CloseCode.LOGGED_OUT)


async def test_token_of_an_inactive_user_is_refused(connect, issue, user):
    _, secret = await issue(user, "script")
    user.is_active = False
    await sync_to_async(user.save)()

    socket, _ = await connect(["bearer", secret])

    assert await refusal(socket) == (refused("The token's user is inactive."), CloseCode.LOGGED_OUT)


@pytest.mark.parametrize(
    ("offered", "picked", "detail"),
    [
        (["bearer", "rrb_short"], "bearer", MALFORMED),
        (["bearer", "not a token"], "bearer", MALFORMED),
        (["bearer", UNKNOWN], "bearer", INVALID),
        (["bearer"], "bearer", SUBPROTOCOLS),
        (["bearer", UNKNOWN, "extra"], "bearer", SUBPROTOCOLS),
        (["basic", "YWxpY2U6cGFzc3dvcmQ="], None, SUBPROTOCOLS),
        ([UNKNOWN], None, SUBPROTOCOLS),
    ],
)
async def test_malformed_unknown_and_other_schemes_are_refused(
    connect, user, offered, picked, detail
):
    socket, subprotocol = await connect(offered)

    assert subprotocol == picked
    assert await refusal(socket) == (refused(detail), CloseCode.LOGGED_OUT)


@pytest.mark.parametrize("parameter", ["access_token", "token"])
@pytest.mark.parametrize("offered", [None, "bearer"])
async def test_a_valid_token_in_the_query_string_is_refused(
    connect, issue, user, parameter, offered
):
    _, secret = await issue(user, "leaky")
    subprotocols = None if offered is None else ["bearer", secret]

    socket, _ = await connect(subprotocols, path=f"/ws/notifications/?{parameter}={secret}")

    assert await refusal(socket) == (refused(tokens.QUERY_DETAIL), CloseCode.LOGGED_OUT)


async def test_a_session_socket_still_needs_an_allowed_origin(transactional_db, user):
    cookie = await sync_to_async(session_cookie)(user)
    socket = Socket(
        application,
        "/ws/notifications/",
        headers=[(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())],
    )

    connected, _ = await socket.connect()

    assert not connected


async def test_with_tokens_alone_a_socket_without_one_is_anonymous(connect, settings, user, foo):
    """A project that authenticates sockets by token only: a socket that offers none, cookie and
    all, is opened anonymous, and may subscribe to nothing."""
    settings.REALTIME = {"AUTHENTICATION_CLASSES": ["api.socket_auth.TokenAuthentication"]}
    cookie = await sync_to_async(session_cookie)(user)
    headers = [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())]

    socket, subprotocol = await connect(None, headers=headers)
    await socket.send_json_to(subscription(foo, request_id=1))

    assert subprotocol is None
    answer = await socket.receive_json_from()
    assert answer["payload"]["code"] == "not_authenticated"
