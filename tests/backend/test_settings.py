"""backend/settings.py, imported in a fresh process per environment (it reads it at import)."""

import re

import pytest
from rest_framework.test import APIClient

from tests.processes import json_output, run_python

NAMES = [
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASES",
    "CHANNEL_LAYERS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
    "DATA_UPLOAD_MAX_MEMORY_SIZE",
    "HASHIDS_SALT",
    "REALTIME",
]
SNAPSHOT = (
    "import json; from backend import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {NAMES!r}}}, default=str))"
)


# What production must set.
REQUIRED = {"SECRET_KEY": "x", "HASHIDS_SALT": "pepper"}


def settings_with(**env) -> dict:
    return json_output(run_python(SNAPSHOT, **env))


def test_the_suite_runs_as_production_does(settings):
    # DEBUG off and a secret as long as get_random_secret_key()'s, as `make test` sets them.
    assert settings.DEBUG is False
    assert len(settings.SECRET_KEY) >= 50


def test_import_without_secret_key_fails_with_how_to_fix_it():
    result = run_python("import backend.settings")

    assert result.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is not set. Set it in the "
        "environment, or set DEBUG=1 for local development."
    ) in result.stderr


def test_empty_secret_key_counts_as_unset():
    result = run_python("import backend.settings", SECRET_KEY="", HASHIDS_SALT="pepper")

    assert "SECRET_KEY is not set" in result.stderr


def test_import_without_hashids_salt_fails_with_how_to_fix_it():
    result = run_python("import backend.settings", SECRET_KEY="x")

    assert result.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: HASHIDS_SALT is not set. Set it in the "
        "environment to a random string of its own, never SECRET_KEY (public ids must survive "
        "rotating the key), or set DEBUG=1 for local development."
    ) in result.stderr


def test_empty_hashids_salt_counts_as_unset():
    result = run_python("import backend.settings", SECRET_KEY="x", HASHIDS_SALT="")

    assert "HASHIDS_SALT is not set" in result.stderr


def test_debug_starts_without_secret_key_on_a_development_key():
    loaded = settings_with(DEBUG="1")

    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"] == "insecure-development-key-never-use-in-production"
    assert loaded["HASHIDS_SALT"] == "insecure-development-salt-never-use-in-production"


PUBLIC_ID = (
    "import django, json; django.setup(); from api import hashids; from api.models import Foo; "
    "print(json.dumps(hashids.encode(Foo, 51)))"
)


@pytest.mark.parametrize("env", [{"HASHIDS_SALT": "pepper"}, {"DEBUG": "1"}])
def test_rotating_the_secret_key_keeps_every_public_id(env):
    ids = {
        json_output(
            run_python(PUBLIC_ID, DJANGO_SETTINGS_MODULE="backend.settings", SECRET_KEY=key, **env)
        )
        for key in ("old-secret", "new-secret")
    }

    assert len(ids) == 1


@pytest.mark.parametrize(
    ("value", "debug"), [("true", True), ("Yes", True), (" on ", True), ("0", False)]
)
def test_debug_reads_the_usual_spellings_of_a_boolean(value, debug):
    assert settings_with(DEBUG=value, **REQUIRED)["DEBUG"] is debug


