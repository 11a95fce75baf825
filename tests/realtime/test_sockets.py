"""The socket limits (realtime/sockets.py), through the real router and session auth."""

from realtime.conf import DEFAULTS
from realtime.metrics import SOCKETS_OPEN, SOCKETS_REFUSED


def sample(metric, name: str, **labels) -> float:
    """A sample of one metric (the whole registry would read the job queue too: not from async
    code)."""
    (family,) = metric.collect()
    found = (each.value for each in family.samples if (each.name, each.labels) == (name, labels))
    return next(found, 0.0)


async def close_code(socket) -> int:
    """The code the server closed an accepted `socket` with, as it opened."""
    message = await socket.receive_output()
    assert message["type"] == "websocket.close", message
    return message["code"]


async def test_a_users_socket_over_the_limit_is_closed_with_4429(open_socket, user, other_user):
    sockets = [await open_socket(user) for _ in range(DEFAULTS["MAX_SOCKETS_PER_USER"])]
    refused = sample(SOCKETS_REFUSED, "realtime_sockets_refused_total", code="4429")

    assert await close_code(await open_socket(user)) == 4429
    assert sample(SOCKETS_REFUSED, "realtime_sockets_refused_total", code="4429") == refused + 1
    # Every socket already open still works, and so do other users'.
    assert await sockets[-1].receive_nothing()
    other = await open_socket(other_user)
    await other.send_json_to({"request_id": "alive?"})
    assert (await other.receive_json_from())["meta"] == {"request_id": "alive?"}


async def test_a_closed_socket_frees_its_place(open_socket, settings, user):
    settings.REALTIME = {"MAX_SOCKETS_PER_USER": 1}
    first = await open_socket(user)
    assert await close_code(await open_socket(user)) == 4429
    await first.disconnect()

    again = await open_socket(user)
    await again.send_json_to({"request_id": "alive?"})
    assert (await again.receive_json_from())["meta"] == {"request_id": "alive?"}


async def test_a_process_over_its_limit_closes_any_new_socket_with_4013(
    open_socket, settings, user, other_user
):
    settings.REALTIME = {"MAX_SOCKETS": 2}
    await open_socket()
    await open_socket(user)
    open_now = sample(SOCKETS_OPEN, "realtime_sockets_open")

    assert await close_code(await open_socket(other_user)) == 4013
    assert await close_code(await open_socket()) == 4013
    assert sample(SOCKETS_OPEN, "realtime_sockets_open") == open_now
