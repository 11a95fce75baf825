"""The run's outputs: JSON (everything), a Markdown report (tables, ours against the floors) and a
PNG plot of latency and throughput against N."""

import json
import math
from pathlib import Path

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
                        "Foo" if kind == "foo" else "User",
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


def backends_in(results: dict) -> list[str]:
    return [name.split("/", 1)[1] for name in results["targets"] if name.startswith("ours/")] or [
        "sqlite-memory"
    ]


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


def markdown(results: dict) -> str:
    parts = introduction(results["meta"])
    for backend in backends_in(results):
        channels = FLOOR_CHANNELS[backend]
        parts += [
            "",
            f"## {backend} (Channels floor: `{channels}`)",
            "",
            table(HEADER, rows_for(results, backend)),
        ]
    parts += cost_section(results)
    for name, label, profile in profiles(results):
        parts += profile_section(name, label, profile)
    parts += notes_section(results)
    return "\n".join(parts) + "\n"


def introduction(meta: dict) -> list[str]:
    """The title, what ran where, and how to read the ratios."""
    options = meta["options"]
    return [
        "# Realtime benchmark results",
        "",
        f"Run {meta['started']} → {meta.get('finished', '?')} on {meta['cpus']} CPUs, load average "
        f"{', '.join(f'{x:.2f}' for x in meta['loadavg_start'])} at the start; commit "
        f"`{meta['git']['commit'][:12]}`{' (dirty tree)' if meta['git']['dirty'] else ''}; "
        f"{'quick' if options['quick'] else 'full'} run, node client. "
        f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items() if v)}.",
        "",
        "Ratios are ours ÷ floor: above 1x we are slower (latency), use more (CPU, memory); below "
        "1x we deliver less (deliveries/s). Latency from the PATCH response is signed: the event "
        "leaves on commit, before the response, and may arrive first; ratios use the figures from "
        "the PATCH send, which are never negative.",
    ]


def cost_section(results: dict) -> list[str]:
    cost = cost_rows(results)
    if not cost:
        return []
    return [
        "",
        "## 5. Cost per change (in-process, counted; bench/cost.py)",
        "",
        "`save()` of the object with N sockets subscribed, from the save to the last socket's "
        "frame, all threads; last two columns: the whole PATCH request.",
        "",
        table(COST_HEADER, cost),
    ]


def profile_section(name: str, label: str, profile: dict) -> list[str]:
    parts = ["", f"## Profile: {name}, {label} (py-spy)", ""]
    if "error" in profile:
        return [*parts, profile["error"]]
    loop_hot_path = dict(profile.get("loop_hot_path_pct", []))
    inclusive = dict(profile["inclusive_by_area_pct"])
    return [
        *parts,
        f"{profile['samples']} samples of busy threads ({profile['raw']}). Along the "
        "delivery's hot path, inclusive (a sample counts for every listed function in its "
        "stack):",
        "",
        table(
            ["function", "% of all samples", "% of the event loop thread's samples"],
            [[f, str(p), str(loop_hot_path.get(f, ""))] for f, p in profile["hot_path_pct"]],
        ),
        "",
        "By area, self time (where the samples were) and inclusive:",
        "",
        table(
            ["area", "self %", "inclusive %"],
            [[a, str(p), str(inclusive.get(a, ""))] for a, p in profile["self_by_area_pct"]],
        ),
        "",
        "Top functions, self time (all threads):",
        "",
        table(["function", "%"], [[f"`{f}`", str(p)] for f, p in profile["self_by_function_pct"]]),
        "",
        f"Top functions, self time, event loop thread ({profile.get('loop_samples')} samples):",
        "",
        table(
            ["function", "%"],
            [[f"`{f}`", str(p)] for f, p in profile.get("loop_self_by_function_pct", [])],
        ),
    ]


def notes_section(results: dict) -> list[str]:
    """The anomalies and the failed scenarios, when there are any."""
    parts = []
    notes = anomalies(results)
    if notes:
        parts += ["", "## Anomalies (read the figures above with these in mind)", ""]
        parts += [f"- {note}" for note in notes]
    if results.get("errors"):
        parts += ["", "## Failures", ""] + [
            f"- {e['where']}: {e['error']}" for e in results["errors"]
        ]
    return parts


def scenario_results(results: dict):
    """(target name, label, result) of every measured series."""
    for name, target in results["targets"].items():
        for scenario in ("latency", "many", "memory"):
            if scenario in target:
                yield name, scenario, target[scenario]
        for kind in ("foo", "user"):
            for n, result in (target.get(f"fanout_{kind}") or {}).items():
                yield name, f"fan-out {kind} N={n}", result


