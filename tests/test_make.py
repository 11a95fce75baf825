"""The README's two commands, run as a new user runs them."""

import re

import pytest

from api.models import Job
from tests.api.jobs_support import items, job_events
from tests.conftest import ORIGIN, PASSWORD
from tests.servers import MakeRun, run_shell, running_processes
from tests.test_end_to_end import Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def make_run(transactional_db):
    """Starts `make run` with `env`; interrupts it at the end, whatever happened."""
    started = []

    def start(**env):
        started.append(MakeRun(**env))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def import_through(server, username: str) -> dict:
    """The last UPDATE_JOB event of an import of 100 Foos, as a browser sees it."""
    browser = Browser(server)
    browser.log_in(username)
    with browser.socket(origin=ORIGIN) as socket:
        browser.request("POST", "/api/foo/import", {"items": items(100)})
        return job_events(socket)[-1]


def import_then_ctrl_c(server, username: str) -> str:
    """Imports 100 Foos through `make run`, then presses Ctrl-C: the import succeeded and no
    process is left running. Returns what `make run` printed."""
    last = import_through(server, username)
    started = server.processes()
    server.interrupt()

    assert last["payload"]["state"] == Job.State.SUCCEEDED
    assert last["payload"]["result"]["created"] == 100
    assert started & running_processes().keys() == set()
    return server.output()


def prefixed_lines(output: str, process: str) -> list[str]:
    return re.findall(rf"^\S+ {re.escape(process)} +\| .*$", output, re.MULTILINE)


def test_make_run_without_redis_runs_jobs_in_its_one_process(make_run, tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": ""}
    server = make_run(**env)
    run_shell(
        f"from api.models import User; User.objects.create_user('alice', '', {PASSWORD!r})", **env
    )

    output = import_then_ctrl_c(server, "alice")

    assert prefixed_lines(output, "web.1"), output
    assert not prefixed_lines(output, "worker.1"), output


@pytest.mark.e2e
def test_make_run_with_redis_runs_jobs_and_ctrl_c_stops_every_process(make_run, user):
    server = make_run()

    output = import_then_ctrl_c(server, user.username)

    for process in ("web.1", "worker.1"):
        assert prefixed_lines(output, process), output
        assert f"{process} stopped" in output, output
