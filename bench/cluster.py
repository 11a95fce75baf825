"""7. The cluster (issue 12): the production shape, measured on one machine.

HAProxy with the committed deploy/haproxy.cfg in front of three Daphne web processes (the
Procfile's `--proxy-headers`), on the bench's PostgreSQL database and on a redis-server of the
scenario's own, so that its `INFO commandstats` counts the cluster's commands and no one else's.
Three measurements, in this order:

- Redis commands per change at each of `commands_ns` sockets on one Foo (the owner's), spread
  by the load balancer: `commands_rounds` sequential PATCHes, less what the idle cluster sends
  meanwhile (each hub's watch, the health checks), measured over `commands_idle_seconds` just
  before. The goal: proportional to the web processes, not to the sockets.
- The fan-out at `cluster_sockets` sockets (the same sockets): round time and deliveries/s, as
  scenario 2 measures one process.
- The reconnect storm: `storm_sockets` sockets with `subs_per_socket` subscriptions each, opened
  on web1 directly, reconnect through the load balancer when web1 is killed (SIGKILL), with the
  JS client's backoff, and subscribe again (their snapshots are the resync). Meanwhile other
  sockets on web2 and web3 receive PATCHes at `storm_rate`/s: their latency, before the kill and
  during the storm. The database's work is read from `pg_stat_database` (transactions, rows):
  reads run in autocommit, one statement per transaction, so transactions count queries; the
  PATCH load's share, measured before the kill at the same rate, is taken off.
"""

import math
import threading
import time
from collections import Counter

from bench.config import Options
from bench.scenarios import Context, patch_target, rounds_then_inflight
from bench.servers import Meter, backend_env
from bench.stats import summary
from harness.cluster import HAProxy, RedisServer
from harness.processes import Server, daphne_command, free_port

WEB_PROCESSES = 3


class Web(Server):
    """A web process of the cluster: Daphne with the Procfile's `--proxy-headers`."""

    def __init__(self, number: int, env: dict, log_dir):
        self.port = free_port()
        command = daphne_command(self.port, "--proxy-headers")
        super().__init__(
            f"web{number}", command, env, self.port, log_dir / f"cluster-web{number}.log"
        )


class Cluster:
    """The processes of the cluster, up when constructed, and where clients reach them. No job
    worker: the benchmark starts no job."""

    kind = "cluster"
    name = "cluster/postgres-redis"

    def __init__(self, options: Options, log_dir):
        self.webs: list[Web] = []
        self.lb = None
        self.redis = RedisServer()
        env = backend_env("postgres-redis", options) | {"REDIS_URL": self.redis.url}
        try:
            for number in range(1, WEB_PROCESSES + 1):
                web = Web(number, env, log_dir)
                web.start()
                self.webs.append(web)
            self.lb = HAProxy([web.port for web in self.webs])
        except BaseException:
            self.stop()
            raise

    @property
    def http(self) -> str:
        return self.lb.url

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.lb.port}/ws/notifications/"

    @property
    def origin(self) -> str:
        return self.lb.url

    def stop(self) -> None:
        if self.lb is not None:
            self.lb.stop()
        for web in self.webs:
            web.stop()
        self.redis.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class ClusterContext(Context):
    """The scenarios' context, its server CPU the sum of the `metered` web processes' (each also
    apart, as `web<n>_cpu_pct`): all of them, but the one the storm kills."""

    def __init__(self, options: Options, target: Cluster, client, world: dict):
        super().__init__(options, target, client, world)
        self.metered = target.webs

    def measure(self, cmd: str, profile: str | None = None, **arguments) -> tuple[dict, dict]:
        webs = {web.name: web.process.pid for web in self.metered}
        meter = Meter(client=self.client.pid, **webs)
        answer = self.call(cmd, **arguments)
        usage = meter.read()
        usage["server_cpu_pct"] = round(sum(usage[f"{name}_cpu_pct"] for name in webs), 1)
        return answer, usage

    def open_on(self, ws: str, origin: str, sockets: list[dict]) -> dict:
        """Opens sockets at `ws` (a process directly, or the load balancer)."""
        opened = self.call("open", ws=ws, origin=origin, sockets=sockets, confirm="last")
        if opened["failed"]:
            self.call("close")
            raise RuntimeError(
                f"{opened['failed']} of {len(sockets)} sockets failed at {ws}: {opened['failures']}"
            )
        return opened


