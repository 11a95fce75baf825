"""The README's two commands, run as a new user runs them."""

import re

import pytest

from api.models import Job
from tests.api.jobs_support import items
from tests.api.test_jobs_e2e import ORIGIN, job_events, joined
from tests.servers import MakeRun, running_processes
from tests.test_end_to_end import Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def make_run(transactional_db, tmp_path):
    server = MakeRun(tmp_path / "make-run.log")
    yield server
    server.stop()


@pytest.mark.e2e
def test_make_run_with_redis_runs_jobs_and_ctrl_c_stops_every_process(make_run, user):
    browser = Browser(make_run)
    browser.log_in(user.username)
    with browser.socket(origin=ORIGIN) as socket:
        joined(socket)
        browser.request("POST", "/api/foo/import", {"items": items(100)})
        events = job_events(socket)
    started = make_run.processes()

    make_run.interrupt()

    assert events[-1]["payload"]["state"] == Job.State.SUCCEEDED
    assert events[-1]["payload"]["result"]["created"] == 100
    assert started & running_processes().keys() == set()
    output = make_run.output.read_text()
    for process in ("web.1", "worker.1"):
        assert re.search(rf"^\S+ {process} +\| ", output, re.MULTILINE), output
        assert f"{process} stopped" in output, output
