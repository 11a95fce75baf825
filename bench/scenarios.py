"""The scenarios, each one function over a running target and a client (bench/README.md)."""

import time

from bench import profiling
from bench.clients import Client
from bench.config import Options
from bench.servers import Meter, Target, rss_bytes
from bench.stats import minus, summary


class Context:
    def __init__(self, options: Options, target: Target, client: Client, world: dict):
        self.options, self.target, self.client, self.world = options, target, client, world
        self._logins: dict[str, dict] = {}
        self._csrftoken: str | None = None

    def call(self, cmd: str, **arguments) -> dict:
        return self.client.call(cmd, **arguments)

    def login(self, username: str) -> dict:
        """A real REST login (CSRF cookie, then POST /api/auth/login), once per user and target."""
        if username not in self._logins:
            answer = self.call(
                "login", http=self.target.http, username=username, password=self.world["password"]
            )
            answer["cookie"] = f"sessionid={answer['sessionid']}; csrftoken={answer['csrftoken']}"
            self._logins[username] = answer
        return self._logins[username]

    def minted(self, session_key: str) -> dict:
        """Credentials from a session bench.seed wrote, with a CSRF cookie from the server."""
        if self._csrftoken is None:
            self._csrftoken = self.call("csrf", http=self.target.http)["csrftoken"]
        return {
            "cookie": f"sessionid={session_key}; csrftoken={self._csrftoken}",
            "csrftoken": self._csrftoken,
        }

    def open(self, sockets: list[dict], confirm: str = "all") -> dict:
        opened = self.call(
            "open", ws=self.target.ws, origin=self.target.origin, sockets=sockets, confirm=confirm
        )
        if opened["failed"]:
            self.call("close")
            raise RuntimeError(
                f"{opened['failed']} of {len(sockets)} sockets failed on {self.target.name}: "
                f"{opened['failures']}"
            )
        return opened

    def measure(self, cmd: str, profile: str | None = None, **arguments) -> tuple[dict, dict]:
        """`cmd`, with the server's and the client's CPU metered over it and, when profiles are
        asked for, our server profiled as `profile`: its answer, and the usage (with the profile
        under "profile")."""
        recorder = None
        if profile and self.options.profile and self.target.kind == "ours":
            recorder = profiling.Recorder(self.target, self.options, profile)
        meter = Meter(server=self.target.pid, client=self.client.pid)
        answer = self.call(cmd, **arguments)
        usage = meter.read()
        if recorder is not None:
            recorder.stop()
            usage["profile"] = recorder.result
        return answer, usage

    def full(self, value: bool) -> bool | None:
        """The representation a User socket expects; floors send one shape to everyone."""
        return value if self.target.kind == "ours" else None


# What a PATCH of each model changes: its path, and a field of its representation.
PATCHED = {"api.Foo": ("/api/foo/", "bar"), "api.User": ("/api/users/", "first_name")}


def patch_target(model: str, public_id: str, credentials: dict) -> dict:
    path, field = PATCHED[model]
    return {
        "model": model,
        "id": public_id,
        "path": f"{path}{public_id}",
        "cookie": credentials["cookie"],
        "csrftoken": credentials["csrftoken"],
        "field": field,
    }


def round_summary(rounds: dict) -> dict:
    return {
        "rounds": len(rounds["last"]),
        "timeouts": rounds["timeouts"],
        "http_errors": rounds["http_errors"],
        "round_ms": summary(minus(rounds["last"], rounds["resp"])),
        "first_ms": summary(minus(rounds["first"], rounds["resp"])),
        "round_from_send_ms": summary(rounds["last"]),
        "patch_ms": summary(rounds["resp"]),
    }


def latency(ctx: Context) -> dict:
    """1. One socket, one Foo: PATCH response -> UPDATE_FOO, sequential updates."""
    owner = ctx.login(ctx.world["owner"]["username"])
    foo = ctx.world["owner"]["foos"][0]
    ctx.open([{"cookie": owner["cookie"], "subs": [["api.Foo", foo]]}])
    target = patch_target("api.Foo", foo, owner)
    ctx.call("rounds", http=ctx.target.http, target=target, rounds=ctx.options.warmup)
    rounds, usage = ctx.measure(
        "rounds",
        http=ctx.target.http,
        target=target,
        rounds=ctx.options.latency_updates,
        pause=ctx.options.latency_pause_ms,
    )
    ctx.call("close")
    result = round_summary(rounds)
    return {
        "updates": result["rounds"],
        "timeouts": result["timeouts"],
        "http_errors": result["http_errors"],
        # Signed: the event leaves in the view's on_commit, so it can beat the HTTP response.
        "resp_to_event_ms": result["first_ms"],
        "send_to_event_ms": summary(rounds["first"]),
        "patch_ms": result["patch_ms"],
        **usage,
    }


