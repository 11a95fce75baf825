"""Connects and reconnect storms (issue 14, target 4): what a socket's arrival costs the server.

- `connect`: `connect_sockets` sockets opened one after the other, each connecting,
  authenticating by its session cookie and subscribing to one Foo until SUBSCRIBED: the server's
  CPU time over them, per socket. On ours and on the floors, whose handshake authenticates
  nothing (the floor of Daphne itself). On ours, the queries of a connect (until the handshake
  is accepted), of a subscription to one Foo and of a batch of `subs_per_socket` are counted
  in-process as well, the way and for the reason bench/cost.py counts:
  `python -m bench.connects < world.json`.
- `storm`: a fresh server, as after a deploy: `storm_sockets` sockets of as many users,
  `storm_concurrency` connecting at a time, each subscribing to its user's `subs_per_socket`
  Foos in one batch, as the JS client resubscribes after a reconnect. The time until every
  subscription is answered, and the handshakes that failed (Daphne drops one that the
  application has not accepted within its handshake timeout).
"""

import asyncio
import json
import os
import subprocess
import sys
import time

from bench.config import ROOT
from bench.scenarios import Context
from bench.servers import cpu_seconds

# Sockets of the in-process count, each measured twice (a single subscription, a batch).
COUNTED = 3

# The server is quiet once it spends under BUSY of a core over QUIET_WINDOW seconds.
BUSY, QUIET_WINDOW, QUIET_WITHIN = 0.05, 0.5, 60


def wait_quiet(pid: int) -> None:
    """Returns once the server has finished what the scenarios before left it: the fan-outs
    leave work queued (the Channels floor on Redis, still draining `many`, accepted no
    handshake within Daphne's timeout), whose CPU time would count as the connects'."""
    deadline = time.monotonic() + QUIET_WITHIN
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(QUIET_WINDOW)
        if cpu_seconds(pid) - before < BUSY * QUIET_WINDOW:
            return
    raise RuntimeError(f"the server was still busy after {QUIET_WITHIN} s")


def connect(ctx: Context) -> dict:
    """Sockets one after the other; on ours, the queries of each step too."""
    watchers = ctx.world["watchers"][: ctx.options.connect_sockets]
    sockets = [
        {"cookie": ctx.minted(w["sessions"][0])["cookie"], "subs": [["api.Foo", w["foos"][0]]]}
        for w in watchers
    ]
    wait_quiet(ctx.target.pid)
    ctx.open(sockets[:5])  # warm: imports, caches, connections
    ctx.call("close")
    before = cpu_seconds(ctx.target.pid)
    opened, usage = ctx.measure(
        "open",
        profile="connect",
        ws=ctx.target.ws,
        origin=ctx.target.origin,
        sockets=sockets,
        concurrency=1,
    )
    cpu = cpu_seconds(ctx.target.pid) - before
    ctx.call("close")
    if opened["failed"]:
        raise RuntimeError(f"{opened['failed']} sockets failed: {opened['failures']}")
    result = {
        "sockets": opened["opened"],
        "seconds": round(opened["seconds"], 3),
        "server_cpu_ms_per_socket": round(1000 * cpu / opened["opened"], 3),
        **usage,
    }
    if ctx.target.kind == "ours":
        result["queries"] = count_queries(ctx)
    return result


def count_queries(ctx: Context) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.connects"],
        cwd=ROOT,
        env=ctx.target.env,
        input=json.dumps(ctx.world),
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        raise RuntimeError(f"bench.connects failed: {completed.stderr.strip()[-2000:]}")
    return json.loads(completed.stdout)


