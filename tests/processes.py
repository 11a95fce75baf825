"""A fresh interpreter, for what one test process cannot do twice: import the settings from
another environment, or start Django against services it cannot reach."""

import json
import os
import subprocess
import sys

from django.conf import settings

# The environment variables backend/settings.py reads (and every JOBS_*): a child starts from
# none of them.
SETTINGS_VARIABLES = {
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DATABASE_POOL_MIN_SIZE",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_POOL_TIMEOUT",
    "REDIS_URL",
    "SECURE_COOKIES",
    "SECURE_SSL_REDIRECT",
    "MAX_REQUEST_BYTES",
    "IMPORT_MAX_REQUEST_BYTES",
    "HASHIDS_SALT",
    "LOG_LEVEL",
}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Runs `code` in the project's interpreter with `env` over a settings-free environment.

    The rest of the environment is kept: coverage follows the child through it.
    """
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES and not name.startswith("JOBS_")
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**inherited, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def json_output(result: subprocess.CompletedProcess):
    """The JSON document the child printed last; fails with its stderr if it did not finish."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])
