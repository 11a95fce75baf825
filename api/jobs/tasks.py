"""The task that runs jobs, and how a job is queued."""

from django.db import transaction
from django_tasks import task

from api.jobs import runner
from api.models import Job


@task()
def run_job(job_id: int) -> None:
    """Run a job; its row, not the task's result, is the record of how it went."""
    runner.run(job_id)


def enqueue(job: Job) -> None:
    """Queue a run of `job`. Call inside the transaction that makes the job runnable."""
    job.task_id = run_job.enqueue(job.pk).id
    Job.objects.filter(pk=job.pk).update(task_id=job.task_id)


def submit(kind: str, owner, input: dict, total: int | None = None) -> Job:
    """Create a job and queue its run in one transaction.

    The task queue is a table of the same database, so the task row commits with the job or not
    at all: no job is lost if the process dies after the commit (an `on_commit` enqueue would
    leave a queued job without a task), and no worker can see the task before the job exists.
    """
    with transaction.atomic():
        job = Job.objects.create(kind=kind, owner=owner, input=input, total=total)
        enqueue(job)
    return job
