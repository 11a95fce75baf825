"""The servers under test, each a process of its own: our Daphne, and the three floors.

A target knows how to prepare its storage, start, and be reached (HTTP base URL, WebSocket URL,
Origin). Its process is measured from /proc: CPU time (utime + stime, all threads) and RSS.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.config import ROOT, Options
from harness.processes import Server, daphne_command, environment, free_port

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


def backend_env(backend: str, options: Options) -> dict:
    """The environment of our server and of the processes that share its storage: none of the
    caller's settings, and no coverage measurement (a traced server would measure the tracer)."""
    env = environment(
        traced=False,
        DEBUG="0",
        SECRET_KEY="bench",
        HASHIDS_SALT="bench",
        SECURE_COOKIES="0",
        LOG_LEVEL="WARNING",
        # The fan-outs hold up to thousands of one user's sockets in a process: an operator
        # raises the limit of 50 (README: Limits) the same way.
        REALTIME_MAX_SOCKETS_PER_USER="10000",
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
            sys.executable,
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


class Target(Server):
    """One server under test: its WebSocket on `port`, its HTTP API on `http_port` (the same
    port but for the websockets floor)."""

    def __init__(
        self,
        name: str,
        kind: str,
        layer: str,
        command: list[str],
        env: dict,
        *,
        port: int,
        http_port: int,
        log_path: Path,
    ):
        super().__init__(name, command, env, http_port, log_path)
        self.kind = kind  # "ours" or "floor"
        self.layer = layer  # the channel layer it is compared with: "memory", "redis" or "none"
        self.port = port

    @property
    def http(self) -> str:
        return self.url

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/notifications/"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid


def ours(backend: str, options: Options, log_dir: Path) -> Target:
    port = free_port()
    return Target(
        f"ours/{backend}",
        kind="ours",
        layer="memory" if backend == "sqlite-memory" else "redis",
        command=daphne_command(port),
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
        f"floor-channels/{layer}",
        kind="floor",
        layer=layer,
        command=daphne_command(port, application="bench.floors.channels_floor:application"),
        env=env,
        port=port,
        http_port=port,
        log_path=log_dir / f"floor-channels-{layer}.log",
    )


def floor_websockets(options: Options, log_dir: Path) -> Target:
    port, http_port = free_port(), free_port()
    return Target(
        "floor-websockets",
        kind="floor",
        layer="none",
        command=[
            *[sys.executable, "-m", "bench.floors.websockets_floor"],
            *["--port", str(port), "--http-port", str(http_port)],
        ],
        env=backend_env("sqlite-memory", options),
        port=port,
        http_port=http_port,
        log_path=log_dir / "floor-websockets.log",
    )


def floor_fanout(options: Options, log_dir: Path) -> Target:
    """The Daphne local fan-out floor: no channel layer, so one server for every backend."""
    port = free_port()
    env = backend_env("sqlite-memory", options)
    env.pop("DATABASE_URL")
    return Target(
        "floor-fanout",
        kind="floor",
        layer="none",
        command=daphne_command(port, application="bench.floors.fanout_floor:application"),
        env=env,
        port=port,
        http_port=port,
        log_path=log_dir / "floor-fanout.log",
    )
