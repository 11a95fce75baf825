"""Job functions for tests, registered in `api.jobs.runner.KINDS` by the `kind` fixture."""

from rest_framework.test import APIClient

from api import hashids
from api.jobs.runner import JobError
from api.models import Job


def raises(job, progress):
    raise RuntimeError("secret internals: /srv/app/db.sqlite3")


def refuses(job, progress):
    raise JobError("The file has no header row.")


def cancelled_midway(job, progress):
    progress.report(1, total=3)
    client = APIClient()
    client.force_login(job.owner)
    response = client.post(f"/api/jobs/{hashids.encode(Job, job.pk)}/cancel")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "running"
    progress.report(2)
    raise AssertionError("the report after a cancellation must stop the job")


def given_up_on(job, progress):
    from api.jobs.reaper import reap

    progress.report(1, total=3)
    Job.objects.filter(pk=job.pk).update(heartbeat_at="2000-01-01T00:00:00Z")
    assert reap() == 1
    progress.report(2)
    raise AssertionError("the report after the reaper gave up must stop the job")
