"""Jobs run inside the web process: the single-process setup of `make run`.

The in-memory channel layer reaches only the sockets of its own process, and must only be used
from the event loop that serves them. So the worker and the reaper run in threads of Daphne's
process, entered through `sync_to_async` from Daphne's loop: asgiref sends every `async_to_sync`
call made in those threads (each event's `group_send`) back to that loop. They start when
Daphne's reactor starts, so importing backend.asgi elsewhere (tests, scripts) starts nothing,
and Daphne's shutdown waits for the job at hand to end.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker

from api.jobs.reaper import reap_forever

# Seconds between two looks for a new task when the queue is empty.
POLL_INTERVAL = 0.5


def start_with_server() -> None:
    from twisted.internet import reactor

    reactor.callWhenRunning(start, reactor)


def start(reactor) -> None:
    from daphne.server import twisted_loop
    from twisted.internet.defer import Deferred

    worker = Worker(
        queue_names=[DEFAULT_TASK_QUEUE_NAME],
        interval=POLL_INTERVAL,
        batch=False,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=f"embedded-{get_random_string(16)}",
        excluded_queue_names=[],
    )
    stop = threading.Event()
    running = asyncio.ensure_future(serve(worker, stop), loop=twisted_loop)

    def shut_down():
        worker.running = False
        stop.set()
        return Deferred.fromFuture(running)

    reactor.addSystemEventTrigger("before", "shutdown", shut_down)


async def serve(worker: Worker, stop: threading.Event) -> None:
    await asyncio.gather(
        in_thread("jobs-worker", worker.run),
        in_thread("jobs-reaper", reap_forever, stop),
    )


def in_thread(name: str, function, *args):
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    return sync_to_async(function, thread_sensitive=False, executor=executor)(*args)
