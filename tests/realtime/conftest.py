import pytest

from tests.support import subscription


@pytest.fixture
async def subscribed(open_socket):
    """A socket of `user` subscribed to `instance`, its SUBSCRIBED answer consumed."""

    async def subscribed(user, instance):
        socket = await open_socket(user)
        await socket.send_json_to(subscription(instance, request_id="sub"))
        answer = await socket.receive_json_from()
        assert answer["type"] == "SUBSCRIBED", answer
        return socket

    return subscribed
