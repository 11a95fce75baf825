"""Real server processes for end-to-end tests, on the test database and channel layer."""

import subprocess
import sys

from django.conf import settings
from django.db import connection

from harness.processes import (
    ROOT,
    START_TIMEOUT,
    Server,
    daphne_command,
    environment,
    free_port,
)


def database_url() -> str:
    """The URL of the test database this process uses, for a child process to share."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def child_environment(**extra) -> dict:
    """The environment of a child process on this test's database, channel layer and secrets."""
    return environment(
        **{
            "DJANGO_SETTINGS_MODULE": "backend.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "HASHIDS_SALT": settings.HASHIDS_SALT,
            "SECURE_COOKIES": "0",
            **extra,
        }
    )


class Daphne(Server):
    """A Daphne process serving the project on 127.0.0.1, up when constructed; `stop()` returns
    what it logged."""

    def __init__(self, **env):
        self.port = free_port()
        super().__init__("daphne", daphne_command(self.port), child_environment(**env), self.port)
        self.start()


def run_shell(code: str, **env) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh Django process (what `manage.py shell -c` does)."""
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=child_environment(**env),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=True,
    )
