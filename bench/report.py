"""The run's outputs: JSON (everything), a Markdown report (tables, ours against the floors) and a
PNG plot of latency and throughput against N."""

import json
from pathlib import Path

from bench import goals
from bench.cluster_tables import (
    COMMANDS_HEADER,
    cluster_fanout_header,
    cluster_fanout_rows,
    commands_goal,
    commands_rows,
    storm_rows,
)
from bench.tables import (
    COLLECTION_HEADER,
    COST_HEADER,
    FLOOR_CHANNELS,
    HEADER,
    collection_rows,
    cost_rows,
    dig,
    rows_for,
    table,
)


def backends_in(results: dict) -> list[str]:
    return [name.split("/", 1)[1] for name in results["targets"] if name.startswith("ours/")] or [
        "sqlite-memory"
    ]


def markdown(results: dict) -> str:
    parts = introduction(results["meta"]) + goals.markdown(results)
    for backend in backends_in(results):
        channels = FLOOR_CHANNELS[backend]
        parts += [
            "",
            f"## {backend} (Channels floor: `{channels}`)",
            "",
            table(HEADER, rows_for(results, backend)),
        ]
    parts += cost_section(results)
    parts += collection_section(results)
    parts += cluster_section(results)
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
        "frame, all threads; last two columns: the whole PATCH request. A collection's change is "
        "a new Foo of the user whose N sockets follow `api.Foo`: its `save()`, and a whole POST.",
        "",
        table(COST_HEADER, cost),
    ]


def collection_section(results: dict) -> list[str]:
    rows = collection_rows(results)
    if not rows:
        return []
    return [
        "",
        "## 6. A collection's fan-out (issue 13)",
        "",
        "N sockets of one user following its Foo collection, each change a POST /api/foo whose "
        "CREATE_FOO reaches all of them; beside it, the instance fan-out of scenario 2 (N "
        "sockets on one Foo, PATCHes) at the same N in the same run. Round times from the "
        "request's send; deliveries/s with 20 changes in flight.",
        "",
        table(COLLECTION_HEADER, rows),
    ]


def cluster_section(results: dict) -> list[str]:
    cluster = results.get("cluster")
    if not cluster:
        return []
    parts = [
        "",
        "## 7. The cluster (issue 12; bench/cluster.py)",
        "",
        "HAProxy (deploy/haproxy.cfg) in front of 3 Daphne web processes, on PostgreSQL and a "
        "redis-server of the scenario's own. On this machine's 2 cores throughput cannot grow "
        "with processes: what must hold is correctness, a cost per change in processes rather "
        "than sockets, and the recovery time.",
    ]
    if cluster.get("fanout"):
        parts += [
            "",
            "Fan-out through the load balancer, one Foo, its owner's sockets spread over the "
            "processes, beside one process with a third of the sockets (scenario 2, same run):",
            "",
            table(cluster_fanout_header(results), cluster_fanout_rows(results)),
        ]
    if cluster.get("commands"):
        parts += [
            "",
            "Redis commands per change (`INFO commandstats` before and after sequential "
            "PATCHes, less what the idle cluster sends over as long):",
            "",
            table(COMMANDS_HEADER, commands_rows(results)),
        ]
        goal = commands_goal(results)
        if goal:
            parts += ["", goal]
    if cluster.get("storm"):
        parts += [
            "",
            "Reconnect storm: web1 killed (SIGKILL) while holding the sockets; they reconnect "
            "through the load balancer with the JS client's backoff and subscribe again (the "
            "snapshots are the resync). Database figures from `pg_stat_database`, less the "
            "other clients' PATCH load (measured before the kill at the same rate).",
            "",
            table(["figure", "value"], storm_rows(results)),
        ]
    return parts


