"""Issue 14, target 4: what a connect costs the server, and a reconnect storm.

Standalone until the bench refactor lands. Starts one Daphne per code tree (name=path) on one
database, then for each: `--sequential` sockets one after the other (connect, authenticate by
session cookie, subscribe to one Foo, wait for SUBSCRIBED, close), reporting the server's CPU
time per socket; then the storm: `--sockets` sockets (10 per user), `--parallel` connecting
at a time, each subscribing to its user's 10 Foos (one message each, or one batch with
`--batch`), until every subscription is answered.

    .venv/bin/python perf/storm.py --tree before=/work/main --tree after=. --batch after
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from request_path import ENV

SETUP = """
import json, django
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from api.models import Foo, User
from api.hashids import encode
call_command("migrate", verbosity=0)
users = []
for n in range({users}):
    user, created = User.objects.get_or_create(username=f"storm{{n}}")
    foos = list(Foo.objects.filter(owner=user)[:10])
    while len(foos) < 10:
        foos.append(Foo.objects.create(owner=user, bar="storm"))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    users.append({{"session": session.session_key, "foos": [encode(Foo, f.pk) for f in foos]}})
print(json.dumps(users))
"""


def cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def open_socket(port: int, session: str):
    return await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/notifications/",
        additional_headers={"Cookie": f"sessionid={session}", "Origin": "http://127.0.0.1"},
        open_timeout=60,
        max_queue=None,
    )


async def subscribe(socket, foos: list[str], batch: bool) -> None:
    items = [{"model": "api.Foo", "id": foo, "request_id": n} for n, foo in enumerate(foos)]
    if batch:
        await socket.send(json.dumps({"subscribe": items}))
    else:
        for item in items:
            await socket.send(json.dumps(item))
    answered = 0
    while answered < len(items):
        message = json.loads(await socket.recv())
        assert message["type"] == "SUBSCRIBED", message
        answered += 1


async def sequential(port: int, world: list, count: int, pid: int) -> float:
    started = cpu_ms(pid)
    for n in range(count):
        user = world[n % len(world)]
        socket = await open_socket(port, user["session"])
        await subscribe(socket, user["foos"][:1], batch=False)
        await socket.close()
    return (cpu_ms(pid) - started) / count


async def storm(port: int, world: list, sockets: int, parallel: int, batch: bool) -> dict:
    gate = asyncio.Semaphore(parallel)
    opened, failures, answered_at = [], [], []
    started = time.monotonic()

    async def one(n):
        user = world[n % len(world)]
        async with gate:
            try:
                socket = await open_socket(port, user["session"])
            except Exception as error:
                failures.append(repr(error))
                return
            opened.append(socket)
            await subscribe(socket, user["foos"], batch)
            answered_at.append(time.monotonic() - started)

    await asyncio.gather(*(one(n) for n in range(sockets)))
    elapsed = time.monotonic() - started
    for socket in opened:
        await socket.close()
    return {
        "all answered s": round(elapsed, 2),
        "sockets subscribed": len(answered_at),
        "handshake failures": len(failures),
        "first failure": failures[:1],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", default=[], help="name=path")
    parser.add_argument("--batch", action="append", default=[], help="trees that batch")
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument(
        "--database", default=f"sqlite:///{tempfile.gettempdir()}/i14-storm.sqlite3"
    )
    args = parser.parse_args()
    env = {
        **os.environ,
        **ENV,
        "DATABASE_URL": args.database,
        "REALTIME_MAX_SOCKETS_PER_USER": "1000",
    }
    trees = [tree.split("=", 1) for tree in args.tree]
    python = str(Path(trees[0][1]).resolve() / ".venv/bin/python")
    setup = SETUP.format(users=args.sockets // 10)
    world = json.loads(
        subprocess.run(
            [python, "-c", setup],
            cwd=trees[0][1],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    print("load:", os.getloadavg())
    for number, (name, path) in enumerate(trees):
        port = 18800 + number
        daphne = subprocess.Popen(
            [
                python,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "backend.asgi:application",
            ],
            cwd=path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(4)
            per_socket = asyncio.run(sequential(port, world, args.sequential, daphne.pid))
            result = asyncio.run(
                storm(port, world, args.sockets, args.parallel, name in args.batch)
            )
            print(
                f"{name:8} connect+auth+subscribe CPU ms/socket {per_socket:5.2f}  storm {result}"
            )
        finally:
            daphne.terminate()
            daphne.wait()
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
