"""The benchmark harness (bench/) runs end to end and produces well-formed results.

The real harness at toy sizes: N=1 and 2, a few rounds, SQLite and the in-memory layer, the floors,
driven by the Node client that produces the published numbers (skipped where Node or npm is
missing, as the PostgreSQL and Redis legs are; CI has both); and the cluster scenario, on the
PostgreSQL leg, with HAProxy. No timing is asserted: this machine
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
    "--fanout-ns", "1,2",
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
    "--collection-sockets", "2",
    "--storm-others", "2",
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


def test_no_server_logs_an_error(results):
    assert results["results"]["server_errors"] == {}


def test_every_target_ran(results):
    assert set(results["results"]["targets"]) == {
        "ours/sqlite-memory",
        "floor-websockets",
        "floor-channels/memory",
        "floor-fanout",
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


def test_the_largest_foo_fanout_is_measured_at_issue_14s_depth_too(results):
    for name, target in results["results"]["targets"].items():
        series = target["fanout_foo"]
        assert "goal_throughput" not in series["1"]
        throughput = series["2"]["goal_throughput"]
        assert throughput["inflight"] == 10
        assert not throughput["stalled"], name
        assert throughput["deliveries"] >= throughput["updates"] * 2
        assert throughput["deliveries_per_s"] > 0


def test_our_fanout_alternates_with_the_floors_in_blocks(results):
    targets = results["results"]["targets"]
    paired = targets["ours/sqlite-memory"]["fanout_paired"]
    assert (paired["sockets"], paired["blocks"]) == (2, 5)
    for side in ("ours", "floor"):
        measured = paired[side]
        # The 3 rounds of the largest N, one in each of 3 blocks.
        assert (measured["rounds"], measured["timeouts"], measured["http_errors"]) == (3, 0, 0)
        assert finite_summary(measured["round_from_send_ms"])
        throughput = measured["throughput"]
        assert throughput["inflight"] == 10
        assert not throughput["stalled"], side
        assert throughput["deliveries"] >= throughput["updates"] * 2 > 0
    assert not any(
        "fanout_paired" in targets[name] for name in targets if name != "ours/sqlite-memory"
    )


def test_unrelated_requests_are_answered_during_our_rounds(results):
    for n in ("1", "2"):
        measured = results["results"]["targets"]["ours/sqlite-memory"]["fanout_foo"][n]
        during = measured["with_unrelated"]
        assert (during["rounds"], during["timeouts"], during["http_errors"]) == (3, 0, 0)
        unrelated = during["unrelated"]
        assert unrelated["path"].startswith("/api/foo/")
        assert unrelated["http_errors"] == 0
        assert unrelated["requests"] == unrelated["response_ms"]["n"] > 0
    # The floors' own requests are not the question.
    assert "with_unrelated" not in results["results"]["targets"]["floor-fanout"]["fanout_foo"]["2"]


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
    targets = ["1.", "2.", "2.", "3.", "3.", "4.", "4.", "4.", "4.", "5."]
    assert [goal["target"][:2] for goal in goals] == targets
    assert all(goal["backend"] == "sqlite-memory" for goal in goals)
    assert all(goal["holds"] in (True, False) for goal in goals)
    # Deliveries/s has a floor under it; every other goal is a ceiling.
    assert [goal["direction"] for goal in goals].count("at least") == 1
    table = (results["out"] / "results.md").read_text()
    assert "## Goals (issue 14)" in table
    assert "| 4. storm: handshakes failed | sqlite-memory | 0 | at most 0 | yes |" in table
    assert "| 2. Foo fan-out N=2, 10 PATCHes in flight, alternating: deliveries/s, ours ÷" in table
    assert "| at least 0.50x |" in table
    assert "| 3. the writer's own PATCH round trip p50, N=2 ÷ N=1 (" in table
    assert "| at most 32 KiB |" in table


def test_collection_followers_receive_every_create(results):
    collection = results["results"]["targets"]["ours/sqlite-memory"]["collection"]["2"]
    assert collection["rounds"] == 3
    assert collection["timeouts"] == 0
    assert finite_summary(collection["round_from_send_ms"])
    throughput = collection["throughput"]
    assert not throughput["stalled"]
    assert throughput["deliveries"] >= throughput["updates"] * 2
    assert throughput["deliveries_per_s"] > 0


def test_collection_cost_is_counted_for_a_create(results):
    for change in ("save", "patch"):
        measured = results["results"]["cost"]["sqlite-memory"]["collection"]["2"][change]
        # One CREATE_FOO to each follower, through the owner's group alone.
        assert measured["frame_types"] == {"CREATE_FOO": 2}
        assert measured["layer_group_sends"] == 1
        assert measured["to_representation"] >= 1


def test_outputs_are_written(results):
    out = results["out"]
    latest = json.loads((out / "latest.json").read_text())
    assert latest["meta"]["options"]["fanout_ns"] == [1, 2]
    table = (out / "results.md").read_text()
    assert "| ours ÷ Daphne fan-out |" in table
    assert "| 2. Foo, owner's sockets, N=2: deliveries/s, 20 in flight" in table
    assert "| 2. Foo, owner's sockets, N=2: deliveries/s, 10 in flight" in table
    assert "| 2. Foo, owner's sockets, N=1: GET of another user's Foo every 20 ms during" in table
    assert "## 5. Cost per change" in table
    assert "| sqlite-memory | Foo collection (a create) | 2 |" in table
    assert "## 6. A collection's fan-out (issue 13)" in table


CLUSTER = [
    "--backends", "postgres-redis",
    "--floors", "",
    "--scenarios", "cluster",
    "--fanout-ns", "2",
    "--cluster-sockets", "9",
    # Six sockets at least: HAProxy's leastconn counts the owner's keep-alive HTTP connection
    # too, and may leave the process that holds it without one of three sockets.
    "--commands-ns", "6,9",
    "--commands-rounds", "2",
    "--commands-idle-seconds", "0.2",
    "--fanout-rounds", "2",
    "--inflight-seconds", "0.3",
    "--storm-sockets", "4",
    "--storm-others", "2",
    "--storm-rate", "10",
    "--storm-baseline-seconds", "0.5",
    "--storm-seconds", "2",
    "--stats-settle-seconds", "0",
    "--many-foos", "20",
    "--memory-sockets", "4",
    "--warmup", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def cluster_results(node_client, tmp_path_factory):
    """The cluster scenario at toy sizes, on the PostgreSQL leg (a database of its own, dropped
    after) and a Redis of its own; it needs HAProxy."""
    from django.db import connection

    from harness.cluster import HAProxy, RedisServer
    from tests.servers import database_url

    if connection.vendor != "postgresql":
        pytest.skip("the cluster runs on PostgreSQL (the PostgreSQL/Redis leg)")
    if shutil.which("haproxy") is None:
        pytest.skip(HAProxy.MISSING)
    out = tmp_path_factory.mktemp("cluster")
    database = f"{database_url()}_bench"
    redis = RedisServer()
    options = config.parse(
        [*CLUSTER, "--out-dir", str(out), "--no-plot"],
        environ={"BENCH_DATABASE_URL": database, "BENCH_REDIS_URL": redis.url},
    )
    try:
        runner = Runner(options)
        results = runner.run()
        report.write(results, options, runner.stamp)
    finally:
        redis.stop()
        drop_database(database)
    return {"results": results, "out": out}


def drop_database(url: str) -> None:
    import psycopg

    admin, name = url.rsplit("/", 1)
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_cluster_runs_without_failure(cluster_results):
    assert cluster_results["results"]["errors"] == []
    assert cluster_results["results"]["server_errors"] == {}
    counters = cluster_results["results"]["cluster"]["client_counters"]
    assert (counters["errors"], counters["over_delivered"], counters["unexpected"]) == (0, 0, 0)


def test_commands_per_change_are_counted_at_each_n_over_every_process(cluster_results):
    commands = cluster_results["results"]["cluster"]["commands"]
    assert set(commands) == {"6", "9"}
    for n, measured in commands.items():
        assert measured["changes"] == 2
        assert measured["per_change"] > 0
        assert set(measured["by_server"]) == {"web1", "web2", "web3"}
        assert sum(measured["by_server"].values()) == int(n)


def test_cluster_fanout_reaches_every_socket(cluster_results):
    fanout = cluster_results["results"]["cluster"]["fanout"]
    assert (fanout["sockets"], fanout["rounds"], fanout["timeouts"]) == (9, 2, 0)
    assert not fanout["throughput"]["stalled"]
    assert fanout["throughput"]["deliveries_per_s"] > 0


def test_storm_resyncs_every_socket_on_the_other_processes(cluster_results):
    storm = cluster_results["results"]["cluster"]["storm"]
    resync = storm["resync"]
    assert (storm["sockets"], resync["lost"], resync["resynced"]) == (4, 4, 4)
    assert resync["complete"]
    assert set(resync["by_server"]) <= {"web2", "web3"}
    assert {"transactions", "rows_fetched", "transactions_per_socket"} <= storm["database"].keys()
    assert storm["load_during"]["completed"] > 0
    assert finite_summary(storm["load_during"]["lat_send_ms"])


def test_cluster_tables_are_written(cluster_results):
    table = (cluster_results["out"] / "results.md").read_text()
    assert "## 7. The cluster (issue 12; bench/cluster.py)" in table
    assert "| 6 | " in table
    assert "Commands per change at N=9 ÷ at N=6" in table
    assert "| lost / resynced | 4 / 4 (all) |" in table
