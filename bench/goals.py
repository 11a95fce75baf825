"""The goals of issue 14 that the run measures: each figure beside its goal, and whether it holds.

A goal appears once its scenario ran on one of our backends; every goal is an upper bound.
"""

from dataclasses import asdict, dataclass

from bench.tables import number, table


@dataclass
class Goal:
    target: str
    backend: str
    value: float | None
    goal: float
    unit: str  # appended to the figure and the goal: "x", " ms", " s" or ""

    @property
    def holds(self) -> bool | None:
        return None if self.value is None else self.value <= self.goal

    def to_json(self) -> dict:
        return asdict(self) | {"holds": self.holds}


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


# Where each goal's figures are in a target's results.
SOURCES = {"request_path": request_path, "connect": connect, "storm": storm}


def collect(results: dict) -> list[Goal]:
    found = []
    for name, target in results["targets"].items():
        if target["kind"] != "ours":
            continue
        backend = name.split("/", 1)[1]
        for scenario, goals in SOURCES.items():
            if scenario in target:
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
            f"at most {figure(goal.goal)}{goal.unit}",
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
