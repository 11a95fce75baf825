"""Jobs as a client meets them: a real login, a real socket, real Daphne and worker processes."""

import signal
import subprocess
import sys
import time

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from api.jobs import reaper
from api.models import Foo, Job
from tests.api.jobs_support import items, job_events
from tests.conftest import ORIGIN, PASSWORD
from tests.servers import ROOT, START_TIMEOUT, Daphne, Worker, child_environment, run_shell
from tests.test_end_to_end import Browser

pytestmark = pytest.mark.django_db(transaction=True)


def assert_in_order(events: list[dict]) -> None:
    versions = [event["meta"]["version"] for event in events]
    done = [event["payload"]["progress"]["done"] for event in events]
    assert versions == sorted(set(versions)), versions
    assert done == sorted(done), done


@pytest.fixture
def processes():
    """Starts processes; stops them all at the end, whatever happened."""
    started = []

    def start(process):
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()


def test_embedded_worker_runs_jobs_in_a_single_daphne_process(processes, tmp_path):
    """`make run`: SQLite, the in-memory layer, one Daphne process, no worker of its own."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=child_environment(**env),
        timeout=START_TIMEOUT,
        check=True,
    )
    run_shell(
        f"from api.models import User; User.objects.create_user('alice', '', {PASSWORD!r})", **env
    )
    browser = Browser(processes(Daphne(**env)))
    browser.log_in("alice")
    with browser.socket(origin=ORIGIN) as socket:
        body = browser.request("POST", "/api/foo/import", {"items": items(2_000)})
        events = job_events(socket)
    assert_in_order(events)
    assert events[0]["payload"] == body
    assert events[-1]["payload"]["state"] == "succeeded"
    assert events[-1]["payload"]["result"]["created"] == 2_000
    assert browser.request("GET", "/api/foo")["count"] == 2_000


@pytest.mark.e2e
def test_import_streams_its_progress_from_a_worker_to_a_real_socket(processes, user):
    daphne = processes(Daphne())
    processes(Worker("e2e-worker"))
    browser = Browser(daphne)
    browser.log_in(user.username)
    with browser.socket(origin=ORIGIN) as socket:
        started = time.monotonic()
        body = browser.request("POST", "/api/foo/import", {"items": items(10_000)})
        events = job_events(socket)
        elapsed = time.monotonic() - started
    assert_in_order(events)
    states = [event["payload"]["state"] for event in events]
    assert states[0] == "queued"
    assert states[-1] == "succeeded"
    done = [event["payload"]["progress"]["done"] for event in events]
    assert any(0 < value < 10_000 for value in done), "no progress between the start and the end"
    # Created, running, the final state, and at most 4 progress saves a second in between.
    assert len(events) <= 3 + 4 * elapsed + 1
    assert events[-1]["payload"]["result"] == {"created": 10_000, "failed": [], "failed_count": 0}
    foos = Foo.objects.filter(owner=user, import_job=Job.objects.get(owner=user))
    assert foos.count() == 10_000
    assert foos.values("import_index").distinct().count() == 10_000
    assert body["progress"]["total"] == 10_000


@pytest.mark.e2e
def test_job_of_a_killed_worker_is_failed_by_another_workers_reaper(processes, user):
    env = {
        "JOBS_HEARTBEAT_TIMEOUT": "2",
        "JOBS_REAP_INTERVAL": "0.25",
        "JOBS_IMPORT_BATCH_SIZE": "50",
    }
    daphne = processes(Daphne(**env))
    workers = {name: processes(Worker(name, **env)) for name in ("e2e-one", "e2e-two")}
    browser = Browser(daphne)
    browser.log_in(user.username)
    with browser.socket(origin=ORIGIN) as socket:
        browser.request("POST", "/api/foo/import", {"items": items(30_000)})
        running = job_events(socket, until={"running"})
        while running[-1]["payload"]["progress"]["done"] == 0:
            running += job_events(socket, until={"running"})
        job = Job.objects.get(owner=user)
        victim = workers[DBTaskResult.objects.get(id=job.task_id).worker_ids[-1]]
        victim.process.send_signal(signal.SIGKILL)
        assert victim.process.wait(timeout=START_TIMEOUT) == -signal.SIGKILL
        events = job_events(socket)
    assert events[-1]["payload"]["state"] == "failed"
    assert events[-1]["payload"]["error"] == reaper.DEAD
    assert events[-1]["payload"]["progress"]["done"] < 30_000
    assert_in_order(running + events)
    survivor = next(worker for worker in workers.values() if worker is not victim)
    assert survivor.process.poll() is None
    assert Job.objects.get(pk=job.pk).state == Job.State.FAILED
    assert DBTaskResult.objects.get(id=job.task_id).status == TaskResultStatus.FAILED
