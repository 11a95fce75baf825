"""Running a job: its start, its throttled progress, its end.

Every write to a running job is a `save()` (so an UPDATE_JOB event when a shown field changed)
made under the job's row lock, and only while the row says this run still owns the job: state
`running` and the same attempt. A run the reaper gave up on, or whose job was cancelled, stops at
its next write instead of overwriting what happened since.
"""

import logging
import time

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from api.jobs.conf import jobs_setting
from api.models import Job

logger = logging.getLogger(__name__)

# The function that does each kind of job: `function(job, progress) -> result`.
KINDS = {Job.Kind.FOO_IMPORT: "api.jobs.imports.import_foos"}

UNEXPECTED = "The job stopped on an unexpected error. It has been logged; try again later."

# The fields a run writes; `save(update_fields=...)` leaves the others (cancel_requested) alone.
RUN_FIELDS = ["state", "done", "total", "message", "result", "error", "finished_at", "heartbeat_at"]


class JobError(Exception):
    """Raised by a job with a message for its owner: the job fails with that message as error."""


class AlreadyFinished(Exception):
    """The job has ended (succeeded, failed or cancelled): there is nothing left to cancel."""


class Stopped(BaseException):
    """The run must end without another write: its job was cancelled, or given up on.

    A BaseException, like GeneratorExit, so that a job's own `except Exception` cannot swallow it.
    """


class Progress:
    """A run's handle on its job: job code calls `report()`, the runner `finish()`."""

    def __init__(self, job: Job):
        self.job = job
        self.attempt = job.attempts
        self.interval = 1 / jobs_setting("PROGRESS_RATE")
        self.saved_at = time.monotonic()

    def report(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress, saved (an event, and a heartbeat) at most PROGRESS_RATE times a
        second. Raises Stopped from a save that finds the job cancelled or given up on."""
        self.job.done = done
        if total is not None:
            self.job.total = total
        if message is not None:
            self.job.message = message
        if time.monotonic() - self.saved_at >= self.interval:
            self.save()

    def finish(self, state: str, **fields) -> None:
        self.save(state=state, finished_at=timezone.now(), **fields)

    def save(self, **fields) -> None:
        job = self.job
        with transaction.atomic():
            state, attempts, cancel_requested = (
                Job.objects.select_for_update()
                .filter(pk=job.pk)
                .values_list("state", "attempts", "cancel_requested")
                .get()
            )
            if state != Job.State.RUNNING or attempts != self.attempt:
                raise Stopped
            # A cancellation stops work still to do; a job that got to its end ends as it ended.
            cancelled = cancel_requested and not fields
            if cancelled:
                fields = {
                    "state": Job.State.CANCELLED,
                    "finished_at": timezone.now(),
                    "message": f"Cancelled after {job.done} of {job.total} items.",
                }
            for name, value in fields.items():
                setattr(job, name, value)
            job.heartbeat_at = timezone.now()
            if job.tracker.changed():
                job.save(update_fields=RUN_FIELDS)
            else:
                Job.objects.filter(pk=job.pk).update(heartbeat_at=job.heartbeat_at)
        self.saved_at = time.monotonic()
        if cancelled:
            raise Stopped


def start(job_id: int) -> Job | None:
    """Mark a queued job running; None if it is not queued (cancelled before it started)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, state=Job.State.QUEUED).first()
        if job is None:
            return None
        now = timezone.now()
        job.state = Job.State.RUNNING
        job.started_at = job.heartbeat_at = now
        job.attempts += 1
        job.save(update_fields=["state", "started_at", "heartbeat_at", "attempts"])
    return job


def run(job_id: int) -> None:
    """Run a job to its end: succeeded with the function's result, or failed with a readable
    error (the traceback goes to the log only), or cancelled."""
    job = start(job_id)
    if job is None:
        logger.info("Job %s is not queued any more; nothing to run.", job_id)
        return
    progress = Progress(job)
    try:
        progress.finish(**outcome(job, progress))
    except Stopped:
        logger.info("Job %s stopped: cancelled, or given up on by the reaper.", job_id)


def outcome(job: Job, progress: Progress) -> dict:
    try:
        result = import_string(KINDS[job.kind])(job, progress)
        return {"state": Job.State.SUCCEEDED, "result": result}
    except JobError as error:
        return {"state": Job.State.FAILED, "error": str(error)}
    except Exception:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        return {"state": Job.State.FAILED, "error": UNEXPECTED}


def cancel(job_id: int) -> Job:
    """Cancel a job: at once if it has not started, at its next saved progress report if it
    runs. Raises AlreadyFinished if it has ended."""
    with transaction.atomic():
        job = Job.objects.select_for_update().defer("input").get(pk=job_id)
        if job.is_finished:
            raise AlreadyFinished
        if job.state == Job.State.QUEUED:
            job.state = Job.State.CANCELLED
            job.finished_at = timezone.now()
            job.message = "Cancelled before it started."
            job.save(update_fields=["state", "finished_at", "message"])
        else:
            # Not a save: the flag is no news to the owner, and the runner's next save is.
            job.cancel_requested = True
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    return job