def profile_section(name: str, label: str, profile: dict) -> list[str]:
    parts = ["", f"## Profile: {name}, {label} (py-spy)", ""]
    if "error" in profile:
        return [*parts, profile["error"]]
    tables = [
        (
            f"{profile['samples']} samples of busy threads ({profile['raw']}). Along the "
            "delivery's hot path, inclusive (a sample counts for every listed function in its "
            "stack):",
            shares_table(
                ["function", "% of all samples", "% of the event loop thread's samples"],
                profile["hot_path_pct"],
                dict(profile.get("loop_hot_path_pct", [])),
            ),
        ),
        (
            "By area, self time (where the samples were) and inclusive:",
            shares_table(
                ["area", "self %", "inclusive %"],
                profile["self_by_area_pct"],
                dict(profile["inclusive_by_area_pct"]),
            ),
        ),
        (
            "Top functions, self time (all threads):",
            function_table(profile["self_by_function_pct"]),
        ),
        (
            f"Top functions, self time, event loop thread ({profile.get('loop_samples')} samples):",
            function_table(profile.get("loop_self_by_function_pct", [])),
        ),
    ]
    for caption, text in tables:
        parts += [caption, "", text, ""]
    return parts[:-1]


def shares_table(header: list[str], shares: list, beside: dict) -> str:
    """A row per (key, share), with the key's share in `beside` next to it."""
    return table(header, [[key, str(share), str(beside.get(key, ""))] for key, share in shares])


def function_table(shares: list) -> str:
    return table(["function", "%"], [[f"`{f}`", str(p)] for f, p in shares])


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
        for scenario in ("latency", "many", "memory", "request_path", "connect", "storm"):
            if scenario in target:
                yield name, scenario, target[scenario]
        for kind in ("foo", "user"):
            for n, result in (target.get(f"fanout_{kind}") or {}).items():
                yield name, f"fan-out {kind} N={n}", result
        for n, result in (target.get("collection") or {}).items():
            yield name, f"collection N={n}", result
    cluster = results.get("cluster") or {}
    if "fanout" in cluster:
        yield "cluster", f"fan-out N={cluster['fanout']['sockets']}", cluster["fanout"]
    for phase in ("load_before", "load_during"):
        if phase in cluster.get("storm", {}):
            yield "cluster", f"storm, other clients' {phase}", cluster["storm"][phase]


def profiles(results: dict):
    for name, label, result in scenario_results(results):
        if "profile" in result:
            yield name, label, result["profile"]


def phases(label: str, result: dict):
    """(where, figures) of each phase of a measured series: its rounds, its in-flight runs and,
    for issue 14, the rounds again with requests unrelated to them."""
    yield label, result
    yield f"{label} in flight", result.get("throughput", {})
    yield f"{label} in flight, issue 14's depth", result.get("goal_throughput", {})
    yield f"{label} with unrelated requests", result.get("with_unrelated", {})
    yield f"{label}, the unrelated requests", dig(result, "with_unrelated", "unrelated") or {}


def anomalies(results: dict) -> list[str]:
    """What makes a figure suspect: failed requests, lost or duplicated events, contention."""
    notes = []
    for name, label, result in scenario_results(results):
        for where, data in phases(label, result):
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
    waits = {
        phase: seconds
        for phase, seconds in ((results.get("cluster") or {}).get("lb_waits") or {}).items()
        if seconds > 1
    }
    if waits:
        notes.append(
            f"cluster: HAProxy had taken web processes out (a health check answered late under "
            f"load) and the run waited for them before these phases, in seconds: {waits}"
        )
    storm = (results.get("cluster") or {}).get("storm")
    if storm and not storm["resync"]["complete"]:
        notes.append(
            f"cluster, storm: only {storm['resync']['resynced']} of {storm['resync']['lost']} lost "
            f"sockets resynced: {storm['resync']['failures']}"
        )
    for name, errors in (results.get("server_errors") or {}).items():
        notes.append(
            f"{name}: {errors['count']} ERROR line(s) logged, such as: "
            + "; ".join(errors["first"])
        )
    counted = {**results["targets"], "cluster": results.get("cluster") or {}}
    for name, target in counted.items():
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
