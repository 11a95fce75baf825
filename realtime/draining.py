"""A deploy without a reconnect storm: on SIGTERM a Daphne process drains over a window.

Left alone, Daphne stops at once on SIGTERM: Twisted's handler stops the reactor, whose "before
shutdown" trigger (Daphne's `kill_all_applications`) cancels every consumer, so every socket of
the process closes in the same instant and all its clients resubscribe elsewhere at the same
moment. Here SIGTERM instead starts a drain: readiness answers 503 at once (`draining()`, so the
load balancer sends nothing new), a socket that opens meanwhile is closed with 4012 as it
opens, and the open sockets are closed with 4012 one by one, evenly spread over
`REALTIME["DRAIN_SECONDS"]`. Then the reactor stops as before, and Daphne's own shutdown (and the
embedded job worker's) runs. A socket keeps receiving events until its close, and its client
resubscribes elsewhere and gets snapshots, so no change committed before the close is lost.

The handler is installed once the reactor runs, over Twisted's (as `api.jobs.embedded` hooks
in): importing backend.asgi elsewhere installs nothing. A second SIGTERM stops at once.
"""

import asyncio
import signal
import threading

from realtime.close_codes import CloseCode
from realtime.conf import realtime_setting
from realtime.sockets import OpenSockets, open_sockets

_draining = threading.Event()


def draining() -> bool:
    """Whether this process has begun to shut down: it takes no new socket, and is not ready."""
    return _draining.is_set()


def start_with_server() -> None:
    from twisted.internet import reactor

    reactor.callWhenRunning(install, reactor)


def install(reactor) -> None:
    # As Twisted's own handler does: the signal interrupts the reactor's thread, which runs the
    # drain between two of its callbacks.
    signal.signal(signal.SIGTERM, lambda number, frame: reactor.callFromThread(drain, reactor))


def drain(reactor) -> None:
    from daphne.server import twisted_loop

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _draining.set()
    window = realtime_setting("DRAIN_SECONDS")
    closing = asyncio.ensure_future(
        close_spread(open_sockets(twisted_loop), window), loop=twisted_loop
    )
    closing.add_done_callback(lambda _: stop(reactor))


def stop(reactor) -> None:
    """Stops taking connections, then stops the reactor. Daphne's shutdown waits for the requests
    in flight, but a request that arrived after it began (a load balancer's health check) could
    wait on the event loop after it stopped (a sync view's `async_to_sync`, Django's for an async
    view), and the process's exit would wait for that thread forever."""
    from twisted.internet.tcp import Port

    for reader in reactor.getReaders():
        if isinstance(reader, Port):
            reader.stopListening()
    reactor.stop()


async def close_spread(registry: OpenSockets, window: float) -> None:
    """Closes the sockets open now with 4012, the k-th of n at k/n of `window`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    sockets = list(registry.sockets)
    for index, socket in enumerate(sockets):
        await asyncio.sleep(started + window * index / len(sockets) - loop.time())
        # One that its client closed meanwhile is gone.
        if socket in registry.sockets:
            await socket.close(CloseCode.SERVICE_RESTART)
