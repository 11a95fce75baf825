"""The benchmark's options: sizes of the full run, of the quick one, and what the environment or
the command line changes (bench/README.md lists them)."""

import argparse
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

BACKENDS = ("sqlite-memory", "postgres-redis", "postgres-redis-pubsub")
FLOORS = ("floor-websockets", "floor-channels", "floor-fanout")
SCENARIOS = (
    "latency",
    "fanout_foo",
    "fanout_paired",
    "fanout_user",
    "many",
    "memory",
    "cost",
    "request_path",
    "connect",
    "storm",
    "collection",
    "cluster",
)


def cli(variable: str | None = None) -> dict:
    """The metadata of a field that `--<its name>` sets, and the BENCH_* `variable` too (the
    command line wins)."""
    return {"variable": variable}


@dataclass
class Options:
    quick: bool = False
    backends: list[str] = field(
        default_factory=lambda: ["sqlite-memory", "postgres-redis"], metadata=cli("BENCH_BACKENDS")
    )
    floors: list[str] = field(default_factory=lambda: list(FLOORS), metadata=cli("BENCH_FLOORS"))
    scenarios: list[str] = field(
        default_factory=lambda: list(SCENARIOS), metadata=cli("BENCH_SCENARIOS")
    )
    # 1. latency of one update
    latency_updates: int = field(default=200, metadata=cli("BENCH_UPDATES"))
    latency_pause_ms: int = 5
    # 2. fan-out
    fanout_ns: list[int] = field(default_factory=lambda: [1, 100, 1000], metadata=cli("BENCH_NS"))
    fanout_rounds: int = field(default=200, metadata=cli("BENCH_ROUNDS"))
    fanout_rounds_large: int = 100  # for N >= 1000, whose rounds take longest
    inflight: int = 20
    inflight_seconds: float = field(default=5.0, metadata=cli("BENCH_INFLIGHT_SECONDS"))
    # Issue 14's target 2 compares deliveries/s with 10 PATCHes in flight: the Foo's largest N
    # is measured at that depth too (the tables' other figures keep `inflight`).
    goal_inflight: int = 10
    # Issue 14's target 3: during a second series of the Foo's rounds, another user's GET of
    # their own Foo every this many ms, unrelated to the rounds (ours only).
    unrelated_every_ms: int = 20
    # 3. many objects
    many_foos: int = field(default=1000, metadata=cli("BENCH_MANY_FOOS"))
    many_sockets: int = field(default=1000, metadata=cli("BENCH_MANY_SOCKETS"))
    subs_per_socket: int = 10
    many_rate: float = field(default=200.0, metadata=cli("BENCH_RATE"))
    many_seconds: float = field(default=30.0, metadata=cli("BENCH_DURATION"))
    # Open loop, but bounded: past this many unanswered PATCHes an update is skipped (counted),
    # so a server that cannot keep up is reported as such instead of drowned.
    many_max_inflight: int = field(default=50, metadata=cli())
    # 4. memory
    memory_sockets: int = field(default=2000, metadata=cli("BENCH_MEMORY_SOCKETS"))
    # Idle time before and after opening the sockets.
    memory_settle_seconds: float = field(default=2.0, metadata=cli())
    # A server of its own, so that earlier scenarios' garbage does not hide the sockets' cost.
    memory_fresh_server: bool = True
    # 5. cost per change
    cost_ns: list[int] = field(default_factory=lambda: [1, 50, 500], metadata=cli("BENCH_COST_NS"))
    # request path (bench/request_path.py): PATCHes through Daphne, and as many in-process.
    request_path_patches: int = field(default=500, metadata=cli())
    # connects (bench/connects.py): sockets opened one after the other; the storm (one process,
    # `storm_concurrency` connecting at a time; the cluster's kills one process holding as many).
    connect_sockets: int = field(default=200, metadata=cli())
    storm_sockets: int = field(default=1000, metadata=cli("BENCH_STORM_SOCKETS"))
    storm_concurrency: int = field(default=50, metadata=cli())
    # 6. a collection's fan-out (issue 13): sockets of one user following its Foos, a POST each
    collection_sockets: int = field(default=1000, metadata=cli("BENCH_COLLECTION_SOCKETS"))
    # 7. the cluster (issue 12, bench/cluster.py): fan-out through the load balancer,
    cluster_sockets: int = field(default=3000, metadata=cli("BENCH_CLUSTER_SOCKETS"))
    # Redis commands per change at these numbers of sockets, over this many changes,
    commands_ns: list[int] = field(
        default_factory=lambda: [30, 300, 3000], metadata=cli("BENCH_COMMANDS_NS")
    )
    commands_rounds: int = field(default=20, metadata=cli())
    # less the commands of an idle cluster over this long (the hubs' watch, health checks),
    commands_idle_seconds: float = field(default=3.0, metadata=cli())
    # and the reconnect storm (`storm_sockets`, above): sockets of one process killed,
    # `subs_per_socket` subscriptions each (`storm_per_user` sockets per user), while other
    # sockets on the other processes (`storm_others_per_user` per user, following their user's
    # Foos) receive `storm_rate` PATCHes per second, first for `storm_baseline_seconds`, then
    # for `storm_seconds` from just before the kill.
    storm_per_user: int = 10
    storm_others: int = field(default=100, metadata=cli())
    storm_others_per_user: int = 5
    storm_rate: float = field(default=20.0, metadata=cli())
    storm_baseline_seconds: float = field(default=5.0, metadata=cli())
    storm_seconds: float = field(default=15.0, metadata=cli())
    storm_timeout_seconds: float = field(default=120.0, metadata=cli())
    # PostgreSQL 15 publishes an idle backend's counters up to 10 s late: the database's
    # counters are read this long after the work they count.
    stats_settle_seconds: float = field(default=11.0, metadata=cli())
    # Warm-up rounds before each measured series (not counted).
    warmup: int = field(default=5, metadata=cli("BENCH_WARMUP"))
    # How long the User fan-out waits to see which sockets a first_name change reaches.
    probe_ms: int = field(default=1000, metadata=cli())
    # Where things go. The report (results.md, latency.png) is committed; JSON is not.
    out_dir: Path = field(default=BENCH_DIR / "results", metadata=cli("BENCH_OUT"))
    report_dir: Path | None = BENCH_DIR
    plot: bool = True
    profile: bool = False
    sqlite_path: Path = field(default=Path("/tmp/bench.sqlite3"), metadata=cli("BENCH_SQLITE_PATH"))
    database_url: str = field(
        default="postgres://postgres@127.0.0.1:5432/bench", metadata=cli("BENCH_DATABASE_URL")
    )
    redis_url: str = field(default="redis://127.0.0.1:6379/5", metadata=cli("BENCH_REDIS_URL"))

    @property
    def watchers(self) -> int:
        """Users the world needs: watchers of the fan-out, owners of the many-objects Foos, two
        sockets' worth of users for the memory scenario, a user per socket of the connects and
        of the one-process storm, and the users of the cluster's reconnect storm."""
        owners = self.many_foos // self.subs_per_socket
        sockets = (self.memory_sockets + 1) // 2, self.connect_sockets, self.storm_sockets
        cluster_storm = math.ceil(self.storm_sockets / self.storm_per_user) + math.ceil(
            self.storm_others / self.storm_others_per_user
        )
        return max(max(self.fanout_ns, default=1), owners, *sockets, cluster_storm, 1)

    def to_json(self) -> dict:
        return {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }


