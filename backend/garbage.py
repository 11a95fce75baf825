"""The garbage collector, set for a server: one that holds thousands of long-lived objects (the
code it loaded, its sockets) while it makes short-lived ones by the million (requests, events).

A pass of the collector stops the event loop, and every request and socket with it. With
Python's defaults, in the bench's fan-out on PostgreSQL and Redis (sequential PATCHes of a Foo
that 1 or 1,000 sockets follow, another user's GET every 20 ms), 21 full passes took up to 125
ms each, walking everything the process had loaded since it started (2.9 s of collection in all,
1.9 s of it in full passes), and the GETs' p99 was 62 ms with 1 socket and 132 ms with 1,000.
Here what is loaded when the server starts is frozen, out of every pass, and a full pass comes
after 100 passes of the middle generation rather than 10: 4 full passes of at most 60 ms (1.0 s
of collection in all), and a GET p99 of 12 ms with 1 socket and 40 ms with 1,000. (A first
generation of 50,000 objects rather than 700 made its own passes of up to 40 ms: no better.)
"""

import gc

THRESHOLDS = (700, 10, 100)


def tune() -> None:
    """Freezes what the process has loaded, and makes full passes ten times rarer."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def start_with_server() -> None:
    from twisted.internet import reactor

    reactor.callWhenRunning(tune)
