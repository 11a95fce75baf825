"""The benchmark harness (bench/) runs end to end and produces well-formed results.

The real harness at toy sizes: N=2, a few rounds, SQLite and the in-memory layer, both floors,
driven by the Node client that produces the published numbers (skipped where Node or npm is
missing, as the PostgreSQL and Redis legs are; CI has both). No timing is asserted: this machine
is no benchmark machine.
"""

import json
import math
import shutil
import subprocess

import pytest

from bench import config, report
from bench.run import Runner

SMALL = [
    "--backends", "sqlite-memory",
    "--fanout-ns", "2",
    "--cost-ns", "2",
    "--latency-updates", "3",
    "--fanout-rounds", "3",
    "--inflight-seconds", "0.3",
    "--many-foos", "20",
    "--many-sockets", "4",
    "--many-rate", "20",
    "--many-seconds", "0.5",
    "--memory-sockets", "4",
    "--memory-settle-seconds", "0.1",
    "--memory-same-server",
    "--probe-ms", "300",
    "--request-path-patches", "10",
    "--connect-sockets", "3",
    "--storm-sockets", "4",
    "--storm-concurrency", "2",
    "--warmup", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def node_client():
    """The load client's packages, installed as `make bench` installs them (`make bench-client`:
    `npm ci` when bench/client/package-lock.json is newer than what is installed)."""
    for command in ("node", "npm"):
        if shutil.which(command) is None:
            pytest.skip(f"needs Node 20+ and npm for the load client (bench/client): no {command}")
    subprocess.run(["make", "--no-print-directory", "bench-client"], cwd=config.ROOT, check=True)


@pytest.fixture(scope="module")
def results(node_client, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    options = config.parse(
        [*SMALL, "--out-dir", str(out), "--sqlite-path", str(out / "bench.sqlite3"), "--no-plot"],
        environ={},
    )
    runner = Runner(options)
    results = runner.run()
    paths = report.write(results, options, runner.stamp)
    return {"results": results, "paths": paths, "out": out}


def finite_summary(summary: dict) -> bool:
    keys = {"n", "p50", "p90", "p99", "min", "max", "mean"}
    return (
        summary["n"] > 0
        and keys <= summary.keys()
        and all(math.isfinite(summary[key]) for key in keys)
    )


def test_no_scenario_fails(results):
    assert results["results"]["errors"] == []


def test_every_target_ran(results):
    assert set(results["results"]["targets"]) == {
        "ours/sqlite-memory",
        "floor-websockets",
        "floor-channels/memory",
    }


def test_latency_has_every_update(results):
    for target in results["results"]["targets"].values():
        latency = target["latency"]
        assert latency["updates"] == 3
        assert latency["timeouts"] == 0
        assert finite_summary(latency["resp_to_event_ms"])
        assert finite_summary(latency["send_to_event_ms"])


def test_fanout_reaches_every_socket(results):
    for name, target in results["results"]["targets"].items():
        for kind in ("foo", "user"):
            fanout = target[f"fanout_{kind}"]["2"]
            assert fanout["sockets"] == 2
            assert fanout["rounds"] == 3, (name, kind)
            assert finite_summary(fanout["round_ms"])
            throughput = fanout["throughput"]
            assert not throughput["stalled"], (name, kind)
            assert throughput["deliveries"] >= throughput["updates"] * fanout["receivers"]
            assert throughput["deliveries_per_s"] > 0


def test_users_see_their_own_representation(results):
    counters = results["results"]["targets"]["ours/sqlite-memory"]["client_counters"]
    assert counters["wrong_representation"] == 0
    assert counters["errors"] == 0


def test_many_objects_deliver_what_was_sent(results):
    for target in results["results"]["targets"].values():
        many = target["many"]
        assert many["sockets"] == 4
        assert many["subscriptions"] == 40
        assert many["completed"] > 0
        assert many["deliveries"] >= many["completed"]
        assert finite_summary(many["lat_resp_ms"])
        assert many["server_cpu_pct"] >= 0


def test_memory_is_measured_per_socket(results):
    for target in results["results"]["targets"].values():
        memory = target["memory"]
        assert memory["sockets"] == 4
        assert memory["rss_after_bytes"] > 0
        assert isinstance(memory["bytes_per_socket"], int)


def test_cost_is_counted_for_each_object(results):
    cost = results["results"]["cost"]["sqlite-memory"]
    for kind in ("foo", "user"):
        for change in ("save", "patch"):
            measured = cost[kind]["2"][change]
            # The object's group and its collection's: the owner's group (Foo) or the model's
            # (User, whose public form everyone sees).
            assert measured["layer_group_sends"] == 2
            assert measured["to_representation"] >= 1
            assert measured["frames"] >= 1


def test_request_path_times_the_patch_both_ways(results):
    targets = results["results"]["targets"]
    request_path = targets["ours/sqlite-memory"]["request_path"]
    assert request_path["patches"] == 10
    assert request_path["http_errors"] == 0
    assert finite_summary(request_path["daphne_ms"])
    assert finite_summary(request_path["in_process_ms"])
    assert request_path["ratio_p50"] > 0
    assert request_path["daphne_cpu_ms_per_patch"] > 0
    assert request_path["in_process_cpu_ms_per_patch"] > 0
    # The floors have no in-process side.
    assert "request_path" not in targets["floor-channels/memory"]


def test_connects_are_measured_on_every_target(results):
    for target in results["results"]["targets"].values():
        connect = target["connect"]
        assert connect["sockets"] == 3
        assert connect["server_cpu_ms_per_socket"] >= 0


def test_a_batch_of_subscriptions_costs_the_queries_of_one(results):
    queries = results["results"]["targets"]["ours/sqlite-memory"]["connect"]["queries"]
    assert queries["batch"] == 10
    assert queries["per_connect"] > 0
    assert queries["per_subscribe"] > 0
    assert queries["per_batch"] == queries["per_subscribe"]


def test_the_storm_subscribes_every_socket(results):
    storm = results["results"]["targets"]["ours/sqlite-memory"]["storm"]
    assert storm["sockets"] == storm["subscribed"] == 4
    assert storm["subscriptions_per_socket"] == 10
    assert storm["handshake_failed"] == storm["subscribe_failed"] == 0
    assert storm["seconds"] > 0


def test_every_goal_is_reported_with_its_verdict(results):
    goals = results["results"]["goals"]
    assert [goal["target"][:2] for goal in goals] == ["1.", "4.", "4.", "4.", "4."]
    assert all(goal["backend"] == "sqlite-memory" for goal in goals)
    assert all(goal["holds"] in (True, False) for goal in goals)
    table = (results["out"] / "results.md").read_text()
    assert "## Goals (issue 14)" in table
    assert "| 4. storm: handshakes failed | sqlite-memory | 0 | at most 0 | yes |" in table


def test_outputs_are_written(results):
    out = results["out"]
    latest = json.loads((out / "latest.json").read_text())
    assert latest["meta"]["options"]["fanout_ns"] == [2]
    table = (out / "results.md").read_text()
    assert "| 2. Foo, owner's sockets, N=2: deliveries/s" in table
    assert "## 5. Cost per change" in table