def profiles(results: dict):
    for name, label, result in scenario_results(results):
        if "profile" in result:
            yield name, label, result["profile"]


def anomalies(results: dict) -> list[str]:
    """What makes a figure suspect: failed requests, lost or duplicated events, contention."""
    notes = []
    for name, label, result in scenario_results(results):
        for where, data in ((label, result), (f"{label} in flight", result.get("throughput", {}))):
            found = {
                key: data[key]
                for key in ("http_errors", "timeouts", "incomplete", "unanswered", "skipped")
                if data.get(key)
            }
            if data.get("stalled"):
                found["stalled"] = True
            if found:
                notes.append(f"{name}, {where}: {found}")
            if data.get("others_cpu_pct", 0) > 50:
                notes.append(
                    f"{name}, {where}: other processes used {data['others_cpu_pct']}% of a core "
                    f"meanwhile (server {data.get('server_cpu_pct')}%, client "
                    f"{data.get('client_cpu_pct')}%, PostgreSQL and Redis "
                    f"{data.get('storage_cpu_pct', '?')}%, py-spy "
                    f"{data.get('profiler_cpu_pct', '?')}%): contended"
                )
    for name, target in results["targets"].items():
        counters = target.get("client_counters", {})
        found = {
            key: counters[key]
            for key in ("errors", "wrong_representation", "over_delivered", "unexpected")
            if counters.get(key)
        }
        if found:
            notes.append(f"{name}, client counters: {found} {counters.get('error_samples') or ''}")
    return notes


def plot(results: dict, path: Path) -> bool:
    """Round time to the last socket and deliveries/s against N; False without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 5))
    for name, target in results["targets"].items():
        for kind in ("foo", "user"):
            series = target.get(f"fanout_{kind}") or {}
            if not series or (target["kind"] == "floor" and kind == "user"):
                continue
            ns = sorted(int(n) for n in series)
            label = name if target["kind"] == "floor" else f"{name} {kind.capitalize()}"
            style = "--" if target["kind"] == "floor" else "-"
            p50 = [series[str(n)]["round_from_send_ms"].get("p50") for n in ns]
            p99 = [series[str(n)]["round_from_send_ms"].get("p99") for n in ns]
            (line,) = left.plot(ns, p50, style, marker="o", label=label)
            left.plot(ns, p99, style, marker="x", color=line.get_color(), alpha=0.35)
            rates = [series[str(n)]["throughput"]["deliveries_per_s"] for n in ns]
            right.plot(ns, rates, style, marker="o", color=line.get_color(), label=label)
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("N subscribed sockets")
        axis.grid(True, which="both", alpha=0.3)
    left.set_ylabel("ms, PATCH sent → event on the last socket")
    left.set_title("Round time to the last socket (p50 o, p99 x faint)")
    right.set_ylabel("deliveries / s")
    right.set_title("Throughput, 20 updates in flight")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    meta = results["meta"]
    figure.suptitle(
        f"Realtime fan-out, ours (solid) against floors (dashed) — {meta['started']}, "
        f"{'quick' if meta['options']['quick'] else 'full'} run",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True


def write(results: dict, options, stamp: str) -> list[Path]:
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in (f"bench-{stamp}.json", "latest.json"):
        path = out_dir / name
        path.write_text(json.dumps(results, indent=1))
        paths.append(path)
    report_dir = Path(options.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    markdown_path = report_dir / "results.md"
    if options.plot and plot(results, report_dir / "latency.png"):
        paths.append(report_dir / "latency.png")
    text = markdown(results)
    if (report_dir / "latency.png").exists():
        text += "\n![Round time and throughput against N](latency.png)\n"
    markdown_path.write_text(text)
    paths.append(markdown_path)
    return paths


def main(argv=None) -> None:
    """Rewrites the report and the plot from a run's JSON (profiles re-summarised from their raw
    files when these are still there): `python -m bench.report bench/results/latest.json`."""
    import argparse

    from bench import profiling
    from bench.config import BENCH_DIR

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("json", type=Path)
    parser.add_argument("--report-dir", type=Path, default=BENCH_DIR)
    args = parser.parse_args(argv)
    results = json.loads(args.json.read_text())
    for _, _, result in scenario_results(results):
        profile = result.get("profile", {})
        if profile.get("raw") and Path(profile["raw"]).exists():
            summary = profiling.summarise(Path(profile["raw"]).read_text())
            result["profile"] = {**profile, **summary}
    args.report_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    if plot(results, args.report_dir / "latency.png"):
        text += "\n![Round time and throughput against N](latency.png)\n"
    (args.report_dir / "results.md").write_text(text)
    print(args.report_dir / "results.md")


if __name__ == "__main__":
    main()
