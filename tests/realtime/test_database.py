"""A socket's hops share the thread's SQLite connection, opened once; on PostgreSQL each hop
takes one from the pool and gives it back."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.db.backends.signals import connection_created

from tests.support import subscription

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_socket_opens_one_sqlite_connection_for_all_its_hops(open_socket, user, foo):
    opened = []

    def count(sender, connection, **kwargs):
        opened.append(connection.alias)

    socket = await open_socket(user)
    await sync_to_async(lambda: connection.close())()
    connection_created.connect(count)
    try:
        for request_id in range(3):
            await socket.send_json_to(subscription(foo, request_id=request_id))
            assert (await socket.receive_json_from())["type"] == "SUBSCRIBED"
    finally:
        connection_created.disconnect(count)

    assert len(opened) == (1 if connection.vendor == "sqlite" else 3)
