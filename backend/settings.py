"""Settings for the realtime REST backend.

Everything that differs between a laptop and production comes from the environment, here and
nowhere else (README lists every variable). The embedded default (no variable set) is a
self-contained development server: SQLite and the in-memory channel layer.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
import redis.exceptions
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_options(prefix: str, **casts) -> dict:
    """The options of a settings dict that the environment sets: `<prefix>_<NAME>`, cast with
    `casts[NAME]`, for each NAME among `casts`; the others keep their defaults."""
    return {
        name: cast(os.environ[f"{prefix}_{name}"])
        for name, cast in casts.items()
        if f"{prefix}_{name}" in os.environ
    }


def env_required(name: str, development_default: str, how: str = "") -> str:
    """A variable production must set: without it (or empty), DEBUG runs on
    `development_default` and anything else refuses to start, saying how to set it."""
    value = os.environ.get(name, "")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} is not set. Set it in the environment{how}, "
            "or set DEBUG=1 for local development."
        )
    return development_default


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_required("SECRET_KEY", "insecure-development-key-never-use-in-production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "realtime",
    "api",
    # After `api`, whose `db_worker` command extends theirs (it also reaps dead jobs).
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    # First, so that it times everything the others do.
    "backend.metrics.request_latency",
    "django.middleware.security.SecurityMiddleware",
    "backend.static_files.StaticFilesMiddleware",
    # A GET whose If-None-Match names the response's ETag gets 304 and no body: the ETag a view
    # set (a Foo's version), else a hash of the body. Above the middleware that add headers and
    # cookies, so that a 304 carries them.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a lock rather than fail at once when the web process and a worker both write,
    # and take the write lock when a transaction begins: a transaction that reads, then writes,
    # cannot wait for a lock it would need to upgrade, and fails with "database is locked".
    # The test database is a file so that servers started by the tests share it.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["TEST"] = {
        "NAME": Path(tempfile.gettempdir()) / f"realtime-test-{os.getpid()}.sqlite3"
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pooled connection costs a fraction of a fresh one under load; the pool replaces
    # CONN_MAX_AGE, which Django refuses alongside it.
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "2")),
            "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10")),
            # How long a request waits for a connection (psycopg's default is 30 s): with the
            # database down, /api/health must answer 503 before a load balancer gives up on it.
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "5")),
        }
    }

# One Redis URL, or several separated by commas: channels-redis then shards over them (each
# group and each process's channel lives on one server, picked by a hash of its name). Either
# layer is Channels' own, made to report what it drops (realtime/layers.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": address,
                        # redis-py's read timeout must outlast the layer's 5 s blocking read,
                        # or an idle consumer dies with "Timeout reading".
                        "socket_timeout": 30,
                        "socket_connect_timeout": 5,
                        # Per process and shard; past it a command waits for a free one (up to
                        # 20 s: realtime.layers.RedisChannelLayer.create_pool).
                        "max_connections": 100,
                        # A pooled connection that Redis dropped (it restarted) fails its next
                        # command: that command is tried once more, on a new connection.
                        "retry_on_error": [redis.exceptions.ConnectionError],
                    }
                    for address in env_list("REDIS_URL", "")
                ],
                "capacity": 10_000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }

# Background jobs run through Django's task framework (the django-tasks backport: moving to
# Django 6's django.tasks is an import change), queued in this database and run by
# `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Each JOBS_<NAME> variable sets JOBS["<NAME>"]; the defaults are in api/jobs/conf.py.
JOBS = env_options(
    "JOBS",
    PROGRESS_RATE=float,
    HEARTBEAT_TIMEOUT=float,
    REAP_INTERVAL=float,
    MAX_ATTEMPTS=int,
    IMPORT_BATCH_SIZE=int,
)
# Without Redis, events only reach sockets of the process that sends them, so the web process
# runs the jobs itself (see backend/asgi.py). With Redis, run `manage.py db_worker` beside it.
JOBS["EMBEDDED_WORKER"] = env_bool("JOBS_EMBEDDED_WORKER", not REDIS_URL)

# `/metrics` (Prometheus) answers only requests with `Authorization: Bearer <METRICS_TOKEN>`, and
# 404 while it is unset (see backend/metrics.py).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Each REALTIME_<NAME> variable sets REALTIME["<NAME>"] (the operator's ones: socket limits and
# the drain); the defaults, and the realtime layer's other options, are in realtime/conf.py.
REALTIME = {
    # A socket that offers an API token is authenticated by it alone; any other by its session.
    "AUTHENTICATION_CLASSES": [
        "api.socket_auth.TokenAuthentication",
        "realtime.session_auth.SessionAuthentication",
    ],
    **env_options("REALTIME", MAX_SOCKETS_PER_USER=int, MAX_SOCKETS=int, DRAIN_SECONDS=float),
}

AUTH_USER_MODEL = "api.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# TLS ends at the load balancer, which says so in X-Forwarded-Proto (overwriting a client's own).
# With secure cookies the site works over HTTPS only, so browsers are also told to use nothing
# else for this host for a year (HSTS, sent on HTTPS responses only).
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0
# Plain HTTP is best redirected by the load balancer; where it cannot (a Heroku-style router),
# SECURE_SSL_REDIRECT=1 has Django redirect it, except the health check, which load balancers
# send over plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^api/health/?$"]

SILENCED_SYSTEM_CHECKS = [
    # HSTS covers this host only. Extending it to every subdomain of the domain
    # (includeSubDomains), or submitting the domain to the browsers' preload list, is for the
    # domain's owner to decide: a wrong choice cannot be taken back for a year.
    "security.W005",
    "security.W021",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Daphne serves no static files; WhiteNoise serves the admin's and Swagger UI's straight from
# the installed apps, so that no collectstatic step is needed anywhere.
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies above this size are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_REQUEST_BYTES", str(2 * 1024 * 1024)))
# The same for an import: up to 100,000 items.
IMPORT_MAX_REQUEST_BYTES = int(os.environ.get("IMPORT_MAX_REQUEST_BYTES", str(16 * 1024 * 1024)))

# The salt of the public ids (api/hashids.py), never derived from SECRET_KEY: rotating the key
# (SECRET_KEY_FALLBACKS) must not change an id that clients hold.
HASHIDS_SALT = env_required(
    "HASHIDS_SALT",
    "insecure-development-salt-never-use-in-production",
    how=" to a random string of its own, never SECRET_KEY (public ids must survive rotating "
    "the key)",
)

REST_FRAMEWORK = {
    # The token class first: its challenge makes anonymous requests 401 (api/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Realtime REST backend",
    "DESCRIPTION": (
        "REST API of the realtime backend. Live updates arrive over the WebSocket at "
        "`ws/notifications/`, described in `openapi/asyncapi.yaml`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"Availability": "api.views.health.STATES"},
}

# Each line says when, how bad and where from: several processes (web, workers) log to one stream.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's default config gives `django` a console handler of its own when DEBUG is on:
    # its lines reach the root's handler alone, once.
    "loggers": {"django": {"handlers": [], "level": "INFO"}},
}
