from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from realtime import draining
from tests.processes import json_output, run_python

HEALTH_WITHOUT_DATABASE = """
import json

import django

django.setup()
from django.test import Client

response = Client(HTTP_HOST="localhost").get("/api/health")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""

PROBE_WITHOUT_DATABASE = """
import json

import django

django.setup()
from django.test import Client

client = Client(HTTP_HOST="localhost")
print(json.dumps({
    probe: {"status": response.status_code, "body": response.json()}
    for probe, response in (
        ("ready", client.get("/api/health/ready")), ("live", client.get("/api/health/live"))
    )
}))
"""

# Nothing listens on port 1; channels' layer manager drops its layers when this changes.
UNREACHABLE_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1"]},
    }
}


def test_health_is_ok_when_database_and_channel_layer_are_reachable(anonymous_api, db):
    response = anonymous_api.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_health_needs_no_login_and_accepts_a_trailing_slash(anonymous_api, db):
    assert anonymous_api.get("/api/health/").status_code == 200


def test_health_is_503_naming_the_channel_layer_when_it_is_unreachable(anonymous_api, db, settings):
    settings.CHANNEL_LAYERS = UNREACHABLE_LAYER

    response = anonymous_api.get("/api/health")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "channel_layer": "unavailable",
    }


def test_health_is_503_naming_the_database_when_it_is_unreachable():
    # A fresh process, whose settings point at a PostgreSQL server that is not there (port 1).
    result = run_python(
        HEALTH_WITHOUT_DATABASE,
        DJANGO_SETTINGS_MODULE="backend.settings",
        SECRET_KEY="x",
        HASHIDS_SALT="x",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/x",
        DATABASE_POOL_TIMEOUT="1",
    )

    assert json_output(result) == {
        "status": 503,
        "body": {"status": "unavailable", "database": "unavailable", "channel_layer": "ok"},
    }


def test_liveness_answers_without_asking_the_database_or_the_layer(anonymous_api, settings):
    # No `db` fixture: the test database is not reachable, and liveness must not care.
    settings.CHANNEL_LAYERS = UNREACHABLE_LAYER

    response = anonymous_api.get("/api/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_is_ok_with_no_job_waiting(anonymous_api, db):
    response = anonymous_api.get("/api/health/ready/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "accepting": "ok",
        "database": "ok",
        "channel_layer": "ok",
        "hub": "ok",
        "oldest_queued_job_age": None,
    }


@pytest.fixture
def drained():
    """This process as it is once SIGTERM has started its drain."""
    draining._draining.set()
    yield
    draining._draining.clear()


def test_readiness_is_503_while_the_process_drains(anonymous_api, db, drained):
    response = anonymous_api.get("/api/health/ready")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["accepting"] == "unavailable"
    assert anonymous_api.get("/api/health/live").status_code == 200


def test_readiness_reports_how_long_the_oldest_queued_job_has_waited(api, db):
    api.post("/api/foo/import", {"items": [{"bar": "queued"}]}, format="json")
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=5))

    age = api.get("/api/health/ready").json()["oldest_queued_job_age"]

    assert 300 <= age < 360


def test_readiness_is_503_naming_the_channel_layer_when_it_is_unreachable(
    anonymous_api, db, settings
):
    settings.CHANNEL_LAYERS = UNREACHABLE_LAYER

    response = anonymous_api.get("/api/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "accepting": "ok",
        "database": "ok",
        "channel_layer": "unavailable",
        "hub": "ok",
        "oldest_queued_job_age": None,
    }


@pytest.mark.redis
@pytest.mark.parametrize("dead", [0, 1])
def test_health_checks_every_redis_shard(anonymous_api, db, settings, dead):
    # Whichever shard the round trip lands on, the dead one is found.
    hosts = [settings.REDIS_URL, "redis://127.0.0.1:1"]
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": hosts if dead else hosts[::-1]},
        }
    }

    assert anonymous_api.get("/api/health").json()["channel_layer"] == "unavailable"
    assert anonymous_api.get("/api/health/ready").status_code == 503


def test_readiness_is_503_without_a_queue_age_when_the_database_is_unreachable():
    result = run_python(
        PROBE_WITHOUT_DATABASE,
        DJANGO_SETTINGS_MODULE="backend.settings",
        SECRET_KEY="x",
        HASHIDS_SALT="x",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/x",
        DATABASE_POOL_TIMEOUT="1",
    )

    assert json_output(result) == {
        "ready": {
            "status": 503,
            "body": {
                "status": "unavailable",
                "accepting": "ok",
                "database": "unavailable",
                "channel_layer": "ok",
                "hub": "ok",
                "oldest_queued_job_age": None,
            },
        },
        "live": {"status": 200, "body": {"status": "ok"}},
    }


@pytest.mark.parametrize("probe", ["/api/health", "/api/health/live", "/api/health/ready"])
def test_probes_answer_options_and_refuse_other_methods(anonymous_api, probe):
    assert anonymous_api.options(probe).status_code == 200
    assert anonymous_api.post(probe).status_code == 405
    assert anonymous_api.generic("BREW", probe).status_code == 405
