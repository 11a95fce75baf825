"""`make bench`: runs the scenarios on each backend and floor, prints the table, writes the JSON,
the report and the plot (bench/README.md).

    python -m bench.run [--quick] [--backends sqlite-memory] ...
"""

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from bench import config, connects, goals, report, request_path, scenarios, servers
from bench.clients import Client
from bench.cluster import Cluster, ClusterContext, cluster
from bench.collection import collection
from bench.paired import headline, paired

STARTED = time.monotonic()


class Scenario(NamedTuple):
    """A scenario of a module of its own: on which kinds of target it runs, and on a fresh
    server of its own or on the one the other scenarios share."""

    measure: Callable[[scenarios.Context], dict]
    headline: Callable[[dict], str]
    kinds: frozenset = frozenset({"ours"})
    fresh: bool = False


MODULES = {
    "request_path": Scenario(request_path.measure, request_path.headline),
    "connect": Scenario(
        connects.connect, connects.connect_headline, kinds=frozenset({"ours", "floor"})
    ),
    # As after a deploy: every socket arrives at a process that has none.
    "storm": Scenario(connects.storm, connects.storm_headline, fresh=True),
}


def log(message: str) -> None:
    print(f"{time.monotonic() - STARTED:7.1f}s {message}", file=sys.stderr, flush=True)


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in (
        "django",
        "channels",
        "channels-redis",
        "daphne",
        "autobahn",
        "twisted",
        "websockets",
    ):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    try:
        found["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found["node"] = None
    return found


def git_state() -> dict:
    def git(*args) -> str:
        result = subprocess.run(["git", *args], cwd=config.ROOT, capture_output=True, text=True)
        return result.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def synthetic_world(options: config.Options) -> dict:
    """Ids and sessions for the floors when no backend ran: they accept any."""
    watchers = [
        {
            "username": f"w{index:05d}",
            "id": f"u{index}",
            "sessions": [f"s{index}a", f"s{index}b"],
            "foos": [f"f{index}x{n}" for n in range(options.subs_per_socket)],
        }
        for index in range(options.watchers)
    ]
    person = {"sessions": ["floor", "floor"], "foos": ["f-main"]}
    return {
        "password": "floor",
        "owner": {"username": "bench_owner", "id": "owner", **person},
        "star": {"username": "bench_star", "id": "star", **person},
        "watchers": watchers,
    }


def logged_errors(log_dir: Path) -> dict[str, dict]:
    """The ERROR lines of each server's log (Daphne's "Exception inside application", Django's
    500s, the hub's failures), by log file: their number and up to three distinct messages. A
    run whose servers failed sockets or requests is not clean, whatever its figures say: the
    connect and storm scenarios' disconnects failed by the hundred, unseen, until these were
    read (`realtime.layers.RedisChannelLayer.create_pool` says why)."""
    found = {}
    for path in sorted(log_dir.glob("*.log")):
        if path.name.startswith("client-"):
            continue
        lines = path.read_text(errors="replace").splitlines()
        messages = [line.split(" ERROR ", 1)[1] for line in lines if " ERROR " in line]
        if messages:
            found[path.name] = {"count": len(messages), "first": sorted(set(messages))[:3]}
    return found


class Runner:
    def __init__(self, options: config.Options):
        self.options = options
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_dir = Path(options.out_dir) / f"logs-{self.stamp}"
        self.errors: list[dict] = []

    def attempt(self, where: str, function, *args):
        """Runs one scenario; a failure is recorded and the run goes on with the next."""
        try:
            return function(*args)
        except Exception as error:
            log(f"  FAILED {where}: {error}")
            self.errors.append(
                {"where": where, "error": str(error), "trace": traceback.format_exc()}
            )
            return None

    def run_target(self, target: servers.Target, world: dict) -> dict:
        options = self.options
        result: dict = {"kind": target.kind, "layer": target.layer}
        slug = target.name.replace("/", "-")
        with Client(self.log_dir / f"client-{slug}.log") as client:
            live = [
                s
                for s in ("latency", "fanout_foo", "fanout_user", "many")
                if s in options.scenarios
            ]
            # Ours alone: collections, and the fan-out paired with the floor's.
            live += [
                name
                for name in ("fanout_paired", "collection")
                if name in options.scenarios and target.kind == "ours"
            ]
            shared, fresh = self.module_scenarios(target)
            if live or shared:
                log(f"[{target.name}] starting")
                with target:
                    context = scenarios.Context(options, target, client, world)
                    self.live_scenarios(target, context, live, result)
                    if "fanout_paired" in live:
                        self.paired(context, result)
                    self.run_modules(context, shared, result)
                    if "collection" in live:
                        self.collection(target, context, result)
                    if "memory" in options.scenarios and not options.memory_fresh_server:
                        self.memory(target, context, result)
            for name in fresh:
                log(f"[{target.name}] {name}: fresh server")
                with target:
                    context = scenarios.Context(options, target, client, world)
                    self.run_modules(context, [name], result)
            if "memory" in options.scenarios and options.memory_fresh_server:
                log(f"[{target.name}] memory: fresh server, {options.memory_sockets} sockets")
                with target:
                    context = scenarios.Context(options, target, client, world)
                    self.memory(target, context, result)
            result["client_counters"] = client.call("counters")
        return result

    def module_scenarios(self, target: servers.Target) -> tuple[list[str], list[str]]:
        """The asked-for MODULES scenarios that run on `target`: on the shared server, fresh."""
        names = [
            name
            for name, scenario in MODULES.items()
            if name in self.options.scenarios and target.kind in scenario.kinds
        ]
        return (
            [name for name in names if not MODULES[name].fresh],
            [name for name in names if MODULES[name].fresh],
        )

    def run_modules(self, context, names: list[str], result: dict) -> None:
        for name in names:
            scenario = MODULES[name]
            found = self.attempt(f"{context.target.name} {name}", scenario.measure, context)
            if found is None:
                self.reset(context)
            else:
                result[name] = found
                log(f"  {name}: {scenario.headline(found)}")

    def memory(self, target, context, result: dict) -> None:
        memory = self.attempt(f"{target.name} memory", scenarios.memory, context)
        if memory is not None:
            result["memory"] = memory
            log(f"  memory: {memory['bytes_per_socket'] / 1024:.1f} KiB per socket")

    def live_scenarios(self, target, context, live: list[str], result: dict) -> None:
        where = target.name
        if "latency" in live:
            latency = self.attempt(f"{where} latency", scenarios.latency, context)
            if latency is not None:
                result["latency"] = latency
                log(
                    f"  latency: p50 {latency['resp_to_event_ms'].get('p50')} ms, p99 "
                    f"{latency['resp_to_event_ms'].get('p99')} ms from the PATCH response"
                )
        for kind in ("foo", "user"):
            if f"fanout_{kind}" not in live:
                continue
            series = result[f"fanout_{kind}"] = {}
            for n in self.options.fanout_ns:
                fanout = self.attempt(
                    f"{where} fanout_{kind} N={n}", scenarios.fanout, context, kind, n
                )
                if fanout is None:
                    self.reset(context)
                    continue
                series[str(n)] = fanout
                log(
                    f"  fan-out {kind} N={n}: round p50 {fanout['round_ms'].get('p50')} ms, p99 "
                    f"{fanout['round_ms'].get('p99')} ms; "
                    f"{fanout['throughput']['deliveries_per_s']:.0f} deliveries/s "
                    f"(server {fanout['throughput']['server_cpu_pct']}% CPU, client "
                    f"{fanout['throughput']['client_cpu_pct']}%)"
                )
        if "many" in live:
            many = self.attempt(f"{where} many", scenarios.many, context)
            if many is None:
                self.reset(context)
            else:
                result["many"] = many
                p99 = many["lat_resp_ms"].get("p99")
                log(
                    f"  many: {many['achieved_rate']} updates/s, p99 {p99} ms, "
                    f"server {many['server_cpu_pct']}% CPU"
                )

    def paired(self, context, result: dict) -> None:
        """Target 2's figures: the Daphne fan-out floor started beside our server, and both
        measured in alternating blocks (bench/paired.py)."""

        def run():
            floor = servers.floor_fanout(self.options, self.log_dir)
            slug = context.target.name.replace("/", "-")
            with Client(self.log_dir / f"client-paired-{slug}.log") as client, floor:
                floor_context = scenarios.Context(self.options, floor, client, context.world)
                return paired(context, floor_context)

        found = self.attempt(f"{context.target.name} fanout_paired", run)
        if found is None:
            self.reset(context)
        else:
            result["fanout_paired"] = found
            log(f"  fanout_paired: {headline(found)}")

    def collection(self, target, context, result: dict) -> None:
        n = self.options.collection_sockets
        found = self.attempt(f"{target.name} collection N={n}", collection, context, n)
        if found is None:
            self.reset(context)
            return
        result["collection"] = {str(n): found}
        log(
            f"  collection N={n}: round p50 {found['round_from_send_ms'].get('p50')} ms, p99 "
            f"{found['round_from_send_ms'].get('p99')} ms from send; "
            f"{found['throughput']['deliveries_per_s']:.0f} deliveries/s"
        )

    def run_cluster(self, world: dict) -> dict | None:
        options = self.options
        log(
            f"[cluster] 3 web processes behind HAProxy: Redis commands at N = "
            f"{options.commands_ns}, fan-out N={options.cluster_sockets}, reconnect storm of "
            f"{options.storm_sockets} sockets"
        )

        def run():
            with (
                Client(self.log_dir / "client-cluster.log") as client,
                Cluster(options, self.log_dir) as target,
            ):
                result = cluster(ClusterContext(options, target, client, world))
                result["client_counters"] = client.call("counters")
            return result

        result = self.attempt("cluster", run)
        if result is not None:
            for n, commands in result["commands"].items():
                log(f"  Redis commands per change, N={n}: {commands['per_change']}")
            fanout, storm = result["fanout"], result["storm"]
            log(
                f"  fan-out N={fanout['sockets']}: round p50 {fanout['round_ms'].get('p50')} ms; "
                f"{fanout['throughput']['deliveries_per_s']:.0f} deliveries/s"
            )
            log(
                f"  storm: {storm['resync']['resynced']} of {storm['sockets']} sockets resynced in "
                f"{storm['resync']['seconds']} s, {storm['database']['transactions']} "
                f"transactions; others' p99 {storm['load_during']['lat_send_ms'].get('p99')} ms"
            )
        return result

    def reset(self, context) -> None:
        with contextlib.suppress(Exception):  # the failure itself is already recorded
            context.call("close")

    def run_cost(self, backend: str, world_path: Path) -> dict | None:
        options = self.options
        log(f"[ours/{backend}] cost per change, N = {options.cost_ns}")

        def run():
            completed = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.cost",
                    "--world",
                    str(world_path),
                    "--ns",
                    ",".join(map(str, options.cost_ns)),
                ],
                cwd=config.ROOT,
                env=servers.backend_env(backend, options),
                capture_output=True,
                text=True,
            )
            if completed.returncode:
                raise RuntimeError(f"bench.cost failed: {completed.stderr.strip()[-2000:]}")
            return json.loads(completed.stdout)

        return self.attempt(f"ours/{backend} cost", run)

    def floor_targets(self, floor: str) -> list:
        """The servers of one floor: the bare websockets server, the Daphne local fan-out floor,
        or a Channels server on each channel layer the backends run on."""
        options = self.options
        if floor == "floor-websockets":
            return [servers.floor_websockets(options, self.log_dir)]
        if floor == "floor-fanout":
            return [servers.floor_fanout(options, self.log_dir)]
        layers = {"memory" if b == "sqlite-memory" else "redis" for b in options.backends}
        targets = []
        for layer in sorted(layers or {"memory"}):
            if layer == "redis":
                servers.flush_redis(options.redis_url)
            targets.append(servers.floor_channels(layer, options, self.log_dir))
        return targets

    def run(self) -> dict:
        options = self.options
        self.log_dir.mkdir(parents=True, exist_ok=True)
        results: dict = {
            "meta": {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "options": options.to_json(),
                "versions": versions(),
                "git": git_state(),
                "cpus": os.cpu_count(),
                "loadavg_start": os.getloadavg(),
                "logs": str(self.log_dir),
            },
            "targets": {},
            "cost": {},
        }
        world = None
        for backend in options.backends:
            log(f"[ours/{backend}] preparing storage and seeding {options.watchers} users")
            fresh = servers.prepare_storage(backend, options)
            world = servers.seed_world(backend, options, fresh)
            world_path = self.log_dir / f"world-{backend}.json"
            world_path.write_text(json.dumps(world))
            target = servers.ours(backend, options, self.log_dir)
            results["targets"][target.name] = self.run_target(target, world)
            if "cost" in options.scenarios:
                cost = self.run_cost(backend, world_path)
                if cost is not None:
                    results["cost"][backend] = cost
            # The cluster runs once, on PostgreSQL with a Redis of its own.
            if "cluster" in options.scenarios and backend == "postgres-redis":
                found = self.run_cluster(world)
                if found is not None:
                    results["cluster"] = found
        world = world or synthetic_world(options)
        for floor in options.floors:
            for target in self.floor_targets(floor):
                results["targets"][target.name] = self.run_target(target, world)
        results["goals"] = [goal.to_json() for goal in goals.collect(results)]
        results["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        results["meta"]["loadavg_end"] = os.getloadavg()
        results["errors"] = self.errors
        results["server_errors"] = logged_errors(self.log_dir)
        return results


def main(argv=None) -> int:
    options = config.parse(argv)
    runner = Runner(options)
    results = runner.run()
    paths = report.write(results, options, runner.stamp)
    print(report.markdown(results))
    log("Wrote " + ", ".join(str(path) for path in paths))
    for name, errors in results["server_errors"].items():
        log(f"{name}: {errors['count']} ERROR line(s) logged, in {runner.log_dir}")
    if runner.errors:
        log(
            f"{len(runner.errors)} scenario(s) failed: "
            + "; ".join(e["where"] for e in runner.errors)
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
