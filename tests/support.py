"""Helpers shared by the tests."""

import asyncio
import string
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from api import hashids
from tests.hangs import described

# How long a test's tasks and the sync code they started get to end once it is over.
SETTLE_SECONDS = 30


def salt_of_length(length: int) -> str:
    """A fixed salt of `length` characters, drawn from get_random_secret_key()'s alphabet."""
    alphabet = string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)"
    return (alphabet * (length // len(alphabet) + 1))[:length]


def hashid(instance) -> str:
    return hashids.encode(type(instance), instance.pk)


def subscription(instance, **extra) -> dict:
    return {"model": instance._meta.label, "id": hashid(instance), **extra}


async def save(instance, **fields) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)
    await sync_to_async(instance.save)()


async def close_code(socket) -> int:
    """The code the server closed `socket` with (fails if it sends anything else first)."""
    message = await socket.receive_output()
    assert message["type"] == "websocket.close", message
    return message["code"]


async def group_members(group: str) -> int:
    """How many channels the channel layer holds in `group`."""
    layer = get_channel_layer()
    if hasattr(layer, "groups"):
        return len(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


def wait_for_a_session_blocked_by_this_one(timeout: float) -> bool:
    """Polls PostgreSQL until another session waits for a lock this one holds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return True
    return False


def rename_table(model, old: str, new: str) -> None:
    """Renames `model`'s table: the database then fails every query of it, as a real fault
    would (a test renames it back)."""
    with connection.schema_editor() as editor:
        editor.alter_db_table(model, old, new)


async def settle() -> None:
    """Cancels the running loop's other tasks (sockets, hubs, session watchers) and waits for
    them, then for the sync code they had started, with the loop still running.

    Outside a request, asgiref runs all of a process's sync code on one shared thread
    (`sync_to_async`, Channels' `database_sync_to_async`): a server's for its life, but the
    suite's across hundreds of test loops. A call still running there when its test's loop
    closed, which then waited on that loop (`async_to_sync`, as each change's notification
    does), would park the shared thread forever, and every later test that reached the
    database would hang. pytest-asyncio cancels the tasks too, but then closes the loop without
    waiting for their threads."""
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=SETTLE_SECONDS)
        assert not pending, "Tasks that ignored their cancellation:\n" + "\n".join(
            described(task) for task in pending
        )
    await asyncio.wait_for(sync_to_async(lambda: None)(), SETTLE_SECONDS)
