import io
import logging
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from api.jobs import reaper, runner
from api.jobs.tasks import submit
from api.models import Job
from tests.api.jobs_support import items, job_of, jobs_settings, post_import, run_worker
from tests.support import hashid

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kind(monkeypatch, user):
    """Submits a job of a test kind (a function of tests.api.job_kinds) owned by `user`."""

    def submit_kind(name: str) -> Job:
        monkeypatch.setitem(runner.KINDS, f"test.{name}", f"tests.api.job_kinds.{name}")
        return submit(f"test.{name}", user, {})

    return submit_kind


def stale(job: Job, attempts: int = 1) -> Job:
    """`job` as a worker that died while running it leaves it, and its task row."""
    DBTaskResult.objects.get(id=job.task_id).claim("dead-worker")
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING,
        attempts=attempts,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    return Job.objects.get(pk=job.pk)


def test_job_reads_as_documented(api, user):
    body = post_import(api, {"items": items(3)})
    response = api.get(f"/api/jobs/{body['id']}")
    assert response.status_code == 200
    assert response.json() == {
        "id": body["id"],
        "kind": "foo.import",
        "state": "queued",
        "progress": {"done": 0, "total": 3, "percent": 0.0},
        "message": "",
        "result": None,
        "error": "",
        "created_at": body["created_at"],
        "started_at": None,
        "finished_at": None,
        "version": 1,
    }


def test_list_holds_only_the_callers_jobs_newest_first(api, user, other_user):
    first = post_import(api, {"items": items(1)})
    second = post_import(api, {"items": items(1)})
    submit(Job.Kind.FOO_IMPORT, other_user, {"items": items(1)})
    response = api.get("/api/jobs")
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [job["id"] for job in response.json()["results"]] == [second["id"], first["id"]]


def test_other_users_job_is_not_found(api, other_user):
    job = submit(Job.Kind.FOO_IMPORT, other_user, {"items": items(1)})
    assert api.get(f"/api/jobs/{hashid(job)}").status_code == 404
    assert api.post(f"/api/jobs/{hashid(job)}/cancel").status_code == 404


def test_malformed_job_id_is_not_found(api, user):
    assert api.get("/api/jobs/not-an-id").status_code == 404


def test_anonymous_caller_is_refused(anonymous_api):
    assert anonymous_api.get("/api/jobs").status_code == 401


def test_percent_of_an_empty_total_is_complete(user):
    assert Job(owner=user, total=0).percent == 100.0
    assert Job(owner=user, total=None).percent is None
    assert str(Job(pk=7, kind="foo.import")) == "foo.import 7 (queued)"


def test_cancelling_a_queued_job_ends_it_before_it_starts(api, user):
    body = post_import(api, {"items": items(5)})
    response = api.post(f"/api/jobs/{body['id']}/cancel")
    assert response.status_code == 202
    assert response.json()["state"] == "cancelled"
    run_worker()
    job = job_of(body)
    assert job.state == Job.State.CANCELLED
    assert job.started_at is None
    assert not user.foos.exists()


def test_cancelling_a_finished_job_is_a_conflict(api, user):
    body = post_import(api, {"items": items(1)})
    run_worker()
    response = api.post(f"/api/jobs/{body['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("The job has already finished")


def test_cancelling_a_running_job_stops_it_at_its_next_report(kind, settings):
    jobs_settings(settings, PROGRESS_RATE=float("inf"))
    job = kind("cancelled_midway")
    run_worker()
    job.refresh_from_db()
    assert job.state == Job.State.CANCELLED
    assert job.done == 2
    assert job.message == "Cancelled after 2 of 3 items."
    assert job.finished_at is not None


def test_job_that_raises_fails_with_a_readable_error_and_a_logged_traceback(kind, api, caplog):
    job = kind("raises")
    with caplog.at_level(logging.ERROR, logger="api.jobs.runner"):
        run_worker()
    body = api.get(f"/api/jobs/{hashid(job)}").json()
    assert body["state"] == "failed"
    assert body["error"] == runner.UNEXPECTED
    assert "secret internals" not in str(body)
    assert "RuntimeError: secret internals" in caplog.text
    assert body["finished_at"] is not None


def test_job_error_message_is_shown_to_the_owner(kind):
    job = kind("refuses")
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, "The file has no header row.")


def test_run_given_up_on_by_the_reaper_stops_without_overwriting(kind, settings):
    jobs_settings(settings, PROGRESS_RATE=float("inf"))
    job = kind("given_up_on")
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.error, job.done) == (Job.State.FAILED, reaper.DEAD, 1)