QUICK = {
    "latency_updates": 50,
    "fanout_rounds": 30,
    "fanout_rounds_large": 20,
    "inflight_seconds": 2.0,
    "many_foos": 200,
    "many_sockets": 200,
    "many_seconds": 5.0,
    "memory_sockets": 300,
    "cost_ns": [1, 50],
    "request_path_patches": 200,
    "connect_sockets": 100,
    "collection_sockets": 100,
    "cluster_sockets": 300,
    "commands_ns": [6, 30, 300],
    "commands_rounds": 10,
    "storm_sockets": 200,
    "storm_others": 20,
    "storm_baseline_seconds": 3.0,
    "storm_seconds": 8.0,
    "warmup": 3,
}


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _ints(value: str) -> list[int]:
    return [int(item) for item in _list(value)]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


# How the command line reads an option of each type (the others: the type itself).
READERS = {list[str]: _list, list[int]: _ints}


def parser_for(environ) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", default=_truthy(environ.get("BENCH_QUICK")))
    for option in fields(Options):
        if "variable" in option.metadata:
            variable = option.metadata["variable"]
            # argparse converts string defaults (the environment's) with `type` too.
            parser.add_argument(
                f"--{option.name.replace('_', '-')}",
                type=READERS.get(option.type, option.type),
                default=environ.get(variable) if variable else None,
                help=f"or {variable}" if variable else None,
            )
    parser.add_argument(
        "--memory-same-server",
        dest="memory_fresh_server",
        action="store_false",
        default=None,
        help="measure memory on the server of the other scenarios (faster, less exact)",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=environ.get("BENCH_REPORT_DIR"),
        help="where results.md and latency.png go (default: bench/ for a full run, the output "
        "directory for a quick or partial one)",
    )
    parser.add_argument("--no-plot", dest="plot", action="store_false", default=True)
    parser.add_argument(
        "--profile", action="store_true", default=_truthy(environ.get("BENCH_PROFILE"))
    )
    return parser


def parse(argv: list[str] | None = None, environ: dict | None = None) -> Options:
    """Options from BENCH_* variables, then the command line (which wins)."""
    parser = parser_for(os.environ if environ is None else environ)
    args = parser.parse_args(argv)
    options = Options(quick=args.quick, plot=args.plot, profile=args.profile)
    if args.quick:
        for name, value in QUICK.items():
            setattr(options, name, value)
    names = {f.name for f in fields(Options)} - {"quick", "plot", "profile"}
    for name, value in vars(args).items():
        if name in names and value is not None:
            setattr(options, name, value)
    if args.fanout_rounds is not None:
        options.fanout_rounds_large = min(options.fanout_rounds_large, options.fanout_rounds)
    problem = _invalid(options)
    if problem:
        parser.error(problem)
    if args.report_dir is None and (options.quick or _partial(options)):
        # Only a full run of everything replaces the committed report.
        options.report_dir = options.out_dir
    return options


def _invalid(options: Options) -> str | None:
    unknown = (set(options.backends) - set(BACKENDS)) | (set(options.floors) - set(FLOORS))
    unknown |= set(options.scenarios) - set(SCENARIOS)
    if unknown:
        return (
            f"unknown {', '.join(sorted(unknown))}: backends are {', '.join(BACKENDS)}; floors "
            f"{', '.join(FLOORS)}; scenarios {', '.join(SCENARIOS)}"
        )
    if options.many_foos % options.subs_per_socket:
        return f"--many-foos must be a multiple of {options.subs_per_socket}"
    return None


def _partial(options: Options) -> bool:
    default = Options()
    return any(
        getattr(options, name) != getattr(default, name)
        for name in ("backends", "floors", "scenarios", "fanout_ns")
    )