def fanout(ctx: Context, kind: str, n: int) -> dict:
    """2. N sockets on one object: round time to the last socket, then deliveries/s with
    `inflight` updates outstanding. For issue 14, the Foo's largest N again with `goal_inflight`
    outstanding, and on ours the Foo's rounds again with unrelated requests meanwhile."""
    options = ctx.options
    obj, sockets, target = (foo_fanout if kind == "foo" else user_fanout)(ctx, n)
    opened = ctx.open(sockets)
    receivers = n if kind == "foo" else user_receivers(ctx, n, obj, target)
    ctx.call("rounds", http=ctx.target.http, target=target, rounds=options.warmup)
    largest = kind == "foo" and n == max(options.fanout_ns)
    measured = rounds_then_inflight(ctx, target, n, f"fanout-foo-{n}" if largest else None)
    if largest:
        measured["goal_throughput"] = in_flight(ctx, target, options.goal_inflight)
    if kind == "foo" and ctx.target.kind == "ours":
        measured["with_unrelated"] = with_unrelated(ctx, target, n)
    ctx.call("close")
    profile = measured["throughput"].pop("profile", None)
    return {
        "sockets": n,
        "receivers": receivers,
        "open_seconds": round(opened["seconds"], 3),
        **measured,
        **({"profile": profile} if profile is not None else {}),
    }


def rounds_then_inflight(ctx: Context, target: dict, n: int, profile: str | None = None) -> dict:
    """Scenario 2's two measurements of updates to `target` followed by `n` sockets: the round
    time to the last socket over sequential updates, then deliveries/s with `inflight` updates
    outstanding (the collection and cluster scenarios measure theirs the same way)."""
    rounds, usage = ctx.measure(
        "rounds", http=ctx.target.http, target=target, rounds=rounds_for(ctx.options, n)
    )
    return {
        **round_summary(rounds),
        **usage,
        "throughput": in_flight(ctx, target, ctx.options.inflight, profile),
    }


def rounds_for(options: Options, n: int) -> int:
    return options.fanout_rounds_large if n >= 1000 else options.fanout_rounds


def in_flight(ctx: Context, target: dict, depth: int, profile: str | None = None) -> dict:
    """Deliveries/s with `depth` updates of `target` outstanding, for `inflight_seconds`."""
    flight, usage = ctx.measure(
        "inflight",
        profile=profile,
        http=ctx.target.http,
        target=target,
        inflight=depth,
        seconds=ctx.options.inflight_seconds,
    )
    return {"inflight": depth, **throughput(flight), **usage}


def with_unrelated(ctx: Context, target: dict, n: int) -> dict:
    """The rounds again, with requests unrelated to them meanwhile: another user reading one of
    their own Foos (GET, their session, the view and the database) every `unrelated_every_ms`,
    on connections of their own, sent whether the previous ones were answered or not. How long
    someone else's request waits while the process fans out (issue 14's target 3)."""
    every = ctx.options.unrelated_every_ms
    reader = ctx.world["watchers"][0]
    path = f"{PATCHED['api.Foo'][0]}{reader['foos'][0]}"
    cookie = ctx.minted(reader["sessions"][0])["cookie"]
    rounds, usage = ctx.measure(
        "rounds",
        http=ctx.target.http,
        target=target,
        rounds=rounds_for(ctx.options, n),
        unrelated={"path": path, "cookie": cookie, "every": every},
    )
    unrelated = rounds["unrelated"]
    return {
        **round_summary(rounds),
        **usage,
        "unrelated": {
            "request": "GET of another user's Foo",
            "path": path,
            "every_ms": every,
            "requests": len(unrelated["times"]),
            "http_errors": unrelated["http_errors"],
            "response_ms": summary(unrelated["times"]),
        },
    }


def foo_fanout(ctx: Context, n: int) -> tuple[list, list[dict], dict]:
    """N sockets of the Foo's owner: (the object, the sockets, the PATCH target)."""
    owner = ctx.login(ctx.world["owner"]["username"])
    obj = ["api.Foo", ctx.world["owner"]["foos"][0]]
    sockets = [{"cookie": owner["cookie"], "subs": [obj]} for _ in range(n)]
    return obj, sockets, patch_target(*obj, owner)


def user_fanout(ctx: Context, n: int) -> tuple[list, list[dict], dict]:
    """The user themself (full representation), and N - 1 other users (restricted)."""
    star = ctx.login(ctx.world["star"]["username"])
    obj = ["api.User", ctx.world["star"]["id"]]
    sockets = [{"cookie": star["cookie"], "subs": [obj], "full": ctx.full(True)}]
    sockets += [
        {
            "cookie": ctx.minted(watcher["sessions"][0])["cookie"],
            "subs": [obj],
            "full": ctx.full(False),
        }
        for watcher in ctx.world["watchers"][: n - 1]
    ]
    return obj, sockets, patch_target(*obj, star)