def cluster(ctx: ClusterContext) -> dict:
    """Commands per change as sockets are added, the fan-out at `cluster_sockets`, then the
    reconnect storm (the storm kills web1: it comes last)."""
    options = ctx.options
    owner = ctx.login(ctx.world["owner"]["username"])
    obj = ["api.Foo", ctx.world["owner"]["foos"][0]]
    target = patch_target(*obj, owner)
    redis = ctx.target.redis.client()
    result: dict = {
        "web_processes": WEB_PROCESSES,
        "commands": {},
        "by_server": {},
        # Seconds waited for HAProxy to hold every process up again, before each phase.
        "lb_waits": {},
    }
    held = 0
    placed: Counter = Counter()
    for n in sorted({*options.commands_ns, options.cluster_sockets}):
        opened = ctx.open([{"cookie": owner["cookie"], "subs": [obj]}] * (n - held))
        placed.update(opened["by_server"])
        held = n
        result["by_server"][str(n)] = dict(sorted(placed.items()))
        result["lb_waits"][f"N={n}"] = ctx.target.lb.wait_in_rotation()
        ctx.call("rounds", http=ctx.target.http, target=target, rounds=options.warmup)
        if n in options.commands_ns:
            result["commands"][str(n)] = commands_per_change(ctx, redis, target)
            result["commands"][str(n)]["by_server"] = dict(sorted(placed.items()))
        if n == options.cluster_sockets:
            result["fanout"] = fanout(ctx, target, n)
    ctx.call("close")
    redis.close()
    result["lb_waits"]["storm"] = ctx.target.lb.wait_in_rotation()
    result["storm"] = storm(ctx)
    return result


def command_calls(redis) -> Counter:
    """Calls of each command since the server started, but INFO's own."""
    return Counter(
        {
            name.removeprefix("cmdstat_"): stats["calls"]
            for name, stats in redis.info("commandstats").items()
            if name != "cmdstat_info"
        }
    )


def commands_per_change(ctx: ClusterContext, redis, target: dict) -> dict:
    options = ctx.options
    before = command_calls(redis)
    time.sleep(options.commands_idle_seconds)
    idle = command_calls(redis)
    idle.subtract(before)
    started = time.monotonic()
    rounds = ctx.call("rounds", http=ctx.target.http, target=target, rounds=options.commands_rounds)
    seconds = time.monotonic() - started
    total = command_calls(redis)
    total.subtract(idle + before)
    changes = len(rounds["last"]) or math.nan
    scale = seconds / options.commands_idle_seconds
    net = {
        name: round((total[name] - idle[name] * scale) / changes, 2)
        for name in sorted(total.keys() | idle.keys())
        if total[name] or idle[name]
    }
    return {
        "changes": len(rounds["last"]),
        "timeouts": rounds["timeouts"],
        "seconds": round(seconds, 3),
        "raw_per_change": round(sum(total.values()) / changes, 2),
        "idle_per_second": round(sum(idle.values()) / options.commands_idle_seconds, 2),
        "per_change": round(sum(net.values()), 2),
        "by_command": {name: value for name, value in net.items() if abs(value) >= 0.25},
    }


def fanout(ctx: ClusterContext, target: dict, n: int) -> dict:
    """Scenario 2's measurement, through the load balancer."""
    return {"sockets": n, **rounds_then_inflight(ctx, target, n)}


