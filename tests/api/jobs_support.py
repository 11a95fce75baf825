"""Helpers shared by the job tests."""

import json
import time

from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker

from api import hashids
from api.models import Job

EVENT_TIMEOUT = 30
JOB_TIMEOUT = 120


def run_worker() -> None:
    """Run every queued task in this thread with django-tasks-db's own worker loop, then return."""
    Worker(
        queue_names=[DEFAULT_TASK_QUEUE_NAME],
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def items(count: int, start: int = 0) -> list[dict]:
    return [{"bar": f"item {index}"} for index in range(start, start + count)]


def post_import(api, payload) -> dict:
    response = api.post("/api/foo/import", payload, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def job_of(body: dict) -> Job:
    return Job.objects.get(pk=hashids.decode(Job, body["id"]))


def jobs_settings(settings, **options) -> None:
    settings.JOBS = {**settings.JOBS, **options}


def job_events(socket, until=Job.FINISHED) -> list[dict]:
    """UPDATE_JOB events received on `socket` up to the first whose state is in `until`.

    `socket` is a real one (the websockets client's), or a `Socket` communicator in a thread of
    its own (`await sync_to_async(job_events)(socket)`), which answers the same `recv`. Each
    socket is in its user's group by the time it opens: the server joins before it accepts."""
    events = []
    stop_at = time.monotonic() + JOB_TIMEOUT
    while not events or events[-1]["payload"]["state"] not in until:
        assert time.monotonic() < stop_at, (
            f"no state in {until} after {JOB_TIMEOUT} s: {events[-3:]}"
        )
        event = json.loads(socket.recv(timeout=EVENT_TIMEOUT))
        assert event["type"] == "UPDATE_JOB", event
        events.append(event)
    return events
