"""Child processes of the project: the environment they start from, and a server launcher that
returns once the server answers /api/health (`python -m harness.daphne` for callers in another
language)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30

# The environment variables backend/settings.py reads (and every JOBS_* and REALTIME_*): a child
# starts from none of them, only from what its caller gives it.
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
    "METRICS_TOKEN",
}


def environment(traced: bool = True, **env: str) -> dict:
    """This process's environment without the project's settings, with `env` over it.

    The rest is kept (PATH, the venv, ...); so is coverage's subprocess measurement unless
    `traced` is false: a benchmarked server must not measure the tracer.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if name not in SETTINGS_VARIABLES
        and not name.startswith(("JOBS_", "REALTIME_"))
        and (traced or not name.startswith("COVERAGE_PROCESS_"))
    } | env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, dict] | None:
    """The status and headers of a GET, None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except OSError:
        return None


def readiness(port: int) -> str:
    """What the process at `port` of 127.0.0.1 answers readiness: its status and body."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/health/ready", timeout=2
        ) as answer:
            return f"{answer.status} {answer.read().decode()}"
    except urllib.error.HTTPError as error:
        return f"{error.code} {error.read().decode()}"
    except OSError as error:
        return f"no answer ({error})"


class StartError(RuntimeError):
    """A child process exited during start-up, or did not come up in time."""


def wait_until(what: str, ready, process: subprocess.Popen) -> None:
    """Polls `ready()` until it is true; StartError if `process` exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if process.poll() is not None:
            raise StartError(f"{what} exited during start-up")
        if time.monotonic() > deadline:
            raise StartError(f"{what} did not come up in {START_TIMEOUT} s")
        time.sleep(0.1)


def daphne_command(
    port: int, *options: str, application: str = "backend.asgi:application"
) -> list[str]:
    """The command line of a Daphne process on 127.0.0.1:`port`."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        *options,
        application,
    ]


class Server:
    """A process that serves HTTP on 127.0.0.1:`http_port`, ready once /api/health answers 200.

    `start()` returns when it is ready (it may start again after `stop()`); its output goes to
    `log_path` (appended), or to a temporary file: a file rather than a pipe, which would block
    the server once full. `stop()` returns what it logged.
    """

    def __init__(
        self, name: str, command: list[str], env: dict, http_port: int, log_path: Path | None = None
    ):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.url = f"http://127.0.0.1:{http_port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.log_path is None:
            self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log = self.log_path.open("a+b")
        self.process = self.spawn()
        try:
            wait_until(self.name, self.healthy, self.process)
        except StartError as error:
            raise StartError(f"{error}:\n{self.stop()}") from None

    def spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def healthy(self) -> bool:
        return (get(f"{self.url}/api/health") or [0])[0] == 200

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> str:
        """SIGTERM, then SIGKILL if it has not exited in START_TIMEOUT."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        output = self.output()
        self.log.close()
        return output

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
