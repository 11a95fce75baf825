"""Issue 14, target 1: a PATCH through Daphne against the same PATCH in-process.

Standalone until the bench refactor lands. For each code tree given (say /work/main, "before",
and this worktree, "after"), starts one Daphne from that tree and one in-process runner (a
subprocess in that tree driving Django's test client), all on one SQLite database with DEBUG off,
and times N sequential PATCHes of one Foo by a logged-in session (cookie + CSRF), over one
keep-alive connection for Daphne. Batches are interleaved across trees and modes so that the
machine's load falls on all of them alike.

    .venv/bin/python perf/request_path.py --tree before=/work/main --tree after=. --n 200 --rounds 5
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CSRF = "a" * 32
ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "perf-only-sw0il9n%wfkd1z(8c5w5l*8c0o1sin0k_ot*ne-uXYZ",
    "HASHIDS_SALT": "perf-only-salt-f0cjoj&v0jti3l9u4!mru6%45z!zn=via_m",
    "SECURE_COOKIES": "0",
    "DJANGO_SETTINGS_MODULE": "backend.settings",
    "LOG_LEVEL": "WARNING",
}


def setup_world() -> dict:
    """Run in a tree's process: a user, a Foo and a logged-in session."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from api.models import Foo, User
    from api.serializers import FooSerializer

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="perf")
    foo = Foo.objects.filter(owner=user).first() or Foo.objects.create(owner=user, bar="x")
    client = Client()
    client.force_login(user)
    return {"session": client.cookies["sessionid"].value, "foo": FooSerializer(foo).data["id"]}


def patch_headers(world: dict) -> dict:
    return {
        "Content-Type": "application/json",
        "Cookie": f"sessionid={world['session']}; csrftoken={CSRF}",
        "X-CSRFToken": CSRF,
        "Host": "127.0.0.1",
        "Origin": "http://127.0.0.1",
    }


def in_process(world: dict, n: int) -> list[float]:
    """Run in a tree's process: N PATCHes through Django's test client, in ms."""
    import django

    django.setup()
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = world["session"]
    client.cookies["csrftoken"] = CSRF
    url = f"/api/foo/{world['foo']}"
    times = []
    cpu = time.process_time()
    for i in range(n):
        started = time.perf_counter()
        response = client.patch(
            url,
            json.dumps({"bar": f"v{i}"}),
            content_type="application/json",
            headers={"X-CSRFToken": CSRF, "Origin": "http://127.0.0.1"},
        )
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return times, (time.process_time() - cpu) * 1000 / n


def through_daphne(connection: http.client.HTTPConnection, world: dict, n: int) -> list[float]:
    url, headers = f"/api/foo/{world['foo']}", patch_headers(world)
    times = []
    for i in range(n):
        body = json.dumps({"bar": f"d{i}"})
        started = time.perf_counter()
        connection.request("PATCH", url, body, headers)
        response = connection.getresponse()
        data = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, data
    return times


class Tree:
    def __init__(self, name: str, root: Path, env: dict, port: int, profile: str | None):
        self.name, self.root, self.env, self.port = name, root, env, port
        self.python = str(root / ".venv" / "bin" / "python")
        spy = []
        if profile:
            spy = [
                str(HERE / ".venv" / "bin" / "py-spy"),
                "record",
                "--format",
                "raw",
                "-r",
                "200",
                "-o",
                f"{profile}/{name}.txt",
                "--",
            ]
        self.daphne = subprocess.Popen(
            [
                *spy,
                self.python,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "backend.asgi:application",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.runner = subprocess.Popen(
            [self.python, str(Path(__file__).resolve()), "--serve-in-process"],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.connection = None

    def connect(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.connection.request("GET", "/api/health/live")
                self.connection.getresponse().read()
                return
            except OSError:
                assert time.monotonic() < deadline, f"{self.name}: daphne did not start"
                time.sleep(0.2)

    def cpu_ms(self) -> float:
        """CPU time of the Daphne process so far (py-spy's child when profiled)."""
        pid = self.daphne.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            pid = int(children[0])
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def run_daphne(self, world, n) -> tuple[list[float], float]:
        cpu = self.cpu_ms()
        times = through_daphne(self.connection, world, n)
        return times, (self.cpu_ms() - cpu) / n

    def run_in_process(self, world, n) -> tuple[list[float], float]:
        self.runner.stdin.write(json.dumps({"world": world, "n": n}) + "\n")
        self.runner.stdin.flush()
        return json.loads(self.runner.stdout.readline())

    def stop(self):
        self.daphne.send_signal(2)
        self.runner.stdin.close()
        self.daphne.wait()
        self.runner.wait()


def summary(times: list[float]) -> str:
    q = statistics.quantiles(times, n=10)
    return f"p50 {statistics.median(times):6.2f}  p90 {q[8]:6.2f}  n {len(times)}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", default=[], help="name=path")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", default=f"sqlite:///{tempfile.gettempdir()}/i14-perf.sqlite3")
    parser.add_argument("--serve-in-process", action="store_true")
    parser.add_argument("--profile", help="a directory for py-spy's raw stacks of each Daphne")
    args = parser.parse_args()
    if args.serve_in_process:
        sys.path.insert(0, os.getcwd())
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("setup"):
                print(json.dumps(setup_world()), flush=True)
            else:
                print(json.dumps(in_process(request["world"], request["n"])), flush=True)
        return
    env = {**os.environ, **ENV, "DATABASE_URL": args.database}
    trees = [
        Tree(name, Path(path).resolve(), env, 18700 + number, args.profile)
        for number, (name, path) in enumerate(t.split("=", 1) for t in args.tree)
    ]
    try:
        trees[0].runner.stdin.write(json.dumps({"setup": True}) + "\n")
        trees[0].runner.stdin.flush()
        world = json.loads(trees[0].runner.stdout.readline())
        for tree in trees:
            tree.connect()
        results = {(t.name, mode): [] for t in trees for mode in ("in-process", "daphne")}
        cpu = {key: [] for key in results}
        print("load:", os.getloadavg())
        for tree in trees:  # warm-up
            tree.run_in_process(world, 20)
            through_daphne(tree.connection, world, 20)
        for _ in range(args.rounds):
            for tree in trees:
                for mode, run in (("in-process", tree.run_in_process), ("daphne", tree.run_daphne)):
                    times, cpu_ms = run(world, args.n)
                    results[tree.name, mode] += times
                    cpu[tree.name, mode].append(cpu_ms)
        print("load:", os.getloadavg())
        for (name, mode), times in results.items():
            print(
                f"{name:8} {mode:11} {summary(times)}  CPU ms/request "
                f"{statistics.median(cpu[name, mode]):5.2f}"
            )
        for tree in trees:
            ratio = statistics.median(results[tree.name, "daphne"]) / statistics.median(
                results[tree.name, "in-process"]
            )
            print(f"{tree.name:8} daphne / in-process p50: {ratio:.2f}")
    finally:
        for tree in trees:
            tree.stop()


if __name__ == "__main__":
    main()
