"""realtime/draining.py in one process; tests/test_end_to_end.py sends SIGTERM to Daphne."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from backend.asgi import application
from realtime import draining, notifications
from realtime.hub import get_hub
from realtime.sockets import open_sockets
from tests.conftest import ORIGIN, Socket, session_cookie
from tests.realtime.test_hub import wait_until
from tests.realtime.test_sockets import close_code


@pytest.fixture
def drained():
    """This process as it is once SIGTERM has started its drain."""
    draining._draining.set()
    yield
    draining._draining.clear()


async def test_a_socket_that_opens_while_the_process_drains_is_closed_with_4012(
    open_socket, user, drained
):
    assert await close_code(await open_socket(user)) == 4012


async def test_drain_closes_every_socket_with_4012_over_the_window(open_socket, user):
    sockets = [await open_socket(user) for _ in range(4)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    drain = asyncio.ensure_future(draining.close_spread(open_sockets(), window=0.4))

    closed_at = []
    for socket in sockets:
        assert await close_code(socket) == 4012
        closed_at.append(loop.time() - started)
    await drain
    # The last of four closes at three quarters of the window, not at once.
    assert max(closed_at) >= 0.25


async def test_drain_skips_a_socket_its_client_closed_meanwhile(open_socket, user):
    sockets = [await open_socket(user) for _ in range(3)]
    drain = asyncio.ensure_future(draining.close_spread(open_sockets(), window=0.6))
    first = await next_closed(sockets)
    leaving = next(socket for socket in sockets if socket is not first)
    await leaving.disconnect()
    await drain
    last = next(socket for socket in sockets if socket not in (first, leaving))
    assert await close_code(last) == 4012


async def next_closed(sockets):
    """The first of `sockets` the server closes with 4012."""
    pending = {asyncio.ensure_future(close_code(socket)): socket for socket in sockets}
    done, rest = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    for future in rest:
        future.cancel()
    (future,) = done
    assert future.result() == 4012
    return pending[future]


async def test_a_socket_closed_while_it_joins_its_user_group_is_opened_only_to_hear_4012(
    transactional_db, user
):
    """The drain begins while a new socket waits to join its user's group (the test holds the
    group's lock): it is accepted only to be closed with 4012 (a refused handshake would reach
    a client through Daphne as 1006, without the code), and left in no group."""
    hub = get_hub()
    key = await sync_to_async(session_cookie)(user)
    group = notifications.user_group(user.pk)
    socket = Socket(
        application,
        "/ws/notifications/",
        headers=[(b"origin", ORIGIN.encode()), (b"cookie", f"sessionid={key}".encode())],
    )
    async with hub._lock(group):
        connecting = asyncio.ensure_future(socket.connect())
        # Counted in, it goes straight on to wait for the lock.
        await wait_until(lambda: open_sockets().sockets)
        drain = asyncio.ensure_future(draining.close_spread(open_sockets(), window=0))
        await asyncio.sleep(0.1)
    assert await connecting == (True, None)
    await drain
    assert await close_code(socket) == 4012
    assert group not in hub.groups
