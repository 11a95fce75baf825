"""Real server processes for end-to-end tests, on the test database and channel layer."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest
import redis
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


def wait_until(what: str, ready, process: subprocess.Popen) -> None:
    """Polls `ready()` until it is true, failing if `process` exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        assert process.poll() is None, f"{what} exited during start-up"
        assert time.monotonic() < deadline, f"{what} did not come up in time"
        time.sleep(0.1)


def get(url: str) -> tuple[int, dict] | None:
    """The status and headers of a GET, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except OSError:
        return None


class Daphne:
    """A Daphne process serving the project on 127.0.0.1; `options` are more of Daphne's, and
    `stop()` returns what it logged.

    Its output goes to a file rather than a pipe, which would block the server once full."""

    def __init__(self, *options: str, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Open for the server's life: `stop()` closes it.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = self.start(child_environment(**env), options)
        self.wait_until_healthy()

    def start(self, env: dict, options: tuple[str, ...]) -> subprocess.Popen:
        return subprocess.Popen(
            [
                *[sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)],
                *options,
                "backend.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_healthy(self) -> None:
        try:
            wait_until(
                "daphne", lambda: (get(f"{self.url}/api/health") or [0])[0] == 200, self.process
            )
        except AssertionError as error:
            raise AssertionError(f"{error}:\n{self.output()}") from None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye to its sockets (`stop()` still returns the log)."""
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)
        output = self.output()
        self.log.close()
        return output


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


class RedisServer:
    """A redis-server of the test's own, on a free port and without persistence: one that a
    test may stop or shard over, never the machine's shared Redis."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Starts the server, empty: on the same port again after `kill()`."""
        self.process = subprocess.Popen(
            [
                *["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"],
                *["--save", "", "--appendonly", "no"],
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until("redis-server", self.answers, self.process)

    def kill(self) -> None:
        """A crash: SIGKILL, and everything it held is gone."""
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)


def served_by(url: str, servers: int) -> set[str]:
    """The names of the processes that answer readiness through the load balancer at `url`,
    asked until `servers` of them have, or START_TIMEOUT passes."""
    names = set()
    deadline = time.monotonic() + START_TIMEOUT
    while len(names) < servers and time.monotonic() < deadline:
        answer = get(f"{url}/api/health/ready")
        if answer is not None and answer[0] == 200:
            names.add(answer[1]["X-Served-By"])
        else:
            time.sleep(0.1)
    return names


class HAProxy:
    """HAProxy with the committed deploy/haproxy.cfg, in front of three web processes."""

    CONFIG = ROOT / "deploy" / "haproxy.cfg"

    def __init__(self, webs: list[Daphne]):
        if shutil.which("haproxy") is None:
            pytest.skip("needs HAProxy: apt-get install -y haproxy (.ci/run installs it)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = {f"WEB_{number}": f"127.0.0.1:{web.port}" for number, web in enumerate(webs, 1)}
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", self.CONFIG],
            env={**os.environ, "PORT": str(self.port), **servers},
            stdout=subprocess.DEVNULL,
        )
        assert served_by(self.url, len(webs)) == {"web1", "web2", "web3"}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)


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

    def start(self, env: dict, options: tuple[str, ...]) -> subprocess.Popen:
        return subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env={**env, "PORT": str(self.port)},
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
