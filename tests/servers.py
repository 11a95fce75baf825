"""Real server processes for end-to-end tests, on the test database and channel layer."""

import os
import shutil
import signal
import subprocess
import sys
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection

from harness import cluster
from harness.cluster import RedisServer as RedisServer
from harness.cluster import served_by as served_by
from harness.processes import (
    ROOT,
    START_TIMEOUT,
    Server,
    daphne_command,
    environment,
    free_port,
)
from harness.processes import get as get
from harness.processes import readiness as readiness


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
    """A Daphne process serving the project on 127.0.0.1, up when constructed; `options` are more
    of Daphne's, and `stop()` returns what it logged."""

    def __init__(self, *options: str, **env):
        self.port = free_port()
        command = daphne_command(self.port, *options)
        super().__init__("daphne", command, child_environment(**env), self.port)
        self.start()

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to its sockets (`stop()` still returns the log)."""
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)


class Worker:
    """A `manage.py db_worker` process."""

    def __init__(self, name: str, **env):
        self.name = name
        self.process = subprocess.Popen(
            [
                *[sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload"],
                *["--interval", "0.1", "--worker-id", name],
            ],
            cwd=ROOT,
            env=child_environment(**env),
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)


class HAProxy(cluster.HAProxy):
    """HAProxy with the committed deploy/haproxy.cfg, in front of three web processes (skipped
    where HAProxy is missing)."""

    def __init__(self, webs: list[Daphne]):
        if shutil.which("haproxy") is None:
            pytest.skip(self.MISSING)
        super().__init__([web.port for web in webs])


class Cluster:
    """What `make cluster` runs, with each process in the test's hands: three Daphne web
    processes with the Procfile's `--proxy-headers` behind HAProxy, and a job worker."""

    def __init__(self, **env):
        self.processes = []
        try:
            self.webs = [self.start(Daphne, "--proxy-headers", **env) for _ in range(3)]
            self.worker = self.start(Worker, "cluster-worker", **env)
            self.lb = self.start(HAProxy, self.webs)
        except BaseException:
            self.stop()
            raise

    def start(self, kind, *args, **env):
        process = kind(*args, **env)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


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
    signals as a whole, its output (every process's, prefixed by honcho) in `output()`."""

    def spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env={**self.env, "PORT": str(self.port)},
            stdout=self.log,
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

    def stop(self) -> str:
        if self.process.poll() is None:
            self.interrupt()
        output = self.output()
        self.log.close()
        return output


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
