from tests.processes import json_output, run_python

HEALTH_WITHOUT_DATABASE = """
import json

import django

django.setup()
from django.test import Client

response = Client(HTTP_HOST="localhost").get("/api/health")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def test_health_is_ok_when_database_and_channel_layer_are_reachable(anonymous_api, db):
    response = anonymous_api.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_health_needs_no_login_and_accepts_a_trailing_slash(anonymous_api, db):
    assert anonymous_api.get("/api/health/").status_code == 200


def test_health_is_503_naming_the_channel_layer_when_it_is_unreachable(anonymous_api, db, settings):
    # Nothing listens on port 1; channels' layer manager drops its layers when this changes.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1"]},
        }
    }

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
