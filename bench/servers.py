"""The servers under test, each a process of its own: our Daphne, and the two floors.

A target knows how to prepare its storage, start, and be reached (HTTP base URL, WebSocket URL,
Origin). Its process is measured from /proc: CPU time (utime + stime, all threads) and RSS.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.config import ROOT, Options

PYTHON = sys.executable
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may hold spaces: fields are counted after its closing parenthesis.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy (not idle, not waiting for I/O), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of `names` (from /proc/<pid>/comm)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def group_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue  # ended meanwhile: its time is lost, a small undercount
    return total


class Meter:
    """CPU share of some processes over an interval, as % of one core. Besides the server and
    the client: `storage` (every PostgreSQL and Redis process: other users of them count too),
    `profiler` (py-spy), and `others`, what else ran on the machine: a high figure there means
    a contended measurement."""

    GROUPS = {"storage": ("postgres", "redis-server"), "profiler": ("py-spy",)}

    def __init__(self, **pids: int):
        self.pids = pids
        self.groups = {name: pids_named(*comms) for name, comms in self.GROUPS.items()}
        self.start = time.monotonic()
        self.cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.group_cpu = {name: group_cpu_seconds(p) for name, p in self.groups.items()}
        self.machine = machine_busy_seconds()

    def read(self) -> dict:
        elapsed = time.monotonic() - self.start
        shares = {
            f"{name}_cpu_pct": round(100 * (cpu_seconds(pid) - self.cpu[name]) / elapsed, 1)
            for name, pid in self.pids.items()
        }
        shares |= {
            f"{name}_cpu_pct": round(
                100 * (group_cpu_seconds(pids) - self.group_cpu[name]) / elapsed, 1
            )
            for name, pids in self.groups.items()
        }
        machine = round(100 * (machine_busy_seconds() - self.machine) / elapsed, 1)
        return shares | {
            "machine_cpu_pct": machine,
            "others_cpu_pct": round(machine - sum(shares.values()), 1),
            "wall_seconds": round(elapsed, 3),
        }


def clean_env() -> dict:
    """The environment of every process the benchmark starts: without Django's settings module
    and without coverage's subprocess measurement (a traced server would measure the tracer)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "COVERAGE_PROCESS_"))
    }


def backend_env(backend: str, options: Options) -> dict:
    """The environment of our server and of the processes that share its storage."""
    env = clean_env()
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        DEBUG="0", SECRET_KEY="bench", HASHIDS_SALT="bench", SECURE_COOKIES="0", LOG_LEVEL="WARNING"
    )
    if backend == "sqlite-memory":
        env["DATABASE_URL"] = f"sqlite:///{options.sqlite_path}"
    else:
        env["DATABASE_URL"] = options.database_url
        env["REDIS_URL"] = options.redis_url
    if backend == "postgres-redis-pubsub":
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings_pubsub"
    # The bench package imports from the repository root wherever the command runs.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def prepare_storage(backend: str, options: Options) -> bool:
    """An empty SQLite file, or the PostgreSQL database created if missing; Redis flushed.
    True if the database is new (bench.seed then need not empty it)."""
    if backend == "sqlite-memory":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{options.sqlite_path}{suffix}").unlink(missing_ok=True)
        return True
    created = create_postgres_database(options.database_url)
    flush_redis(options.redis_url)
    return created


def create_postgres_database(url: str) -> bool:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return not exists


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def seed_world(backend: str, options: Options, fresh: bool) -> dict:
    """Migrates and fills the database (bench.seed); the world's users, ids and sessions."""
    result = subprocess.run(
        [
            PYTHON,
            "-m",
            "bench.seed",
            "--watchers",
            str(options.watchers),
            "--foos",
            str(options.subs_per_socket),
            "--sessions",
            "2",
            *(["--fresh"] if fresh else []),
        ],
        cwd=ROOT,
        env=backend_env(backend, options),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout)


@dataclass
class Target:
    """One server under test."""

    name: str  # "ours/sqlite-memory", "floor-channels/memory", "floor-websockets"
    kind: str  # "ours" or "floor"
    layer: str  # the channel layer it is compared with: "memory", "redis" or "none"
    command: list[str]
    env: dict
    port: int
    http_port: int
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/notifications/"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child holds it until it exits)
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.http}/api/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer /api/health in {timeout} s; see {self.log_path}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def ours(backend: str, options: Options, log_dir: Path) -> Target:
    port = free_port()
    return Target(
        name=f"ours/{backend}",
        kind="ours",
        layer="memory" if backend == "sqlite-memory" else "redis",
        command=[
            str(Path(PYTHON).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "backend.asgi:application",
        ],
        env=backend_env(backend, options),
        port=port,
        http_port=port,
        log_path=log_dir / f"ours-{backend}.log",
    )


def floor_channels(layer: str, options: Options, log_dir: Path) -> Target:
    port = free_port()
    env = backend_env("sqlite-memory", options)
    env.pop("DATABASE_URL")
    if layer == "redis":
        env["REDIS_URL"] = options.redis_url
    return Target(
        name=f"floor-channels/{layer}",
        kind="floor",
        layer=layer,
        command=[
            str(Path(PYTHON).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "bench.floors.channels_floor:application",
        ],
        env=env,
        port=port,
        http_port=port,
        log_path=log_dir / f"floor-channels-{layer}.log",
    )


def floor_websockets(options: Options, log_dir: Path) -> Target:
    port, http_port = free_port(), free_port()
    env = backend_env("sqlite-memory", options)
    return Target(
        name="floor-websockets",
        kind="floor",
        layer="none",
        command=[
            PYTHON,
            "-m",
            "bench.floors.websockets_floor",
            "--port",
            str(port),
            "--http-port",
            str(http_port),
        ],
        env=env,
        port=port,
        http_port=http_port,
        log_path=log_dir / "floor-websockets.log",
    )
