import json

import pytest
from django_tasks_db.models import DBTaskResult

from api.jobs import imports, reaper
from api.models import Foo, Job
from tests.api.jobs_support import items, job_of, jobs_settings, post_import, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_answers_202_with_the_queued_job_and_its_location(api, user):
    response = api.post("/api/foo/import", {"items": items(3)}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == f"/api/jobs/{body['id']}"
    assert (body["kind"], body["state"]) == ("foo.import", "queued")
    assert body["progress"] == {"done": 0, "total": 3, "percent": 0.0}


def test_import_queues_its_task_in_the_same_transaction(api, user):
    job = job_of(post_import(api, {"items": items(1)}))
    task = DBTaskResult.objects.get(id=job.task_id)
    assert (task.status, task.task_path) == ("READY", "api.jobs.tasks.run_job")
    assert task.args_kwargs == {"args": [job.pk], "kwargs": {}}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"items": items(100_001)}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"bar": "fine"}, "not an object"]}, "items"),
        ({"items": {"bar": "not a list"}}, "items"),
        ({}, "items"),
    ],
    ids=["too-many", "empty", "not-objects", "not-a-list", "missing"],
)
def test_invalid_envelope_is_refused_without_a_job(api, payload, field):
    response = api.post("/api/foo/import", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists()


def test_100000_items_are_accepted(api, user):
    assert post_import(api, {"items": items(100_000)})["progress"]["total"] == 100_000


def test_import_may_be_larger_than_other_requests_up_to_its_own_limit(api, user, settings):
    body = json.dumps({"items": items(50)})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body) - 1
    response = api.post("/api/foo/import", body, content_type="application/json")
    assert response.status_code == 202
    settings.IMPORT_MAX_REQUEST_BYTES = len(body) - 1
    response = api.post("/api/foo/import", body, content_type="application/json")
    assert response.status_code == 413


def test_anonymous_import_is_refused(anonymous_api):
    response = anonymous_api.post("/api/foo/import", {"items": items(1)}, format="json")
    assert response.status_code == 401
    assert not Job.objects.exists()


def test_import_creates_the_foos_in_batches(api, user, settings):
    jobs_settings(settings, IMPORT_BATCH_SIZE=10)
    body = post_import(api, {"items": items(25)})
    run_worker()
    job = job_of(body)
    assert job.state == Job.State.SUCCEEDED
    assert job.result == {"created": 25, "failed": [], "failed_count": 0}
    assert (job.done, job.message) == (25, "Imported 25 of 25 items.")
    foos = Foo.objects.filter(owner=user).order_by("import_index")
    assert [(foo.bar, foo.import_index) for foo in foos] == [
        (f"item {index}", index) for index in range(25)
    ]
    assert {foo.import_job_id for foo in foos} == {job.pk}


def test_invalid_items_are_listed_and_do_not_stop_the_import(api, user, other_user):
    payload = {"items": [{"bar": "ok"}, {"bar": ""}, {"bar": "x" * 101}, {"owner": "x"}]}
    body = post_import(api, payload)
    run_worker()
    result = job_of(body).result
    assert result["created"] == 1
    assert result["failed_count"] == 3
    assert [failure["index"] for failure in result["failed"]] == [1, 2, 3]
    assert result["failed"][0]["errors"] == {"bar": ["This field may not be blank."]}
    assert "bar" in result["failed"][1]["errors"]
    assert set(result["failed"][2]["errors"]) == {"bar", "owner"}
    assert Foo.objects.get(owner=user).bar == "ok"


def test_failed_list_is_capped_but_counted(api, user, monkeypatch):
    monkeypatch.setattr(imports, "MAX_FAILED_LISTED", 2)
    body = post_import(api, {"items": [{"bar": ""}] * 5})
    run_worker()
    result = job_of(body).result
    assert (len(result["failed"]), result["failed_count"], result["created"]) == (2, 5, 0)


def test_rerun_of_a_crashed_import_creates_each_item_once(api, user, settings):
    """A worker killed mid-import leaves its committed batches; the retry skips them."""
    jobs_settings(settings, MAX_ATTEMPTS=2, IMPORT_BATCH_SIZE=4)
    job = job_of(post_import(api, {"items": items(10)}))
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.RUNNING, attempts=1, heartbeat_at="2000-01-01T00:00:00Z"
    )
    survivors = Foo.objects.bulk_create(
        Foo(bar=f"item {index}", owner=user, import_job=job, import_index=index)
        for index in range(6)
    )
    assert reaper.reap() == 1
    run_worker()
    job.refresh_from_db()
    assert (job.state, job.result["created"]) == (Job.State.SUCCEEDED, 10)
    assert sorted(Foo.objects.filter(owner=user).values_list("import_index", flat=True)) == list(
        range(10)
    )
    assert set(Foo.objects.filter(import_index__lt=6).values_list("pk", flat=True)) == {
        foo.pk for foo in survivors
    }
