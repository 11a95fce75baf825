"""Issue 14's goals in the report (bench/goals.py): each figure's verdict, in its direction.

Results are written here by hand, as a run would write them, so that a goal can be shown both
holding and not (the smoke test runs the real harness, whose figures fall where they fall).
"""

from bench import goals


def side(round_p50: float, deliveries_per_s: float) -> dict:
    return {
        "round_from_send_ms": {"n": 3, "p50": round_p50},
        "throughput": {"inflight": 10, "deliveries_per_s": deliveries_per_s},
    }


def paired(ours: dict, floor: dict) -> dict:
    return {"sockets": 1000, "blocks": 5, "ours": ours, "floor": floor}


def fanout(patch_p50: float, unrelated_p99: float) -> dict:
    return {
        "patch_ms": {"n": 3, "p50": patch_p50},
        "with_unrelated": {
            "unrelated": {
                "request": "GET of another user's Foo",
                "every_ms": 20,
                "response_ms": {"n": 9, "p99": unrelated_p99},
            }
        },
    }


def results(scenarios: dict) -> dict:
    return {"targets": {"ours/sqlite-memory": {"kind": "ours", **scenarios}}}


def test_deliveries_are_a_floor_and_round_time_a_ceiling():
    found = results({"fanout_paired": paired(side(120, 6000), side(100, 10000))})
    table = "\n".join(goals.markdown(found))
    assert "alternating with the Daphne fan-out floor: round p50 from send, ours ÷ floor" in table
    assert "(120 ms ÷ 100 ms) | sqlite-memory | 1.20x | at most 1.30x | yes |" in table
    assert "(6,000 ÷ 10,000) | sqlite-memory | 0.60x | at least 0.50x | yes |" in table
    slower = results({"fanout_paired": paired(side(140, 4000), side(100, 10000))})
    table = "\n".join(goals.markdown(slower))
    assert "| 1.40x | at most 1.30x | **no** |" in table
    assert "| 0.40x | at least 0.50x | **no** |" in table


def test_target_2_is_the_paired_run_alone():
    """The fan-out series measured one target after the other decides no verdict of target 2."""
    found = goals.collect(results({"fanout_foo": {"1": fanout(25, 6), "1000": fanout(30, 7)}}))
    assert not [goal for goal in found if goal.target.startswith("2.")]


def test_the_writer_and_unrelated_requests_are_divided_by_their_n_1_figures():
    found = goals.collect(results({"fanout_foo": {"1": fanout(25, 6), "1000": fanout(140, 9)}}))
    writer, unrelated = [goal for goal in found if goal.target.startswith("3.")]
    assert (writer.value, writer.holds) == (5.6, False)
    assert (unrelated.value, unrelated.holds) == (1.5, True)
    assert "GET of another user's Foo every 20 ms" in unrelated.target


def test_target_3_needs_n_1():
    found = goals.collect(results({"fanout_foo": {"1000": fanout(140, 9)}}))
    assert not [goal for goal in found if goal.target.startswith("3.")]
