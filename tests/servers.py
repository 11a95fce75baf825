"""Real server processes for end-to-end tests, on the test database and channel layer."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30


def database_url() -> str:
    """The URL of the test database this process uses, for a child process to share."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def child_environment(**extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "HASHIDS_SALT": settings.HASHIDS_SALT,
        "SECURE_COOKIES": "0",
        **extra,
    }
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Daphne:
    """A Daphne process serving the project on 127.0.0.1."""

    def __init__(self, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = self.start(child_environment(**env))
        self.wait_until_healthy()

    def start(self, env: dict) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "backend.asgi:application",
            ],
            cwd=ROOT,
            env=env,
        )

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process.poll() is None, "daphne exited during start-up"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            assert time.monotonic() < deadline, "daphne did not become healthy in time"
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)


def running_processes() -> dict[int, int]:
    """The parent of every process of this machine that runs (zombies have ended)."""
    table = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    return {
        int(pid): int(parent)
        for pid, parent, state in (line.split() for line in table.splitlines())
        if not state.startswith("Z")
    }


class MakeRun(Daphne):
    """`make run` as a user starts it in a terminal: in a process group of its own, which Ctrl-C
    signals as a whole, its output (every process's, prefixed by honcho) going to `output`."""

    def __init__(self, output: Path, **env):
        self.output = output
        super().__init__(**env)

    def start(self, env: dict) -> subprocess.Popen:
        with self.output.open("wb") as output:
            return subprocess.Popen(
                ["make", "--no-print-directory", "run"],
                cwd=ROOT,
                env={**env, "PORT": str(self.port)},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def processes(self) -> set[int]:
        """The pids of make and of every process it started, and they started, still running."""
        children = defaultdict(set)
        for pid, parent in running_processes().items():
            children[parent].add(pid)
        found, todo = set(), [self.process.pid]
        while todo:
            pid = todo.pop()
            found.add(pid)
            todo.extend(children[pid] - found)
        return found

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the terminal's foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=START_TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.interrupt()


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