def test_the_default_is_production_like():
    loaded = settings_with(SECRET_KEY="s3cret", HASHIDS_SALT="pepper")

    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY"] == "s3cret"
    assert loaded["HASHIDS_SALT"] == "pepper"
    assert loaded["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert loaded["CSRF_TRUSTED_ORIGINS"] == []
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 2 * 1024 * 1024


def test_debug_sends_cookies_over_plain_http_unless_told_otherwise():
    assert settings_with(DEBUG="1")["SESSION_COOKIE_SECURE"] is False
    assert settings_with(DEBUG="1", SECURE_COOKIES="1")["SESSION_COOKIE_SECURE"] is True


def test_an_https_only_site_asks_browsers_for_https_for_a_year():
    assert settings_with(**REQUIRED)["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert settings_with(**REQUIRED, SECURE_COOKIES="0")["SECURE_HSTS_SECONDS"] == 0
    assert settings_with(DEBUG="1")["SECURE_HSTS_SECONDS"] == 0


def test_https_responses_carry_hsts_and_plain_http_ones_do_not(anonymous_api, db):
    https = anonymous_api.get("/api/health", HTTP_X_FORWARDED_PROTO="https")
    plain = anonymous_api.get("/api/health")

    assert https["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain


def test_plain_http_is_redirected_only_when_asked():
    assert settings_with(**REQUIRED)["SECURE_SSL_REDIRECT"] is False
    assert settings_with(**REQUIRED, SECURE_SSL_REDIRECT="1")["SECURE_SSL_REDIRECT"] is True


@pytest.fixture
def redirecting_api(settings, user):
    settings.SECURE_SSL_REDIRECT = True
    client = APIClient()
    client.force_login(user)
    return client


def test_ssl_redirect_sends_plain_http_to_https(redirecting_api):
    response = redirecting_api.get("/api/foo?page=1")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/foo?page=1"


def test_ssl_redirect_serves_what_the_load_balancer_forwards_from_https(redirecting_api):
    response = redirecting_api.get("/api/foo", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200


def test_ssl_redirect_leaves_the_plain_http_health_check_alone(redirecting_api):
    response = redirecting_api.get("/api/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_host_lists_come_from_comma_separated_variables():
    loaded = settings_with(
        **REQUIRED,
        ALLOWED_HOSTS="api.example.com, www.example.com,",
        CSRF_TRUSTED_ORIGINS="https://www.example.com",
    )

    assert loaded["ALLOWED_HOSTS"] == ["api.example.com", "www.example.com"]
    assert loaded["CSRF_TRUSTED_ORIGINS"] == ["https://www.example.com"]


def test_max_request_bytes_sets_the_body_limit():
    assert (
        settings_with(**REQUIRED, MAX_REQUEST_BYTES="1000")["DATA_UPLOAD_MAX_MEMORY_SIZE"] == 1000
    )


def test_socket_limits_and_drain_window_come_from_realtime_variables():
    authentication = {
        "AUTHENTICATION_CLASSES": [
            "api.socket_auth.TokenAuthentication",
            "realtime.session_auth.SessionAuthentication",
        ]
    }
    assert settings_with(**REQUIRED)["REALTIME"] == authentication
    loaded = settings_with(
        **REQUIRED, REALTIME_MAX_SOCKETS_PER_USER="5", REALTIME_DRAIN_SECONDS="2.5"
    )
    assert loaded["REALTIME"] == {
        **authentication,
        "MAX_SOCKETS_PER_USER": 5,
        "DRAIN_SECONDS": 2.5,
    }


def test_the_default_database_is_sqlite_without_a_pool():
    database = settings_with(**REQUIRED)["DATABASES"]["default"]

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"].endswith("db.sqlite3")
    assert "pool" not in database.get("OPTIONS", {})


def test_another_database_engine_is_configured_by_its_url_alone():
    database = settings_with(**REQUIRED, DATABASE_URL="mysql://app@db.internal/app")["DATABASES"][
        "default"
    ]

    assert database["ENGINE"] == "django.db.backends.mysql"
    assert "OPTIONS" not in database or database["OPTIONS"] == {}


def test_a_postgresql_database_url_gets_a_connection_pool():
    database = settings_with(**REQUIRED, DATABASE_URL="postgres://app:pw@db.internal:5432/app")[
        "DATABASES"
    ]["default"]

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.internal", 5432, "app")
    assert database["OPTIONS"] == {"pool": {"min_size": 2, "max_size": 10, "timeout": 5.0}}
    # Django refuses CONN_MAX_AGE alongside a pool.
    assert database["CONN_MAX_AGE"] == 0


def test_the_pool_is_sized_from_the_environment():
    pool = settings_with(
        **REQUIRED,
        DATABASE_URL="postgres://app@db/app",
        DATABASE_POOL_MIN_SIZE="4",
        DATABASE_POOL_MAX_SIZE="40",
        DATABASE_POOL_TIMEOUT="2.5",
    )["DATABASES"]["default"]["OPTIONS"]["pool"]

    assert pool == {"min_size": 4, "max_size": 40, "timeout": 2.5}


def test_without_redis_url_the_channel_layer_is_in_memory():
    layer = settings_with(**REQUIRED)["CHANNEL_LAYERS"]["default"]

    assert layer["BACKEND"] == "realtime.layers.InMemoryChannelLayer"


def test_redis_url_switches_the_channel_layer_to_redis():
    layer = settings_with(**REQUIRED, REDIS_URL="redis://cache.internal:6379/2")["CHANNEL_LAYERS"][
        "default"
    ]

    assert layer["BACKEND"] == "realtime.layers.RedisChannelLayer"
    [host] = layer["CONFIG"]["hosts"]
    assert host["address"] == "redis://cache.internal:6379/2"
    # The layer blocks up to 5 s reading a channel; a shorter socket timeout kills idle readers.
    assert host["socket_timeout"] > 5


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_log_line_says_when_how_bad_and_which_logger_once(debug):
    # With DEBUG on, Django's own console handler would print each django.* line a second time.
    result = run_python(
        "import django; django.setup(); from django.test import Client; "
        "Client().get('/api/no-such-endpoint', HTTP_HOST='localhost')",
        DJANGO_SETTINGS_MODULE="backend.settings",
        DEBUG=debug,
        **REQUIRED,
    )

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING django\.request: "
        r"Not Found: /api/no-such-endpoint",
        result.stderr.strip(),
    ), result.stderr


def test_several_redis_urls_shard_the_layer_with_the_same_options_on_each():
    layer = settings_with(**REQUIRED, REDIS_URL="redis://a:6379/0, redis://b:6380/0")[
        "CHANNEL_LAYERS"
    ]["default"]

    first, second = layer["CONFIG"]["hosts"]
    assert (first["address"], second["address"]) == ("redis://a:6379/0", "redis://b:6380/0")
    assert {key: value for key, value in first.items() if key != "address"} == {
        key: value for key, value in second.items() if key != "address"
    }
    assert first["socket_timeout"] > 5
