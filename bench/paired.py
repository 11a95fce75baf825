"""Issue 14's target 2: our Foo fan-out and the Daphne local fan-out floor's, measured in the
same minutes.

The machine's speed moves from one minute to the next. Measured one after the other, as the
tables measure every target, the same code's N=1000 round p50 divided by the floor's came out
at 1.21x, 1.29x, 1.32x, 1.53x and 1.70x in five runs (the floor's own round from 51 to 66 ms),
and a goal's verdict was the luck of the minute. Here both servers run at once, each with N
sockets of the Foo's owner and a client of its own, and their rounds, then their in-flight
phases, alternate in `BLOCKS` blocks: a slow minute weighs on both sides of the quotient.
"""

from bench.scenarios import Context, foo_fanout, round_summary, rounds_for, throughput

# Blocks of each side's measurement, alternating: ours, the floor, ours, the floor...
BLOCKS = 5

# What a client's rounds and in-flight phases answer, added up over the blocks.
ROUND_LISTS, ROUND_COUNTS = ("resp", "first", "last"), ("timeouts", "http_errors")
FLIGHT_COUNTS = ("completed", "deliveries", "seconds", "http_errors")


def paired(ours: Context, floor: Context) -> dict:
    """The Foo fan-out at the largest N on `ours` and on `floor` (the Daphne fan-out floor):
    round time to the last socket over sequential PATCHes, then deliveries/s with
    `goal_inflight` PATCHes outstanding, each in alternating blocks."""
    options = ours.options
    n = max(options.fanout_ns)
    sides = {"ours": ours, "floor": floor}
    targets = {}
    for name, ctx in sides.items():
        _, sockets, targets[name] = foo_fanout(ctx, n)
        ctx.open(sockets)
        ctx.call("rounds", http=ctx.target.http, target=targets[name], rounds=options.warmup)
    rounds = {
        name: {key: [] for key in ROUND_LISTS} | dict.fromkeys(ROUND_COUNTS, 0) for name in sides
    }
    flights = {name: dict.fromkeys(FLIGHT_COUNTS, 0) | {"stalled": False} for name in sides}
    for count in split(rounds_for(options, n), BLOCKS):
        for name, ctx in sides.items():
            found = ctx.call("rounds", http=ctx.target.http, target=targets[name], rounds=count)
            for key in ROUND_LISTS + ROUND_COUNTS:
                rounds[name][key] += found[key]
    for _ in range(BLOCKS):
        for name, ctx in sides.items():
            found = ctx.call(
                "inflight",
                http=ctx.target.http,
                target=targets[name],
                inflight=options.goal_inflight,
                seconds=options.inflight_seconds / BLOCKS,
            )
            for key in FLIGHT_COUNTS:
                flights[name][key] += found[key]
            flights[name]["stalled"] |= found["stalled"]
    for ctx in sides.values():
        ctx.call("close")
    return {
        "sockets": n,
        "blocks": BLOCKS,
        **{
            name: {
                **round_summary(rounds[name]),
                "throughput": {"inflight": options.goal_inflight, **throughput(flights[name])},
            }
            for name in sides
        },
    }


def split(total: int, parts: int) -> list[int]:
    """`total` in at most `parts` near-equal counts, none of them 0."""
    parts = min(parts, total)
    return [total * (part + 1) // parts - total * part // parts for part in range(parts)]


def headline(result: dict) -> str:
    ours, floor = result["ours"], result["floor"]
    return (
        f"N={result['sockets']}, alternating: round p50 {ours['round_from_send_ms'].get('p50')} "
        f"ms against the floor's {floor['round_from_send_ms'].get('p50')} ms; "
        f"{ours['throughput']['deliveries_per_s']:.0f} deliveries/s against "
        f"{floor['throughput']['deliveries_per_s']:.0f}"
    )
