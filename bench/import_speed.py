"""How fast a Foo import runs, and how many UPDATE_JOB events it sends.

    .venv/bin/python -m bench.import_speed [--items 10000] [--postgres postgres://...]

For SQLite (a fresh file) and PostgreSQL (a fresh database, dropped at the end) in turn: posts
an import over the real view, runs it with django-tasks-db's worker loop in this process, and
prints a table; the numbers go to bench/results/import_speed.json. Each job's version is its
number of saves, and each save an event: created, running, progress, final state.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.processes import environment

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "import_speed.json"
POSTGRES = "postgres://postgres@127.0.0.1:5432/helper_jobs_bench"


def measure(count: int) -> dict:
    """Runs inside a Django process whose DATABASE_URL is the database to measure."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tasks_db.management.commands.db_worker import Worker
    from rest_framework.test import APIClient

    from api.models import Job, User

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(f"bench-{time.time_ns()}")
    client = APIClient()
    client.force_login(user)
    items = [{"bar": f"item {index}"} for index in range(count)]
    started = time.perf_counter()
    response = client.post("/api/foo/import", {"items": items}, format="json")
    accepted = time.perf_counter()
    assert response.status_code == 202, response.content
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="bench",
        excluded_queue_names=[],
    ).run()
    finished = time.perf_counter()
    job = Job.objects.get(owner=user)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.result["created"] == count, job.result
    run = (job.finished_at - job.started_at).total_seconds()
    return {
        "database": connection.vendor,
        "items": count,
        "accept_seconds": round(accepted - started, 3),
        "run_seconds": round(run, 3),
        "items_per_second": round(count / run),
        "end_to_end_items_per_second": round(count / (finished - started)),
        "events": job.version,
    }


def in_child(database_url: str, count: int) -> dict:
    env = environment(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="backend.settings",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        HASHIDS_SALT=os.environ.get("HASHIDS_SALT", "bench-only-hashids-salt"),
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    output = subprocess.run(
        [sys.executable, "-m", "bench.import_speed", "--child", "--items", str(count)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def postgres_database(url: str, action: str) -> None:
    base, name = url.rsplit("/", 1)
    statement = {"drop": f'DROP DATABASE IF EXISTS "{name}"', "create": f'CREATE DATABASE "{name}"'}
    subprocess.run(["psql", f"{base}/postgres", "-qc", statement[action]], check=True, timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--postgres", default=POSTGRES, help="a database this script may drop")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.items)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        rows.append(in_child(f"sqlite:///{directory}/bench.sqlite3", args.items))
    postgres_database(args.postgres, "drop")
    postgres_database(args.postgres, "create")
    try:
        rows.append(in_child(args.postgres, args.items))
    finally:
        postgres_database(args.postgres, "drop")
    columns = list(rows[0])
    print(" | ".join(f"{column:>12}" for column in columns))
    for row in rows:
        print(" | ".join(f"{row[column]!s:>12}" for column in columns))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
