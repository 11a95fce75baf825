"""The load client, a process of its own, driven one command at a time.

The client is bench/client/client.mjs (Node + `ws`: the load must cost the client far less than
the server), the one that produces the published numbers; the smoke test drives it too.

Protocol: one JSON object per line on the client's stdin, one answer per line on its stdout,
`{"ok": true, ...}` or `{"ok": false, "error": "..."}`. Times are milliseconds.

- `csrf {http}` -> `{csrftoken}`
- `login {http, username, password}` -> `{sessionid, csrftoken, user}` (GET /api/auth/csrf, then
  POST /api/auth/login with X-CSRFToken)
- `open {ws, origin, sockets: [{cookie, subs: [[model, id], ...], full, reconnect}], concurrency,
  confirm, batch}` -> `{opened, failed, handshake_failed, failures, seconds, by_server}`,
  `concurrency` sockets connecting and subscribing at a time. Each socket sends its
  subscriptions (an id of null: the model's collection), one message each or, with `batch`, all
  in one `{"subscribe": [...]}`; `confirm: "all"` gives each a request_id and waits for every
  SUBSCRIBED, `"last"` only for the last one (a socket handles its messages in order).
  `handshake_failed` counts the sockets that failed before the handshake completed. `full`
  (true/false/null) is the User representation the socket must receive: with or without
  `email`; a mismatch counts in `wrong_representation`. `by_server` counts the sockets by the
  process behind the load balancer that holds them (its X-Served-By; "null" without one).
  With `reconnect: {ws, origin}`, a socket the server closes connects there again with the JS
  client's backoff and subscribes again to all it held (bench/client/reconnect.mjs).
- `resynced {expected, timeout}`: waits until `expected` sockets have been lost and each has
  subscribed again -> `{lost, resynced, complete, seconds, durations, attempts, failed_attempts,
  by_server, failures}`, `seconds` from the first loss to the last resync.
- `rounds {http, target, rounds, timeout, pause, unrelated}`: sequential PATCHes of one object,
  each waiting for its event on every subscribed socket -> `{expected, resp: [], first: [],
  last: [], timeouts, http_errors, version_mismatch}`, all from the PATCH's send. With
  `unrelated: {path, cookie, every}`, a GET of `path` every `every` ms meanwhile, on connections
  of their own, answered or not -> also `unrelated: {times: [], http_errors}`.
- `patches {http, target, count}`: sequential PATCHes, each awaited but nothing else -> `{resp: [],
  http_errors}`.
- `inflight {http, target, inflight, seconds, timeout}`: `inflight` PATCHes outstanding until every
  socket has the event (completions counted from deliveries, not matched by version; a failed
  PATCH is replaced and counted) -> `{expected, updates, completed, deliveries, seconds, stalled,
  http_errors}`.
- `rate {http, targets, rate, seconds, drain, max_inflight}`: open-loop PATCHes at `rate`/s over
  the targets -> `{sent, responded, completed, deliveries, expected_deliveries, resp, lat_resp,
  lat_send, send_seconds, seconds, incomplete, unanswered, skipped, http_errors}`; `lat_*` per
  delivery, from the PATCH's response / send.
- `probe {http, target, wait}`: one PATCH, then `wait` ms -> `{status, by_full}`: deliveries by the
  `full` flag of the receiving socket ("true", "false", "null").
- `expect {model, id, count}`: each update of the object is complete at `count` deliveries (by
  default, the number of sockets subscribed to it).
- `counters` -> `{messages, errors, error_samples, wrong_representation, over_delivered,
  unexpected, closed, sockets}`; `over_delivered` counts events beyond the sockets an update goes
  to: two updates that carried the same version; `close` -> `{closed}`; `quit`.

A target is `{model, id, path, cookie, csrftoken, field, method}`: PATCH (or `method`, a
create's POST, without `id`) `path` with `{field: <unique>}`. An update is matched to its events
(UPDATE_ or CREATE_) by (model, public id, version): the id and version are in the response
(Foo), or the version is predicted from the last seen (User, whose representation has none). An
update's events go to the sockets subscribed to the object and those following its collection.
"""

import contextlib
import json
import subprocess
import threading
from pathlib import Path

from bench.config import BENCH_DIR, ROOT
from bench.servers import cpu_seconds
from harness.processes import environment

NODE_CLIENT = BENCH_DIR / "client" / "client.mjs"


class ClientError(RuntimeError):
    pass


class Client:
    def __init__(self, log_path: Path):
        if not (BENCH_DIR / "client" / "node_modules" / "ws").is_dir():
            raise ClientError("bench/client has no node_modules: run `make bench-client`.")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "ab")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            ["node", str(NODE_CLIENT)],
            cwd=ROOT,
            env=environment(traced=False),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def call(self, cmd: str, **arguments) -> dict:
        with self.lock:
            self.process.stdin.write(json.dumps({"cmd": cmd, **arguments}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise ClientError(f"the client exited during `{cmd}` (see its log)")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise ClientError(f"`{cmd}` failed in the client: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ClientError, OSError):
                self.call("quit")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
