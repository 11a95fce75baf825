"""The goals of issue 14 that the run measures: each figure beside its goal, and whether it holds.

A goal appears once its scenario ran on one of our backends. Each has a direction: most are
upper bounds ("at most"), a throughput is a lower bound ("at least"). Target 2 divides ours by
the Daphne local fan-out floor (bench/floors/fanout_floor.py), the two measured in alternating
blocks (bench/paired.py). Target 3 divides ours at the largest N by ours at N=1.
"""

import operator
from dataclasses import asdict, dataclass

from bench.tables import dig, number, table

DIRECTIONS = {"at most": operator.le, "at least": operator.ge}


@dataclass
class Goal:
    target: str
    backend: str
    value: float | None
    goal: float
    unit: str  # appended to the figure and the goal: "x", " ms", " s", " KiB" or ""
    direction: str = "at most"  # or "at least" (DIRECTIONS)

    @property
    def holds(self) -> bool | None:
        return None if self.value is None else DIRECTIONS[self.direction](self.value, self.goal)

    def to_json(self) -> dict:
        return asdict(self) | {"holds": self.holds}


def quotient(ours: float | None, other: float | None) -> float | None:
    return None if ours is None or not other else round(ours / other, 3)


def request_path(backend: str, found: dict) -> list[Goal]:
    daphne, alone = found["daphne_ms"].get("p50"), found["in_process_ms"].get("p50")
    return [
        Goal(
            f"1. PATCH round trip through Daphne ÷ in-process, p50 ({number(daphne)} ms ÷ "
            f"{number(alone)} ms)",
            backend,
            found["ratio_p50"],
            1.5,
            "x",
        )
    ]


def at_the_floor(backend: str, found: dict) -> list[Goal]:
    """Our Foo fan-out ÷ the Daphne local fan-out floor's, the two measured in alternating blocks
    (bench/paired.py) at the largest N (the issue's N=1000 in a full run); deliveries/s at the
    issue's depth (`goal_inflight`)."""
    n, sides = found["sockets"], (found["ours"], found["floor"])
    rounds = [dig(side, "round_from_send_ms", "p50") for side in sides]
    rates = [dig(side, "throughput", "deliveries_per_s") for side in sides]
    depth = number(dig(found, "ours", "throughput", "inflight"), 0)
    return [
        Goal(
            f"2. Foo fan-out N={n}, alternating with the Daphne fan-out floor: round p50 from "
            f"send, ours ÷ floor ({number(rounds[0])} ms ÷ {number(rounds[1])} ms)",
            backend,
            quotient(*rounds),
            1.3,
            "x",
        ),
        Goal(
            f"2. Foo fan-out N={n}, {depth} PATCHes in flight, alternating: deliveries/s, ours ÷ "
            f"Daphne fan-out floor ({number(rates[0], 0)} ÷ {number(rates[1], 0)})",
            backend,
            quotient(*rates),
            0.5,
            "x",
            "at least",
        ),
    ]


def not_hostage(backend: str, series: dict) -> list[Goal]:
    """The writer's PATCH round trip (the rounds) and the requests unrelated to the fan-out
    served meanwhile (the rounds again, with them), at the largest N ÷ at N=1."""
    n = str(max(map(int, series)))
    if "1" not in series or n == "1":
        return []
    many, one = series[n], series["1"]
    writer = [dig(found, "patch_ms", "p50") for found in (many, one)]
    others = [
        dig(found, "with_unrelated", "unrelated", "response_ms", "p99") for found in (many, one)
    ]
    unrelated = dig(many, "with_unrelated", "unrelated") or {}
    asked = f"{unrelated['request']} every {unrelated['every_ms']} ms" if unrelated else "-"
    return [
        Goal(
            f"3. the writer's own PATCH round trip p50, N={n} ÷ N=1 ({number(writer[0])} ms ÷ "
            f"{number(writer[1])} ms)",
            backend,
            quotient(*writer),
            2,
            "x",
        ),
        Goal(
            f"3. unrelated requests during the rounds ({asked}), p99, N={n} ÷ N=1 "
            f"({number(others[0])} ms ÷ {number(others[1])} ms)",
            backend,
            quotient(*others),
            2,
            "x",
        ),
    ]


def connect(backend: str, found: dict) -> list[Goal]:
    return [
        Goal(
            "4. connect + authenticate + first subscribe: server CPU per socket",
            backend,
            found["server_cpu_ms_per_socket"],
            3,
            " ms",
        )
    ]


def storm(backend: str, found: dict) -> list[Goal]:
    size = (
        f"{found['sockets']:,} sockets x {found['subscriptions_per_socket']} subscriptions, "
        f"{found['concurrency']} at a time"
    )
    return [
        Goal(f"4. storm ({size}): all answered", backend, found["seconds"], 15, " s"),
        Goal("4. storm: handshakes failed", backend, found["handshake_failed"], 0, ""),
        Goal(
            "4. storm: sockets whose subscriptions were not all answered",
            backend,
            found["subscribe_failed"],
            0,
            "",
        ),
    ]


def memory(backend: str, found: dict) -> list[Goal]:
    return [
        Goal(
            f"5. RSS per idle socket with {found['subscriptions_per_socket']} subscriptions "
            f"({found['sockets']:,} sockets)",
            backend,
            round(found["bytes_per_socket"] / 1024, 1),
            32,
            " KiB",
        )
    ]


# Where each goal's figures are in a target's results, in the order: each source is
# given our result of a scenario.
SOURCES = [
    ("request_path", request_path),
    ("fanout_paired", at_the_floor),
    ("fanout_foo", not_hostage),
    ("connect", connect),
    ("storm", storm),
    ("memory", memory),
]


def collect(results: dict) -> list[Goal]:
    found = []
    for name, target in results["targets"].items():
        if target["kind"] != "ours":
            continue
        backend = name.split("/", 1)[1]
        for scenario, goals in SOURCES:
            if target.get(scenario):
                found += goals(backend, target[scenario])
    return found


def figure(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else number(value)


def markdown(results: dict) -> list[str]:
    """The goals' section of the report, when any ran."""
    found = collect(results)
    if not found:
        return []
    verdict = {True: "yes", False: "**no**", None: "-"}
    rows = [
        [
            goal.target,
            goal.backend,
            "-" if goal.value is None else f"{figure(goal.value)}{goal.unit}",
            f"{goal.direction} {figure(goal.goal)}{goal.unit}",
            verdict[goal.holds],
        ]
        for goal in found
    ]
    return [
        "",
        "## Goals (issue 14)",
        "",
        table(["target", "backend", "measured", "goal", "holds"], rows),
    ]
