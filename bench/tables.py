"""The report's tables: one backend's figures against the floors (with the ratios), and the cost
per change; numbers formatted for Markdown."""

import math

FLOOR_CHANNELS = {
    "sqlite-memory": "floor-channels/memory",
    "postgres-redis": "floor-channels/redis",
    "postgres-redis-pubsub": "floor-channels/redis",
}
WEBSOCKETS = "floor-websockets"


def dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def number(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def pair(summary) -> str:
    if not summary or not summary.get("n"):
        return "-"
    return f"{number(summary['p50'])} / {number(summary['p99'])}"


def ratio(ours, floor) -> str:
    if ours is None or floor is None or floor <= 0 or ours <= 0:
        return "-"
    return f"{ours / floor:.1f}x"


def ratio_pair(ours, floor) -> str:
    if not ours or not floor or not ours.get("n") or not floor.get("n"):
        return "-"
    return f"{ratio(ours['p50'], floor['p50'])} / {ratio(ours['p99'], floor['p99'])}"


class Figures:
    """One backend's table: ours, its Channels floor and the websockets floor side by side, then
    ours over each floor."""

    def __init__(self, results: dict, backend: str):
        targets = results["targets"]
        self.ours = targets.get(f"ours/{backend}", {})
        channels = targets.get(FLOOR_CHANNELS[backend], {})
        self.columns = (self.ours, channels, targets.get(WEBSOCKETS, {}))
        self.rows: list[list[str]] = []

    def first(self, scenario: str) -> dict | None:
        """A scenario's result from the first column that ran it (for its sizes)."""
        return next(filter(None, (dig(target, scenario) for target in self.columns)), None)

    def latency(self, label: str, *path: str, show_ratio: bool = True) -> None:
        values = [dig(target, *path) for target in self.columns]
        ratios = [ratio_pair(values[0], values[1]), ratio_pair(values[0], values[2])]
        self.rows.append([label, *map(pair, values), *(ratios if show_ratio else ["", ""])])

    def scalar(self, label: str, *path: str, digits: int = 2, show_ratio: bool = True) -> None:
        values = [dig(target, *path) for target in self.columns]
        ratios = (
            [ratio(values[0], values[1]), ratio(values[0], values[2])] if show_ratio else ["", ""]
        )
        self.rows.append([label, *(number(v, digits) for v in values), *ratios])


def rows_for(results: dict, backend: str) -> list[list[str]]:
    """One backend's figures: ours, its channels floor, the websockets floor, and the ratios."""
    figures = Figures(results, backend)
    latency_rows(figures)
    for kind, label in (("foo", "Foo, owner's sockets"), ("user", "User watched by N users")):
        fanout_rows(figures, kind, label)
    many_rows(figures)
    memory_rows(figures)
    request_path_rows(figures)
    connect_rows(figures)
    return figures.rows


def latency_rows(figures: Figures) -> None:
    figures.latency(
        "1. one update, p50 / p99 ms from PATCH response",
        "latency",
        "resp_to_event_ms",
        show_ratio=False,
    )
    figures.latency("1. one update, p50 / p99 ms from PATCH send", "latency", "send_to_event_ms")


def fanout_rows(figures: Figures, kind: str, label: str) -> None:
    series = f"fanout_{kind}"
    for n in sorted({int(n) for t in figures.columns for n in (t.get(series) or {})}):
        prefix = f"2. {label}, N={n}"
        receivers = dig(figures.ours, series, str(n), "receivers")
        if receivers is not None and receivers != n:
            prefix += f" (ours: the change reaches {receivers})"
        path = (series, str(n))
        figures.latency(
            f"{prefix}: round p50 / p99 ms from response", *path, "round_ms", show_ratio=False
        )
        figures.latency(f"{prefix}: round p50 / p99 ms from send", *path, "round_from_send_ms")
        figures.latency(f"{prefix}: PATCH response p50 / p99 ms", *path, "patch_ms")
        depth = dig(figures.ours, *path, "throughput", "inflight") or 20
        figures.scalar(
            f"{prefix}: deliveries/s, {depth} in flight",
            *path,
            "throughput",
            "deliveries_per_s",
            digits=0,
        )


def many_rows(figures: Figures) -> None:
    many = figures.first("many")
    if not many:
        return
    each = many["subscriptions"] // many["sockets"]
    prefix = f"3. {many['sockets']} sockets x {each} of {many['foos']} Foos"
    rate = number(many["rate"], 0)
    figures.latency(
        f"{prefix}, {rate}/s: p50 / p99 ms from response", "many", "lat_resp_ms", show_ratio=False
    )
    figures.latency(f"{prefix}, {rate}/s: p50 / p99 ms from send", "many", "lat_send_ms")
    figures.scalar(
        f"{prefix}: achieved updates/s", "many", "achieved_rate", digits=0, show_ratio=False
    )
    figures.scalar(f"{prefix}: server CPU % of a core", "many", "server_cpu_pct", digits=0)
    figures.scalar(
        f"{prefix}: client CPU % of a core", "many", "client_cpu_pct", digits=0, show_ratio=False
    )


def memory_rows(figures: Figures) -> None:
    memory = figures.first("memory")
    if not memory:
        return
    values = [dig(target, "memory", "bytes_per_socket") for target in figures.columns]
    kib = [None if v is None else v / 1024 for v in values]
    figures.rows.append(
        [
            f"4. RSS per idle socket with {memory['subscriptions_per_socket']} "
            f"subscriptions, KiB ({memory['sockets']} sockets)",
            *(number(v, 1) for v in kib),
            ratio(kib[0], kib[1]),
            ratio(kib[0], kib[2]),
        ]
    )


def request_path_rows(figures: Figures) -> None:
    """Ours only: the floors have no in-process side."""
    found = dig(figures.ours, "request_path")
    if not found:
        return
    prefix = f"7. PATCH ({found['patches']} each way)"
    for label, key in (("through Daphne", "daphne_ms"), ("in-process", "in_process_ms")):
        figures.latency(f"{prefix} {label}: p50 / p99 ms", "request_path", key, show_ratio=False)
    figures.scalar(f"{prefix}: Daphne ÷ in-process, p50", "request_path", "ratio_p50")
    for label, key in (
        ("Daphne", "daphne_cpu_ms_per_patch"),
        ("in-process", "in_process_cpu_ms_per_patch"),
    ):
        figures.scalar(f"{prefix}: {label} CPU ms per PATCH", "request_path", key, show_ratio=False)


def connect_rows(figures: Figures) -> None:
    connect, storm = figures.first("connect"), dig(figures.ours, "storm")
    if connect:
        prefix = f"8. connect + authenticate + subscribe, one at a time ({connect['sockets']})"
        figures.scalar(f"{prefix}: server CPU ms per socket", "connect", "server_cpu_ms_per_socket")
        for label, key in (
            ("a connect", "per_connect"),
            ("a subscription", "per_subscribe"),
            (f"a batch of {dig(figures.ours, 'connect', 'queries', 'batch')}", "per_batch"),
        ):
            figures.scalar(f"8. queries of {label}", "connect", "queries", key, show_ratio=False)
    if storm:
        prefix = (
            f"8. storm, {storm['sockets']} sockets x {storm['subscriptions_per_socket']} "
            f"subscriptions, {storm['concurrency']} at a time"
        )
        for label, key, digits in (
            ("s until all answered", "seconds", 2),
            ("sockets subscribed", "subscribed", 0),
            ("handshakes failed", "handshake_failed", 0),
            ("server CPU % of a core", "server_cpu_pct", 0),
        ):
            figures.scalar(f"{prefix}: {label}", "storm", key, digits=digits, show_ratio=False)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cost_rows(results: dict) -> list[list[str]]:
    rows = []
    for backend, kinds in results.get("cost", {}).items():
        for kind, by_n in kinds.items():
            for n, measured in by_n.items():
                save, patch = measured["save"], measured["patch"]
                rows.append(
                    [
                        backend,
                        COST_OBJECTS[kind],
                        n,
                        str(save["queries_change"]),
                        str(save["queries_elsewhere"]),
                        str(save["to_representation"]),
                        str(save["serializer_instances"]),
                        str(save["json_encodes"]),
                        str(save["layer_group_sends"]),
                        str(save["frames"]),
                        str(patch["queries_change"] + patch["queries_elsewhere"]),
                        str(patch["to_representation"]),
                    ]
                )
    return rows


HEADER = [
    "figure",
    "ours",
    "Channels floor",
    "websockets floor",
    "ours ÷ Channels",
    "ours ÷ websockets",
]
COST_HEADER = [
    "backend",
    "object",
    "N",
    "queries in save",
    "queries elsewhere",
    "to_representation",
    "serializers built",
    "JSON encodes",
    "group_sends",
    "frames",
    "PATCH queries",
    "PATCH to_representation",
]


COST_OBJECTS = {"foo": "Foo", "user": "User", "collection": "Foo collection (a create)"}

COLLECTION_HEADER = [
    "backend",
    "N",
    "instance: round p50 / p99 ms from send",
    "collection: round p50 / p99 ms from send",
    "instance: deliveries/s",
    "collection: deliveries/s",
    "collection ÷ instance, deliveries/s",
]


def collection_rows(results: dict) -> list[list[str]]:
    """Issue 13: a collection's fan-out (a create each) beside the instance fan-out (a PATCH of
    the Foo) at the same N, from the request's send (the event may beat the response)."""
    rows = []
    for name, target in results["targets"].items():
        for n, found in (target.get("collection") or {}).items():
            instance = dig(target, "fanout_foo", n) or {}
            rates = [dig(r, "throughput", "deliveries_per_s") for r in (instance, found)]
            rows.append(
                [
                    name.split("/", 1)[1],
                    n,
                    pair(instance.get("round_from_send_ms")),
                    pair(found["round_from_send_ms"]),
                    *(number(rate, 0) for rate in rates),
                    ratio(rates[1], rates[0]),
                ]
            )
    return rows


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
