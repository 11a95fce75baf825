"""A job's events on real sockets (the ASGI app, its origin check and session auth)."""

import time

from asgiref.sync import sync_to_async

from api.jobs import reaper
from api.models import Job
from tests.api.jobs_support import (
    EVENT_TIMEOUT,
    items,
    job_events,
    jobs_settings,
    post_import,
    run_worker,
)

NOTHING_MORE = 0.3


async def test_job_events_reach_every_socket_of_the_owner_unasked(
    open_socket, api, user, other_user
):
    first, second = await open_socket(user), await open_socket(user)
    stranger = await open_socket(other_user)
    body = await sync_to_async(post_import)(api, {"items": items(3)})
    await sync_to_async(run_worker)()
    events = await sync_to_async(job_events)(first)
    assert await sync_to_async(job_events)(second) == events
    assert [event["payload"]["state"] for event in events] == ["queued", "running", "succeeded"]
    assert events[0]["payload"] == body
    assert events[-1]["meta"] == {"model": "api.Job", "id": body["id"], "version": 3}
    assert events[-1]["payload"]["result"]["created"] == 3
    assert await stranger.receive_nothing(NOTHING_MORE)
    assert await first.receive_nothing(NOTHING_MORE)


async def test_subscribing_to_a_job_does_not_double_its_events(open_socket, api, user):
    socket = await open_socket(user)
    body = await sync_to_async(post_import)(api, {"items": items(3)})
    assert (await socket.receive_json_from(EVENT_TIMEOUT))["payload"]["state"] == "queued"
    await socket.send_json_to({"model": "api.Job", "id": body["id"], "request_id": "sub"})
    subscribed = await socket.receive_json_from(EVENT_TIMEOUT)
    assert subscribed["type"] == "SUBSCRIBED"
    assert subscribed["payload"]["data"] == body
    await sync_to_async(run_worker)()
    events = await sync_to_async(job_events)(socket)
    assert [event["meta"]["version"] for event in events] == [2, 3]
    assert await socket.receive_nothing(NOTHING_MORE)


async def test_progress_events_are_throttled_rising_and_end_with_the_final_state(
    open_socket, api, user, settings
):
    jobs_settings(settings, IMPORT_BATCH_SIZE=100)
    socket = await open_socket(user)
    await sync_to_async(post_import)(api, {"items": items(5_000)})
    started = time.monotonic()
    await sync_to_async(run_worker)()
    elapsed = time.monotonic() - started
    events = await sync_to_async(job_events)(socket)
    versions = [event["meta"]["version"] for event in events]
    done = [event["payload"]["progress"]["done"] for event in events]
    assert versions == list(range(1, len(events) + 1))
    assert done == sorted(done)
    # Created, running, the final state, and at most 4 progress saves a second in between.
    assert len(events) <= 3 + 4 * elapsed + 1
    assert len(events) < 50
    assert events[-1]["payload"]["state"] == "succeeded"
    assert events[-1]["payload"]["progress"] == {"done": 5000, "total": 5000, "percent": 100.0}


async def test_the_reapers_verdict_reaches_the_socket(open_socket, api, user):
    socket = await open_socket(user)
    body = await sync_to_async(post_import)(api, {"items": items(1)})
    await sync_to_async(Job.objects.filter(state=Job.State.QUEUED).update_and_notify)(
        state=Job.State.RUNNING, attempts=1, heartbeat_at="2000-01-01T00:00:00Z"
    )
    assert await sync_to_async(reaper.reap)() == 1
    events = await sync_to_async(job_events)(socket)
    assert [event["payload"]["state"] for event in events] == ["queued", "running", "failed"]
    assert events[-1]["payload"]["error"] == reaper.DEAD
    assert events[-1]["meta"]["id"] == body["id"]


async def test_imported_foos_reach_a_socket_following_the_foo_collection(open_socket, api, user):
    """The import inserts with bulk_create(), which sends no signal; its Foos are announced."""
    socket = await open_socket(user)
    await socket.send_json_to({"model": "api.Foo", "request_id": "list"})
    assert (await socket.receive_json_from(EVENT_TIMEOUT))["type"] == "SUBSCRIBED"
    await sync_to_async(post_import)(api, {"items": [*items(2), {"bar": ""}]})
    await sync_to_async(run_worker)()
    events = []
    while len(events) < 5:  # the job's three, whatever the order, and its Foos' two
        events.append(await socket.receive_json_from(EVENT_TIMEOUT))
    assert await socket.receive_nothing(NOTHING_MORE)
    created = [event for event in events if event["type"] == "CREATE_FOO"]
    assert [event["meta"]["reason"] for event in created] == ["created", "created"]
    assert sorted(event["payload"]["bar"] for event in created) == ["item 0", "item 1"]
