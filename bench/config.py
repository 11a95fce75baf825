"""The benchmark's options: sizes of the full run, of the quick one, and what the environment or
the command line changes (bench/README.md lists them)."""

import argparse
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

BACKENDS = ("sqlite-memory", "postgres-redis", "postgres-redis-pubsub")
FLOORS = ("floor-websockets", "floor-channels")
SCENARIOS = ("latency", "fanout_foo", "fanout_user", "many", "memory", "cost")


@dataclass
class Options:
    quick: bool = False
    client: str = "node"  # or "python" (bench/pyclient.py)
    backends: list[str] = field(default_factory=lambda: ["sqlite-memory", "postgres-redis"])
    floors: list[str] = field(default_factory=lambda: list(FLOORS))
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    # 1. latency of one update
    latency_updates: int = 200
    latency_pause_ms: int = 5
    # 2. fan-out
    fanout_ns: list[int] = field(default_factory=lambda: [1, 100, 1000])
    fanout_rounds: int = 200
    fanout_rounds_large: int = 100  # for N >= 1000, whose rounds take longest
    inflight: int = 20
    inflight_seconds: float = 5.0
    # 3. many objects
    many_foos: int = 1000
    many_sockets: int = 1000
    subs_per_socket: int = 10
    many_rate: float = 200.0
    many_seconds: float = 30.0
    # Open loop, but bounded: past this many unanswered PATCHes an update is skipped (counted),
    # so a server that cannot keep up is reported as such instead of drowned.
    many_max_inflight: int = 50
    # 4. memory
    memory_sockets: int = 2000
    memory_settle_seconds: float = 2.0  # idle time before and after opening the sockets
    # A server of its own, so that earlier scenarios' garbage does not hide the sockets' cost.
    memory_fresh_server: bool = True
    # 5. cost per change
    cost_ns: list[int] = field(default_factory=lambda: [1, 50, 500])
    # Warm-up rounds before each measured series (not counted).
    warmup: int = 5
    # How long the User fan-out waits to see which sockets a first_name change reaches.
    probe_ms: int = 1000
    # Where things go. The report (results.md, latency.png) is committed; JSON is not.
    out_dir: Path = BENCH_DIR / "results"
    report_dir: Path | None = BENCH_DIR
    plot: bool = True
    profile: bool = False
    sqlite_path: Path = Path("/tmp/bench.sqlite3")
    database_url: str = "postgres://postgres@127.0.0.1:5432/bench"
    redis_url: str = "redis://127.0.0.1:6379/5"

    @property
    def watchers(self) -> int:
        """Users the world needs: watchers of the fan-out, owners of the many-objects Foos, and
        two sockets' worth of users for the memory scenario."""
        owners = self.many_foos // self.subs_per_socket
        return max(max(self.fanout_ns, default=1), owners, (self.memory_sockets + 1) // 2, 1)

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
    "warmup": 3,
}


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _ints(value: str) -> list[int]:
    return [int(item) for item in _list(value)]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def parse(argv: list[str] | None = None, environ: dict | None = None) -> Options:
    """Options from BENCH_* variables, then the command line (which wins)."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", default=_truthy(environ.get("BENCH_QUICK")))
    parser.add_argument("--client", choices=["node", "python"], default=environ.get("BENCH_CLIENT"))
    parser.add_argument("--backends", type=_list, default=environ.get("BENCH_BACKENDS"))
    parser.add_argument("--floors", type=_list, default=environ.get("BENCH_FLOORS"))
    parser.add_argument("--scenarios", type=_list, default=environ.get("BENCH_SCENARIOS"))
    parser.add_argument("--fanout-ns", type=_ints, default=environ.get("BENCH_NS"))
    parser.add_argument("--cost-ns", type=_ints, default=environ.get("BENCH_COST_NS"))
    parser.add_argument("--latency-updates", type=int, default=environ.get("BENCH_UPDATES"))
    parser.add_argument("--fanout-rounds", type=int, default=environ.get("BENCH_ROUNDS"))
    parser.add_argument(
        "--inflight-seconds", type=float, default=environ.get("BENCH_INFLIGHT_SECONDS")
    )
    parser.add_argument("--many-foos", type=int, default=environ.get("BENCH_MANY_FOOS"))
    parser.add_argument("--many-sockets", type=int, default=environ.get("BENCH_MANY_SOCKETS"))
    parser.add_argument("--many-rate", type=float, default=environ.get("BENCH_RATE"))
    parser.add_argument("--many-seconds", type=float, default=environ.get("BENCH_DURATION"))
    parser.add_argument("--many-max-inflight", type=int, default=None)
    parser.add_argument("--memory-sockets", type=int, default=environ.get("BENCH_MEMORY_SOCKETS"))
    parser.add_argument("--memory-settle-seconds", type=float, default=None)
    parser.add_argument(
        "--memory-same-server",
        dest="memory_fresh_server",
        action="store_false",
        default=None,
        help="measure memory on the server of the other scenarios (faster, less exact)",
    )
    parser.add_argument("--warmup", type=int, default=environ.get("BENCH_WARMUP"))
    parser.add_argument("--probe-ms", type=int, default=None)
    parser.add_argument("--out-dir", type=Path, default=environ.get("BENCH_OUT"))
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
    parser.add_argument("--sqlite-path", type=Path, default=environ.get("BENCH_SQLITE_PATH"))
    parser.add_argument("--database-url", default=environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=environ.get("BENCH_REDIS_URL"))
    args = parser.parse_args(argv)

    options = Options(quick=args.quick, plot=args.plot, profile=args.profile)
    if args.quick:
        for name, value in QUICK.items():
            setattr(options, name, value)
    # argparse converts string defaults (the environment's) with `type` too.
    names = {f.name for f in fields(Options)} - {"quick", "plot", "profile"}
    for name, value in vars(args).items():
        if name in names and value is not None:
            setattr(options, name, value)
    if args.fanout_rounds is not None:
        options.fanout_rounds_large = min(options.fanout_rounds_large, options.fanout_rounds)
    unknown = (set(options.backends) - set(BACKENDS)) | (set(options.floors) - set(FLOORS))
    unknown |= set(options.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(
            f"unknown {', '.join(sorted(unknown))}: backends are {', '.join(BACKENDS)}; floors "
            f"{', '.join(FLOORS)}; scenarios {', '.join(SCENARIOS)}"
        )
    if options.many_foos % options.subs_per_socket:
        parser.error(f"--many-foos must be a multiple of {options.subs_per_socket}")
    if args.report_dir is None and (options.quick or _partial(options)):
        # Only a full run of everything replaces the committed report.
        options.report_dir = options.out_dir
    return options


def _partial(options: Options) -> bool:
    default = Options()
    return any(
        getattr(options, name) != getattr(default, name)
        for name in ("backends", "floors", "scenarios", "fanout_ns", "client")
    )