def user_receivers(ctx: Context, n: int, obj: list, target: dict) -> int:
    """A first_name change is not in the restricted representation: whether its audience is sent
    anything is the server's choice, observed here and then expected of every round."""
    wait = ctx.options.probe_ms * (2 if n >= 1000 else 1)
    probe = ctx.call("probe", http=ctx.target.http, target=target, wait=wait)
    restricted = probe["by_full"].get("false", 0)
    receivers = n if restricted or ctx.target.kind != "ours" else 1
    ctx.call("expect", model=obj[0], id=obj[1], count=receivers)
    return receivers


def throughput(flight: dict) -> dict:
    seconds = flight["seconds"] or float("nan")
    return {
        "updates": flight["completed"],
        "deliveries": flight["deliveries"],
        "seconds": round(flight["seconds"], 3),
        "deliveries_per_s": round(flight["deliveries"] / seconds, 1),
        "updates_per_s": round(flight["completed"] / seconds, 1),
        "stalled": flight["stalled"],
        "http_errors": flight["http_errors"],
    }


def many(ctx: Context) -> dict:
    """3. Sockets following `subs_per_socket` of `many_foos` Foos each, updates at `many_rate`/s
    spread over the Foos: latency per delivery, server CPU."""
    options = ctx.options
    per_owner = options.subs_per_socket
    owners = ctx.world["watchers"][: options.many_foos // per_owner]
    sockets_per_owner = max(1, options.many_sockets // len(owners))
    sockets = [
        {
            "cookie": ctx.minted(owner["sessions"][index % 2])["cookie"],
            "subs": [["api.Foo", foo] for foo in owner["foos"][:per_owner]],
        }
        for owner in owners
        for index in range(sockets_per_owner)
    ]
    opened = ctx.open(sockets, confirm="last")
    targets = [
        patch_target("api.Foo", foo, ctx.minted(owner["sessions"][0]))
        for owner in owners
        for foo in owner["foos"][:per_owner]
    ]
    ctx.call("rounds", http=ctx.target.http, target=targets[0], rounds=options.warmup)
    result, usage = ctx.measure(
        "rate",
        profile="many",
        http=ctx.target.http,
        targets=targets,
        rate=options.many_rate,
        seconds=options.many_seconds,
        max_inflight=options.many_max_inflight,
    )
    ctx.call("close")
    return {
        "sockets": len(sockets),
        "foos": len(targets),
        "subscriptions": len(sockets) * per_owner,
        "open_seconds": round(opened["seconds"], 3),
        "rate": options.many_rate,
        "seconds": options.many_seconds,
        "achieved_rate": round(result["responded"] / result["send_seconds"], 1),
        **{key: result[key] for key in RATE_COUNTS},
        "lat_resp_ms": summary(result["lat_resp"]),
        "lat_send_ms": summary(result["lat_send"]),
        "patch_ms": summary(result["resp"]),
        **usage,
    }


RATE_COUNTS = (
    "sent",
    "skipped",
    "completed",
    "incomplete",
    "unanswered",
    "http_errors",
    "deliveries",
    "expected_deliveries",
)


def memory(ctx: Context) -> dict:
    """4. RSS of a fresh server before and after `memory_sockets` idle authenticated sockets,
    each following `subs_per_socket` Foos."""
    options, world = ctx.options, ctx.world
    owner = ctx.login(world["owner"]["username"])
    foo = world["owner"]["foos"][0]
    # Warm: the first socket, subscription and update import and cache what every later one uses.
    ctx.open([{"cookie": owner["cookie"], "subs": [["api.Foo", foo]]}])
    ctx.call("rounds", http=ctx.target.http, target=patch_target("api.Foo", foo, owner), rounds=2)
    ctx.call("close")
    time.sleep(options.memory_settle_seconds / 2)
    before = rss_bytes(ctx.target.pid)
    sockets = []
    for index in range(options.memory_sockets):
        watcher = world["watchers"][index // 2]
        sockets.append(
            {
                "cookie": ctx.minted(watcher["sessions"][index % 2])["cookie"],
                "subs": [["api.Foo", foo] for foo in watcher["foos"][: options.subs_per_socket]],
            }
        )
    opened = ctx.open(sockets, confirm="last")
    time.sleep(options.memory_settle_seconds)  # idle
    after = rss_bytes(ctx.target.pid)
    ctx.call("close")
    return {
        "sockets": opened["opened"],
        "subscriptions_per_socket": options.subs_per_socket,
        "open_seconds": round(opened["seconds"], 3),
        "rss_before_bytes": before,
        "rss_after_bytes": after,
        "bytes_per_socket": round((after - before) / opened["opened"]),
    }
