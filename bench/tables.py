"""The report's tables: one backend's figures against the floors (with the ratios), and the cost
per change; numbers formatted for Markdown."""

import math

FLOOR_CHANNELS = {
    "sqlite-memory": "floor-channels/memory",
    "postgres-redis": "floor-channels/redis",
    "postgres-redis-pubsub": "floor-channels/redis",
}
WEBSOCKETS = "floor-websockets"
FANOUT = "floor-fanout"


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
    """One backend's table: ours, its Channels floor, the websockets floor and the Daphne
    fan-out floor side by side, then ours over each floor."""

    def __init__(self, results: dict, backend: str):
        targets = results["targets"]
        self.ours = targets.get(f"ours/{backend}", {})
        floors = (FLOOR_CHANNELS[backend], WEBSOCKETS, FANOUT)
        self.columns = (self.ours, *(targets.get(name, {}) for name in floors))
        self.rows: list[list[str]] = []

    def first(self, *path: str):
        """A result from the first column that has it (for a scenario's sizes)."""
        return next(filter(None, (dig(target, *path) for target in self.columns)), None)

    def ratios(self, values: list, of, show: bool = True) -> list[str]:
        """Ours over each floor by `of` (`ratio` or `ratio_pair`), or blanks."""
        return [of(values[0], value) if show else "" for value in values[1:]]

    def latency(self, label: str, *path: str, show_ratio: bool = True) -> None:
        values = [dig(target, *path) for target in self.columns]
        self.rows.append([label, *map(pair, values), *self.ratios(values, ratio_pair, show_ratio)])

    def scalar(self, label: str, *path: str, digits: int = 2, show_ratio: bool = True) -> None:
        values = [dig(target, *path) for target in self.columns]
        numbers = (number(v, digits) for v in values)
        self.rows.append([label, *numbers, *self.ratios(values, ratio, show_ratio)])


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
        for throughput in ("throughput", "goal_throughput"):
            depth = figures.first(*path, throughput, "inflight")
            if depth:
                figures.scalar(
                    f"{prefix}: deliveries/s, {depth} in flight",
                    *path,
                    throughput,
                    "deliveries_per_s",
                    digits=0,
                )
        unrelated = dig(figures.ours, *path, "with_unrelated", "unrelated")
        if unrelated:
            figures.latency(
                f"{prefix}: {unrelated['request']} every {unrelated['every_ms']} ms during the "
                "rounds, p50 / p99 ms",
                *path,
                "with_unrelated",
                "unrelated",
                "response_ms",
                show_ratio=False,
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
            *figures.ratios(kib, ratio),
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
    "Daphne fan-out floor",
    "ours ÷ Channels",
    "ours ÷ websockets",
    "ours ÷ Daphne fan-out",
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