def storm(ctx: Context) -> dict:
    """Every socket at once, `storm_concurrency` at a time, each with one batched subscribe."""
    options = ctx.options
    subs = options.subs_per_socket
    sockets = [
        {
            "cookie": ctx.minted(w["sessions"][1])["cookie"],
            "subs": [["api.Foo", foo] for foo in w["foos"][:subs]],
        }
        for w in ctx.world["watchers"][: options.storm_sockets]
    ]
    opened, usage = ctx.measure(
        "open",
        profile="storm",
        ws=ctx.target.ws,
        origin=ctx.target.origin,
        sockets=sockets,
        concurrency=options.storm_concurrency,
        batch=True,
    )
    ctx.call("close")
    return {
        "sockets": len(sockets),
        "subscriptions_per_socket": subs,
        "concurrency": options.storm_concurrency,
        "seconds": round(opened["seconds"], 3),
        "subscribed": opened["opened"],
        "handshake_failed": opened["handshake_failed"],
        # Sockets that opened but did not have every subscription answered.
        "subscribe_failed": opened["failed"] - opened["handshake_failed"],
        "failures": opened["failures"],
        **usage,
    }


def connect_headline(result: dict) -> str:
    queries = result.get("queries")
    counted = (
        f"; {queries['per_connect']} queries per connect, {queries['per_subscribe']} per "
        f"subscribe, {queries['per_batch']} per batch of {queries['batch']}"
        if queries
        else ""
    )
    return f"{result['server_cpu_ms_per_socket']} ms server CPU per socket{counted}"


def storm_headline(result: dict) -> str:
    return (
        f"{result['subscribed']} of {result['sockets']} sockets subscribed in "
        f"{result['seconds']} s, {result['handshake_failed']} handshakes failed"
    )


def one(foo: str) -> dict:
    """The subscription to one Foo."""
    return {"model": "api.Foo", "id": foo, "request_id": 1}


def many(foos: list[str]) -> dict:
    """The batched subscription to `foos`, one request id each."""
    return {"subscribe": [{**one(foo), "request_id": n} for n, foo in enumerate(foos, 1)]}


async def counted(world: dict, sockets: int, batch: int) -> dict:
    """Queries of `sockets` connects, subscriptions to one Foo and batches of `batch` Foos, each
    a socket of its own (a user's two sessions), after one unmeasured round."""
    from channels.testing import WebsocketCommunicator

    from backend.asgi import application
    from bench.cost import ORIGIN, Tally, count_queries

    tally = Tally()
    count_queries(tally)

    async def step(session: str, foos: list[str], message: dict) -> tuple[int, int]:
        socket = WebsocketCommunicator(
            application,
            "/ws/notifications/",
            headers=[(b"origin", ORIGIN), (b"cookie", f"sessionid={session}".encode())],
        )
        with tally.window() as connecting:
            connected, _ = await socket.connect(timeout=30)
        if not connected:
            raise RuntimeError("a socket was refused: is the world seeded in this database?")
        with tally.window() as subscribing:
            await socket.send_json_to(message)
            for _ in foos:
                reply = await socket.receive_json_from(timeout=30)
                if reply["type"] != "SUBSCRIBED":
                    raise RuntimeError(f"subscription refused: {reply}")
        await socket.disconnect()
        return connecting["queries_elsewhere"], subscribing["queries_elsewhere"]

    connects, singles, batches = [], [], []
    for index, watcher in enumerate(world["watchers"][: sockets + 1]):
        first, foos = watcher["foos"][:1], watcher["foos"][:batch]
        single = await step(watcher["sessions"][0], first, one(first[0]))
        batched = await step(watcher["sessions"][1], foos, many(foos))
        if index:  # the first round warms (imports, caches, connections)
            connects += [single[0], batched[0]]
            singles.append(single[1])
            batches.append(batched[1])
    return {
        "sockets": len(connects),
        "batch": batch,
        "per_connect": sum(connects) / len(connects),
        "per_subscribe": sum(singles) / len(singles),
        "per_batch": sum(batches) / len(batches),
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    world = json.load(sys.stdin)
    batch = len(world["watchers"][0]["foos"])
    json.dump(asyncio.run(counted(world, COUNTED, batch)), sys.stdout)


if __name__ == "__main__":
    main()
