"""The request path (issue 14, target 1): a PATCH through Daphne against the same PATCH
in-process.

Through Daphne: the load client's sequential PATCHes of one Foo over its keep-alive connection,
each from its send to the whole response. In-process: the same request (the same session
cookie, CSRF token and body) through Django's test client, in a process of the server's own
environment and database: the middleware chain and the view, without the server, ASGI or a
socket. The ratio of the two p50s is what Daphne and the ASGI path add to a request; the issue
wants it at most 1.5. Each side's CPU time per PATCH is reported too (the server's from /proc,
the in-process one's from `time.process_time`), and with BENCH_PROFILE=1 where the server's
time goes (bench/profiling.py).

The two alternate in batches, so that load from elsewhere on the machine falls on both alike.
The in-process side is `python -m bench.request_path`: one JSON line per batch on its stdin,
`{"target": <the client's PATCH target>, "count": n}`, answered by one line, `{"ms": [...],
"cpu_ms": ..., "http_errors": ...}`.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from bench import profiling
from bench.config import ROOT
from bench.scenarios import Context, patch_target
from bench.servers import Meter, cpu_seconds
from bench.stats import summary

BATCHES = 5
# PATCHes each side sends before measuring: imports, caches, connections.
WARMUP = 20


class InProcess:
    """`python -m bench.request_path` in the server's environment, a batch at a time."""

    def __init__(self, env: dict):
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.request_path"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def patches(self, target: dict, count: int) -> dict:
        self.process.stdin.write(json.dumps({"target": target, "count": count}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.errors.seek(0)
            raise RuntimeError(f"bench.request_path exited: {self.errors.read().decode()[-2000:]}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)
        self.errors.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def measure(ctx: Context) -> dict:
    """PATCHes of the owner's Foo, `request_path_patches` each way, in alternating batches."""
    owner = ctx.login(ctx.world["owner"]["username"])
    target = patch_target("api.Foo", ctx.world["owner"]["foos"][0], owner)
    per_batch = max(1, ctx.options.request_path_patches // BATCHES)
    daphne: dict = {"ms": [], "cpu": 0.0, "http_errors": 0}
    local: dict = {"ms": [], "cpu_ms": 0.0, "http_errors": 0}
    with InProcess(ctx.target.env) as in_process:
        ctx.call("patches", http=ctx.target.http, target=target, count=WARMUP)
        in_process.patches(target, WARMUP)
        # Daphne's batches only: py-spy leaves out the idle server of the in-process ones.
        recorder = None
        if ctx.options.profile:
            recorder = profiling.Recorder(ctx.target, ctx.options, "request-path")
        meter = Meter(server=ctx.target.pid, client=ctx.client.pid, in_process=in_process.pid)
        for _ in range(BATCHES):
            started = cpu_seconds(ctx.target.pid)
            answer = ctx.call("patches", http=ctx.target.http, target=target, count=per_batch)
            daphne["cpu"] += cpu_seconds(ctx.target.pid) - started
            daphne["ms"] += answer["resp"]
            daphne["http_errors"] += answer["http_errors"]
            batch = in_process.patches(target, per_batch)
            local["ms"] += batch["ms"]
            local["cpu_ms"] += batch["cpu_ms"]
            local["http_errors"] += batch["http_errors"]
        usage = meter.read()
        if recorder is not None:
            recorder.stop()
            usage["profile"] = recorder.result
    through, alone = summary(daphne["ms"]), summary(local["ms"])
    return {
        "patches": len(daphne["ms"]),
        "http_errors": daphne["http_errors"] + local["http_errors"],
        "daphne_ms": through,
        "in_process_ms": alone,
        "ratio_p50": round(through["p50"] / alone["p50"], 3) if alone.get("p50") else None,
        "daphne_cpu_ms_per_patch": round(1000 * daphne["cpu"] / max(1, len(daphne["ms"])), 3),
        "in_process_cpu_ms_per_patch": round(local["cpu_ms"] / max(1, len(local["ms"])), 3),
        **usage,
    }


def headline(result: dict) -> str:
    return (
        f"PATCH p50 {result['daphne_ms'].get('p50')} ms through Daphne, "
        f"{result['in_process_ms'].get('p50')} ms in-process: {result['ratio_p50']}x"
    )


def serve(lines, out) -> None:
    """The in-process side: each batch's PATCHes through Django's test client, timed."""
    from http.cookies import SimpleCookie

    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    count = 0
    for line in lines:
        request = json.loads(line)
        target = request["target"]
        client.cookies = SimpleCookie(target["cookie"])
        times, errors = [], 0
        cpu = time.process_time()
        for _ in range(request["count"]):
            count += 1
            body = json.dumps({target["field"]: f"in-process-{os.getpid()}-{count}"})
            started = time.perf_counter()
            response = client.patch(
                target["path"],
                body,
                content_type="application/json",
                headers={"X-CSRFToken": target["csrftoken"], "Accept": "application/json"},
            )
            if response.status_code == 200:
                times.append(1000 * (time.perf_counter() - started))
            else:
                errors += 1
        cpu_ms = 1000 * (time.process_time() - cpu)
        out.write(json.dumps({"ms": times, "cpu_ms": cpu_ms, "http_errors": errors}) + "\n")
        out.flush()


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
