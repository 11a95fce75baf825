"""Finding runs whose worker died, so that their jobs do not stay `running` forever.

A running job's heartbeat is its last saved progress report. The reaper fails a job whose
heartbeat is older than JOBS["HEARTBEAT_TIMEOUT"], or requeues it while it has attempts left
(JOBS["MAX_ATTEMPTS"], default 1: fail). Failing is the default because a job kind need not be
safe to run twice; the Foo import is (see api.jobs.imports). Either is a save, so the owner's
sockets hear of it, and either ends django-tasks-db's own row of the dead run as `FAILED` in
the same transaction: its worker, being dead, never will, and the row would stay `RUNNING`.
Every worker process reaps (`db_worker`, the embedded worker) on an interval, and so does
`manage.py reap_jobs`; several reapers at once are harmless, each job is taken by one.
"""

import logging
import threading
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from api.jobs import tasks
from api.jobs.conf import jobs_setting
from api.models import Job

logger = logging.getLogger(__name__)

DEAD = "The worker running this job stopped responding."


class WorkerDied(Exception):
    """What ended a run whose worker died, as django-tasks-db records it (it records an error
    as an exception: its class, and its text where a raised one has its traceback)."""


def reap() -> int:
    """Fail or requeue every job whose worker is taken for dead; returns how many."""
    deadline = timezone.now() - timedelta(seconds=jobs_setting("HEARTBEAT_TIMEOUT"))
    dead = Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=deadline).defer("input")
    reaped = 0
    for pk in dead.values_list("pk", flat=True):
        with transaction.atomic():
            # Locked and checked again: the run may have saved, or another reaper taken it.
            job = dead.select_for_update(skip_locked=True).filter(pk=pk).first()
            if job is None:
                continue
            end_task(job)
            if job.attempts < jobs_setting("MAX_ATTEMPTS"):
                requeue(job)
            else:
                fail(job)
        reaped += 1
    return reaped


def end_task(job: Job) -> None:
    """Mark the dead run's task row failed, as its worker would have had the run raised."""
    for task in DBTaskResult.objects.running().select_for_update().filter(id=job.task_id):
        task.set_failed(WorkerDied(DEAD))


def fail(job: Job) -> None:
    logger.warning("Job %s failed: its worker stopped responding.", job.pk)
    job.state = Job.State.FAILED
    job.error = DEAD
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])


def requeue(job: Job) -> None:
    logger.warning("Job %s requeued: its worker stopped responding.", job.pk)
    job.state = Job.State.QUEUED
    attempts = jobs_setting("MAX_ATTEMPTS")
    job.message = f"{DEAD} Starting it again ({job.attempts + 1} of {attempts})."
    job.save(update_fields=["state", "message"])
    tasks.enqueue(job)


def reap_forever(stop: threading.Event) -> None:
    """Reap every JOBS["REAP_INTERVAL"] seconds until `stop` is set (for a worker's thread)."""
    try:
        while True:
            close_old_connections()
            try:
                reap()
            except DatabaseError:
                logger.exception("Could not look for dead jobs; trying again.")
            if stop.wait(jobs_setting("REAP_INTERVAL")):
                return
    finally:
        connections.close_all()
