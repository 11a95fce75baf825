"""6. A collection's fan-out (issue 13): N sockets of one user follow its Foo collection
(`{"model": "api.Foo"}`, no id), and the user creates Foos over REST (POST /api/foo), each of which
reaches every socket as a CREATE_FOO. Measured as the instance fan-out is (scenario 2): round time
to the last socket, then deliveries/s with `inflight` creates outstanding."""

from bench.scenarios import Context, rounds_then_inflight


def collection(ctx: Context, n: int) -> dict:
    options = ctx.options
    owner = ctx.login(ctx.world["owner"]["username"])
    opened = ctx.open([{"cookie": owner["cookie"], "subs": [["api.Foo", None]]}] * n)
    target = {
        "model": "api.Foo",
        "method": "POST",
        "path": "/api/foo",
        "cookie": owner["cookie"],
        "csrftoken": owner["csrftoken"],
        "field": "bar",
    }
    ctx.call("rounds", http=ctx.target.http, target=target, rounds=options.warmup)
    measured = rounds_then_inflight(ctx, target, n)
    ctx.call("close")
    return {"sockets": n, "open_seconds": round(opened["seconds"], 3), **measured}
