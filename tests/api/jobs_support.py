"""Helpers shared by the job tests."""

from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker

from api import hashids
from api.models import Job

SOCKET_TIMEOUT = 10


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


async def job_events(socket, until=Job.FINISHED) -> list[dict]:
    """UPDATE_JOB events received on `socket` up to the first whose state is in `until`."""
    events = []
    while not events or events[-1]["payload"]["state"] not in until:
        event = await socket.receive_json_from(timeout=SOCKET_TIMEOUT)
        assert event["type"] == "UPDATE_JOB", event
        events.append(event)
    return events


async def joined(socket):
    """`socket` once its connect handler has joined the user's group, where feed events go.

    The server accepts the handshake before it joins, and handles messages only after; so the
    answer to any message (here an invalid one) proves the join.
    """
    await socket.send_json_to({"request_id": "joined?"})
    answer = await socket.receive_json_from(SOCKET_TIMEOUT)
    assert answer["meta"] == {"request_id": "joined?"}, answer
    return socket
