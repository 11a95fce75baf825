"""The socket limits (realtime/sockets.py), through the real router and session auth."""

import pytest
from asgiref.sync import sync_to_async
from django.db import DatabaseError

from api.models import Foo
from realtime.conf import DEFAULTS
from realtime.hub import get_hub
from realtime.metrics import SOCKETS_OPEN, SOCKETS_REFUSED
from tests.support import rename_table, subscription


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


async def test_a_socket_whose_consumer_fails_leaves_its_groups_and_frees_its_place(
    open_socket, settings, user, foo
):
    """What was tried: a subscription whose snapshot the database fails to read (its table
    renamed away), which ends the consumer with the error; Daphne logs it and closes the socket.
    Its disconnect never ran: the socket stayed counted against its user and a member of the
    hub's groups, written every fan-out, for as long as the process ran."""
    settings.REALTIME = {"MAX_SOCKETS_PER_USER": 1}
    open_before = sample(SOCKETS_OPEN, "realtime_sockets_open")
    failing = await open_socket(user)
    table = Foo._meta.db_table
    await sync_to_async(rename_table)(Foo, table, f"{table}_lost")
    try:
        await failing.send_json_to(subscription(foo))
        with pytest.raises(DatabaseError):
            await failing.receive_output()
    finally:
        await sync_to_async(rename_table)(Foo, f"{table}_lost", table)

    assert sample(SOCKETS_OPEN, "realtime_sockets_open") == open_before
    assert get_hub().groups == {}
    again = await open_socket(user)
    await again.send_json_to(subscription(foo, request_id="again"))
    assert (await again.receive_json_from())["meta"] == {"request_id": "again"}