def test_progress_is_saved_at_most_at_the_configured_rate(api, settings):
    jobs_settings(settings, PROGRESS_RATE=1e-9, IMPORT_BATCH_SIZE=2)
    body = post_import(api, {"items": items(7)})
    run_worker()
    job = job_of(body)
    # Created (1), running (2), succeeded (3): no progress save in between.
    assert (job.state, job.version, job.done) == (Job.State.SUCCEEDED, 3, 7)


def test_every_report_is_saved_without_a_rate_limit(api, settings):
    jobs_settings(settings, PROGRESS_RATE=float("inf"), IMPORT_BATCH_SIZE=2)
    body = post_import(api, {"items": items(7)})
    run_worker()
    # Created, running, four batches, succeeded.
    assert job_of(body).version == 7


def test_a_report_without_news_only_touches_the_heartbeat(user, settings):
    jobs_settings(settings, PROGRESS_RATE=float("inf"))
    job = runner.start(submit(Job.Kind.FOO_IMPORT, user, {"items": []}).pk)
    progress = runner.Progress(job)
    progress.report(1, message="one")
    before = Job.objects.get(pk=job.pk)
    progress.report(1)
    after = Job.objects.get(pk=job.pk)
    assert after.version == before.version
    assert after.heartbeat_at > before.heartbeat_at


def test_reaper_fails_a_job_whose_worker_died(user, other_user):
    dead = stale(submit(Job.Kind.FOO_IMPORT, user, {"items": items(1)}))
    alive = submit(Job.Kind.FOO_IMPORT, other_user, {"items": items(1)})
    runner.start(alive.pk)
    assert reaper.reap() == 1
    dead.refresh_from_db()
    assert (dead.state, dead.error) == (Job.State.FAILED, reaper.DEAD)
    assert dead.finished_at is not None
    assert Job.objects.get(pk=alive.pk).state == Job.State.RUNNING


def test_reaper_ends_the_dead_runs_task_row_as_failed(user):
    dead = stale(submit(Job.Kind.FOO_IMPORT, user, {"items": items(1)}))
    reaper.reap()
    task = DBTaskResult.objects.get(id=dead.task_id)
    assert task.status == TaskResultStatus.FAILED
    assert task.finished_at is not None
    assert task.task_result.errors[0].exception_class_path == "api.jobs.reaper.WorkerDied"
    assert task.traceback.strip().endswith(reaper.DEAD)


@pytest.mark.postgres
def test_reaper_leaves_a_job_whose_row_another_reaper_holds(user):
    job = stale(submit(Job.Kind.FOO_IMPORT, user, {"items": items(1)}))
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic():
            Job.objects.select_for_update().get(pk=job.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(10)
        assert reaper.reap() == 0
    finally:
        release.set()
        holder.join(10)
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING


def test_reaper_requeues_a_job_with_attempts_left(user, settings):
    jobs_settings(settings, MAX_ATTEMPTS=2)
    job = stale(submit(Job.Kind.FOO_IMPORT, user, {"items": items(2)}))
    first_task = job.task_id
    assert reaper.reap() == 1
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED
    assert job.message.endswith("Starting it again (2 of 2).")
    assert job.task_id != first_task
    assert DBTaskResult.objects.get(id=first_task).status == TaskResultStatus.FAILED
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 2)


def test_reap_jobs_command_reports_how_many_it_reaped(user):
    stale(submit(Job.Kind.FOO_IMPORT, user, {"items": items(1)}))
    out = io.StringIO()
    call_command("reap_jobs", stdout=out)
    assert out.getvalue() == "Reaped 1 job(s).\n"


def test_reaper_loop_outlives_a_database_error(user, caplog):
    stop = threading.Event()
    stop.set()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE api_job RENAME TO api_job_away")
    try:
        with caplog.at_level(logging.ERROR, logger="api.jobs.reaper"):
            reaper.reap_forever(stop)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE api_job_away RENAME TO api_job")
    assert "Could not look for dead jobs" in caplog.text


@pytest.fixture
def restore_signals():
    """`db_worker` installs its own handlers for these; put pytest's back."""
    signals = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]
    saved = {number: signal.getsignal(number) for number in signals}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_db_worker_command_runs_jobs_and_reaps_dead_ones(api, user, restore_signals):
    dead = stale(submit(Job.Kind.FOO_IMPORT, user, {"items": items(1)}))
    body = post_import(api, {"items": items(3)})
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    assert job_of(body).state == Job.State.SUCCEEDED
    assert DBTaskResult.objects.get(id=job_of(body).task_id).status == "SUCCESSFUL"
    # The reaper thread looks once as the worker starts; give it the time it needs.
    deadline = timezone.now() + timedelta(seconds=10)
    while Job.objects.get(pk=dead.pk).state == Job.State.RUNNING:
        assert timezone.now() < deadline, "the worker's reaper did not reap the dead job"
        time.sleep(0.05)
    assert Job.objects.get(pk=dead.pk).state == Job.State.FAILED
