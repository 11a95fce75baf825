"""The report's cluster tables (issue 12): the fan-out across web processes beside one process's,
the Redis commands per change as N grows (and whether they stay proportional to the processes),
and the reconnection storm after a process is killed."""

import math

from bench.tables import dig, number, pair, ratio, ratio_pair

# The commands per change may grow this much from the fewest sockets to the most and still be
# "proportional to the web processes, not to N".
COMMANDS_GOAL = 1.5


def sockets_by_process(by_server: dict) -> str:
    return " / ".join(f"{count}" for _, count in sorted(by_server.items()))


def cluster_fanout_rows(results: dict) -> list[list[str]]:
    """The cluster's fan-out beside one process's at a third of its sockets (the same per
    process), from the same run."""
    fanout = dig(results, "cluster", "fanout")
    if not fanout:
        return []
    per_process = fanout["sockets"] // 3
    single = dig(results, "targets", "ours/postgres-redis", "fanout_foo", str(per_process)) or {}
    rows = []
    for label, path in (
        ("round p50 / p99 ms from response", ("round_ms",)),
        ("round p50 / p99 ms from send", ("round_from_send_ms",)),
        ("PATCH response p50 / p99 ms", ("patch_ms",)),
    ):
        ours, one = dig(fanout, *path), dig(single, *path)
        rows.append([label, pair(ours), pair(one), ratio_pair(ours, one)])
    for label, path, digits in (
        ("deliveries/s, 20 in flight", ("throughput", "deliveries_per_s"), 0),
        (
            "server CPU % of a core (all web processes), in flight",
            ("throughput", "server_cpu_pct"),
            0,
        ),
        ("others' CPU % of a core, in flight", ("throughput", "others_cpu_pct"), 0),
    ):
        ours, one = dig(fanout, *path), dig(single, *path)
        rows.append([label, number(ours, digits), number(one, digits), ratio(ours, one)])
    return rows


def cluster_fanout_header(results: dict) -> list[str]:
    n = dig(results, "cluster", "fanout", "sockets") or 0
    return ["figure", f"cluster, N={n}", f"one process, N={n // 3}", "cluster ÷ one process"]


COMMANDS_HEADER = [
    "N sockets",
    "sockets per process",
    "changes",
    "commands per change",
    "per change and web process",
    "before idle subtracted",
    "idle commands/s",
    "commands per change, by command",
]


def commands_rows(results: dict) -> list[list[str]]:
    cluster = results.get("cluster") or {}
    processes = cluster.get("web_processes", 3)
    rows = []
    for n, found in sorted((cluster.get("commands") or {}).items(), key=lambda item: int(item[0])):
        by_command = sorted(found["by_command"].items(), key=lambda item: -item[1])
        rows.append(
            [
                n,
                sockets_by_process(found["by_server"]),
                str(found["changes"]),
                number(found["per_change"], 1),
                number(found["per_change"] / processes, 1),
                number(found["raw_per_change"], 1),
                number(found["idle_per_second"], 1),
                ", ".join(f"{name} {value:g}" for name, value in by_command),
            ]
        )
    return rows


def commands_goal(results: dict) -> str | None:
    """Whether the commands per change stay within COMMANDS_GOAL from the fewest sockets to the
    most: the sentence that says so."""
    commands = dig(results, "cluster", "commands") or {}
    if len(commands) < 2:
        return None
    ns = sorted(commands, key=int)
    low, high = commands[ns[0]]["per_change"], commands[ns[-1]]["per_change"]
    grown = high / low if low > 0 else math.inf
    holds = "holds" if grown <= COMMANDS_GOAL else "does NOT hold"
    return (
        f"Commands per change at N={ns[-1]} ÷ at N={ns[0]}: {grown:.2f}x for "
        f"{int(ns[-1]) // int(ns[0])}x the sockets. Goal: at most {COMMANDS_GOAL}x (proportional "
        f"to the web processes, not to N): it {holds}."
    )


def storm_rows(results: dict) -> list[list[str]]:
    storm = dig(results, "cluster", "storm")
    if not storm:
        return []
    resync, database = storm["resync"], storm["database"]
    before, during = storm["load_before"], storm["load_during"]
    complete = "all" if resync["complete"] else "NOT all"
    by_server = ", ".join(f"{name} {count}" for name, count in sorted(resync["by_server"].items()))
    transactions = number(database["transactions"], 0)
    others = f"other clients ({storm['other_sockets']} sockets on the other processes)"
    return [
        ["sockets on the killed process", str(storm["sockets"])],
        ["their subscriptions", str(storm["subscriptions"])],
        ["lost / resynced", f"{resync['lost']} / {resync['resynced']} ({complete})"],
        ["seconds from the first loss to the last resync", number(resync["seconds"])],
        ["each socket, loss to resync, p50 / p99 ms", pair(resync["per_socket_ms"])],
        ["connection attempts (failed)", f"{resync['attempts']} ({resync['failed_attempts']})"],
        ["resynced sockets by process", by_server],
        ["database transactions (≈ queries)", transactions],
        ["database transactions per socket", number(database["transactions_per_socket"], 1)],
        ["database rows fetched", number(database["rows_fetched"], 0)],
        [f"{others}: event p50 / p99 ms from send, before", pair(before["lat_send_ms"])],
        [f"{others}: event p50 / p99 ms from send, during", pair(during["lat_send_ms"])],
        ["other clients: updates/s, before / during", f"{before['achieved_rate']} / "
         f"{during['achieved_rate']}"],
        ["other clients during: incomplete updates, failed PATCHes",
         f"{during['incomplete']}, {during['http_errors']}"],
    ]  # fmt: skip