def database_counters(database_url: str) -> Counter:
    """The bench database's transactions and rows so far (pg_stat_database)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT xact_commit + xact_rollback, tup_returned, tup_fetched, tup_inserted, "
            "tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    names = ("transactions", "rows_returned", "rows_fetched", "inserted", "updated", "deleted")
    return Counter(dict(zip(names, row, strict=True)))


def storm_sockets(ctx: ClusterContext) -> tuple[list[dict], list[dict], list[dict]]:
    """The sockets web1 holds (reconnecting through the load balancer), the other clients'
    sockets, and the PATCH targets of the load on the other clients' Foos."""
    options, watchers = ctx.options, ctx.world["watchers"]
    subs = options.subs_per_socket
    users = math.ceil(options.storm_sockets / options.storm_per_user)
    others = watchers[
        users : users + math.ceil(options.storm_others / options.storm_others_per_user)
    ]
    reconnect = {"ws": ctx.target.ws, "origin": ctx.target.origin}
    held = [
        {
            "cookie": ctx.minted(user["sessions"][index % 2])["cookie"],
            "subs": [["api.Foo", foo] for foo in user["foos"][:subs]],
            "reconnect": reconnect,
        }
        for index in range(options.storm_sockets)
        for user in [watchers[index // options.storm_per_user]]
    ]
    other = [
        {
            "cookie": ctx.minted(user["sessions"][index % 2])["cookie"],
            "subs": [["api.Foo", foo] for foo in user["foos"][:subs]],
        }
        for index in range(options.storm_others)
        for user in [others[index // options.storm_others_per_user]]
    ]
    targets = [
        patch_target("api.Foo", foo, ctx.minted(user["sessions"][0]))
        for user in others
        for foo in user["foos"][:subs]
    ]
    return held, other, targets


def storm(ctx: ClusterContext) -> dict:
    options = ctx.options
    victim, *survivors = ctx.target.webs
    held, other, targets = storm_sockets(ctx)
    ctx.metered = survivors
    direct = {
        web.name: (f"ws://127.0.0.1:{web.port}/ws/notifications/", web.url)
        for web in ctx.target.webs
    }
    opened = ctx.open_on(*direct[victim.name], held)
    for index, web in enumerate(survivors):
        ctx.open_on(*direct[web.name], other[index :: len(survivors)])
    load = {
        "http": ctx.target.http,
        "targets": targets,
        "rate": options.storm_rate,
        "max_inflight": options.many_max_inflight,
    }
    time.sleep(options.stats_settle_seconds)
    start = database_counters(options.database_url)
    before, before_usage = ctx.measure("rate", seconds=options.storm_baseline_seconds, **load)
    time.sleep(options.stats_settle_seconds)
    baseline = database_counters(options.database_url)
    during = kill_under_load(ctx, victim, load)
    resync = ctx.call("resynced", expected=len(held), timeout=1000 * options.storm_timeout_seconds)
    ctx.call("close")
    time.sleep(options.stats_settle_seconds)
    end = database_counters(options.database_url)
    load_share = options.storm_seconds / options.storm_baseline_seconds
    spent = database_spent(start, baseline, end, load_share)
    durations = resync.pop("durations")
    if resync["seconds"] is not None:
        resync["seconds"] = round(resync["seconds"], 3)
    return {
        "sockets": opened["opened"],
        "subscriptions": opened["opened"] * options.subs_per_socket,
        "other_sockets": len(other),
        "resync": {**resync, "per_socket_ms": summary(durations)},
        "database": {
            **spent,
            "transactions_per_socket": round(spent["transactions"] / max(1, len(held)), 2),
        },
        "load_before": rate_summary(before, before_usage),
        "load_during": rate_summary(during["result"], during["usage"]),
    }


def kill_under_load(ctx: ClusterContext, victim, load: dict) -> dict:
    """Kills `victim` while the load runs (started a moment before); the load's result and
    usage, once it ends."""
    during: dict = {}

    def run_load():
        during["result"], during["usage"] = ctx.measure(
            "rate", seconds=ctx.options.storm_seconds, **load
        )

    thread = threading.Thread(target=run_load)
    thread.start()
    time.sleep(min(1.0, ctx.options.storm_seconds / 4))  # the load runs before the kill
    victim.process.kill()
    victim.process.wait()
    thread.join()
    return during


def database_spent(start: dict, baseline: dict, end: dict, load_share: float) -> dict:
    """The database's counters from `baseline` to `end`, less what the load alone spent (its
    rate from `start` to `baseline`, scaled by `load_share`): what the storm cost."""
    return {
        name: round(end[name] - baseline[name] - (baseline[name] - start[name]) * load_share)
        for name in end
    }


def rate_summary(result: dict, usage: dict) -> dict:
    return {
        "achieved_rate": round(result["responded"] / result["send_seconds"], 1),
        "completed": result["completed"],
        "incomplete": result["incomplete"],
        "http_errors": result["http_errors"],
        "deliveries": result["deliveries"],
        "lat_send_ms": summary(result["lat_send"]),
        **usage,
    }
