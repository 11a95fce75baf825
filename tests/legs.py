"""`make test`: the suite on every leg this machine can run, coverage over them, and a summary.

The first leg runs anywhere: SQLite and the in-memory channel layer. The second runs the suite
again on PostgreSQL and Redis, or on the one of them there is: on TEST_DATABASE_URL and
TEST_REDIS_URL when they are set (set empty: without that service), else on a server that
answers on its default local port. Under CI (`CI` set) every leg must run.

Coverage must be 100% line and branch over all legs together: some lines run only on PostgreSQL
or Redis. It is enforced when every leg ran; when one was skipped the report is printed and the
summary says that 100% was not enforced, rather than failing a machine that lacks a service.
"""

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import redis

# Names no developer's own data has. Django creates and drops the test database
# `test_realtime_make_test` (and never touches `realtime_make_test`); the tests delete the
# channel layer's keys (`asgi:*`) in Redis database 15, the last of Redis' 16.
LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/realtime_make_test"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"
PROBE_TIMEOUT = 2


def probe_postgres(url: str) -> None:
    """Connects where Django's test runner connects to create the test database."""
    psycopg.connect(url, dbname="postgres", connect_timeout=PROBE_TIMEOUT).close()


def probe_redis(url: str) -> None:
    redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT).ping()


@dataclass(frozen=True)
class Service:
    name: str
    variable: str
    local_url: str
    probe: Callable[[str], None]
    errors: tuple[type[Exception], ...]

    def find(self) -> tuple[str, str]:
        """The URL the suite uses ("" for none), and where it comes from or why there is none."""
        if self.variable in os.environ:
            url = os.environ[self.variable]
            return url, self.variable if url else f"{self.variable} is set empty"
        try:
            self.probe(self.local_url)
        except self.errors as error:
            reason = str(error).strip().splitlines()[0]
            return (
                "",
                f"cannot connect to {self.local_url} ({reason}); set {self.variable} to run it",
            )
        return self.local_url, f"found at {self.local_url}"


SERVICES = {
    "DATABASE_URL": Service(
        "PostgreSQL", "TEST_DATABASE_URL", LOCAL_DATABASE_URL, probe_postgres, (psycopg.Error,)
    ),
    "REDIS_URL": Service(
        "Redis", "TEST_REDIS_URL", LOCAL_REDIS_URL, probe_redis, (redis.RedisError,)
    ),
}


def run(module: str, *args: str, **env: str) -> bool:
    """`python -m module args` with `env` for the services' variables; True when it passes."""
    inherited = {name: value for name, value in os.environ.items() if name not in SERVICES}
    print("+ python -m", module, *args, flush=True)
    command = [sys.executable, "-m", module, *args]
    return subprocess.run(command, env={**inherited, **env}, check=False).returncode == 0


@dataclass
class Leg:
    name: str
    env: dict[str, str]
    outcome: str = "not run (an earlier leg failed)"

    def run(self, pytest_args: list[str]) -> bool:
        print(f"\n== The suite on {self.name}", flush=True)
        passed = run("pytest", "--cov", "--cov-append", "--cov-report=", *pytest_args, **self.env)
        self.outcome = "passed" if passed else "FAILED"
        return passed


def main(pytest_args: list[str]) -> int:
    found = {variable: service.find() for variable, service in SERVICES.items()}
    skipped = [f"{SERVICES[v].name}: {why}" for v, (url, why) in found.items() if not url]
    if os.environ.get("CI") and skipped:
        print("CI must run every leg, and cannot:", *skipped, sep="\n  ")
        return 1
    legs = [Leg("SQLite and the in-memory layer", {})]
    if services := {variable: url for variable, (url, _) in found.items() if url}:
        name = " and ".join(f"{SERVICES[v].name} ({found[v][1]})" for v in services)
        legs.append(Leg(name, services))

    run("coverage", "erase")
    if not all(leg.run(pytest_args) for leg in legs):  # stops at the first leg that fails
        passed, coverage = False, "not reported: a leg failed"
    elif skipped:
        passed = run("coverage", "report")
        coverage = "not enforced: 100% is required over every leg together (CI runs them all)"
    else:
        passed = run("coverage", "report", "--fail-under=100")
        coverage = "100% line and branch over every leg, enforced"
        coverage += "" if passed else ": FAILED (see the report above)"

    print("\nmake test:")
    for leg in legs:
        print(f"  {leg.outcome}: the suite on {leg.name}")
    for reason in skipped:
        print(f"  skipped: the suite on {reason}")
    print(f"  coverage: {coverage}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
