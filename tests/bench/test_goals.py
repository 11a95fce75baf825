"""Issue 14's goals in the report (bench/goals.py): each figure's verdict, in its direction.

Results are written here by hand, as a run would write them, so that a goal can be shown both
holding and not (the smoke test runs the real harness, whose figures fall where they fall).
"""

from bench import goals


def fanout(round_p50: float, deliveries_per_s: float, *, patch_p50=20.0, unrelated_p99=5.0):
    return {
        "round_from_send_ms": {"n": 3, "p50": round_p50},
        "patch_ms": {"n": 3, "p50": patch_p50},
        "goal_throughput": {"inflight": 10, "deliveries_per_s": deliveries_per_s},
        "with_unrelated": {
            "unrelated": {
                "request": "GET of another user's Foo",
                "every_ms": 20,
                "response_ms": {"n": 9, "p99": unrelated_p99},
            }
        },
    }


def results(ours: dict, floor: dict | None = None) -> dict:
    targets = {"ours/sqlite-memory": {"kind": "ours", "fanout_foo": ours}}
    if floor is not None:
        targets["floor-fanout"] = {"kind": "floor", "fanout_foo": floor}
    return {"targets": targets}


def test_deliveries_are_a_floor_and_round_time_a_ceiling():
    found = results({"1000": fanout(120, 6000)}, floor={"1000": fanout(100, 10000)})
    table = "\n".join(goals.markdown(found))
    assert "| 1.20x | at most 1.30x | yes |" in table
    assert "| 0.60x | at least 0.50x | yes |" in table
    slower = results({"1000": fanout(140, 4000)}, floor={"1000": fanout(100, 10000)})
    table = "\n".join(goals.markdown(slower))
    assert "| 1.40x | at most 1.30x | **no** |" in table
    assert "| 0.40x | at least 0.50x | **no** |" in table


def test_without_the_fanout_floor_target_2_has_no_verdict():
    found = goals.collect(results({"1000": fanout(120, 6000)}))
    at_the_floor = [goal for goal in found if goal.target.startswith("2.")]
    assert len(at_the_floor) == 2
    assert all(goal.value is None and goal.holds is None for goal in at_the_floor)


def test_the_writer_and_unrelated_requests_are_divided_by_their_n_1_figures():
    found = goals.collect(
        results(
            {
                "1": fanout(20, 90, patch_p50=25, unrelated_p99=6),
                "1000": fanout(130, 9000, patch_p50=140, unrelated_p99=9),
            }
        )
    )
    writer, unrelated = [goal for goal in found if goal.target.startswith("3.")]
    assert (writer.value, writer.holds) == (5.6, False)
    assert (unrelated.value, unrelated.holds) == (1.5, True)
    assert "GET of another user's Foo every 20 ms" in unrelated.target


def test_target_3_needs_n_1():
    found = goals.collect(results({"1000": fanout(130, 9000)}))
    assert not [goal for goal in found if goal.target.startswith("3.")]
