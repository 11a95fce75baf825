"""The codes the server closes a socket with, each named once.

An application may only send 1000 or a code from 3000 to 4999: Daphne's WebSocket protocol
(autobahn) raises on any other, and the client sees 1011 instead. So the protocol's own codes
(1009 "message too big", 1011 "internal error", 1012 "service restart", 1013 "try again
later") are not ours to send; ours are their 4xxx counterparts, and 4205 / 4401 / 4429
mirror HTTP's 205, 401 and 429.

The consumer enforces the size limit itself, rather than Daphne's `--websocket-max-message-size`
(which autobahn answers with 1009), because that option bounds the messages the server sends
too, so it would refuse to send a snapshot or an event larger than a client message may be; and
a server option would leave the limit to every command that starts Daphne, and to Daphne alone.
Daphne's own limit (1 MiB by default) still applies above ours: a larger message drops the
connection (the client sees 1006) before the application sees it.
"""

import enum


class CloseCode(enum.IntEnum):
    MESSAGE_TOO_BIG = 4009
    """A client message was larger than `REALTIME["MAX_MESSAGE_BYTES"]` (1009's counterpart)."""

    LOGGED_OUT = 4401
    """The session or API token ended (logout, expiry, deletion, revocation, user deactivated
    or deleted), a session no longer authenticates its user for any other reason
    (`realtime.sessions`), or a token was refused when the socket opened."""

    SERVICE_RESTART = 4012
    """This process is shutting down (a deploy): reconnect, and the load balancer sends the new
    socket to another process (1012's counterpart). Sent to every socket while it drains
    (`realtime.draining`), and to a socket that opens meanwhile."""

    SERVER_FULL = 4013
    """This process holds `REALTIME["MAX_SOCKETS"]` sockets: reconnect after a backoff, to
    another process with luck (1013 "try again later"'s counterpart)."""

    TOO_MANY_SOCKETS = 4429
    """The user already holds `REALTIME["MAX_SOCKETS_PER_USER"]` sockets in this process: another
    must close first, so reconnecting soon is pointless."""

    HUB_FAILED = 4011
    """This process stopped receiving events (its hub's receive loop ended: the channel layer
    failed). Events may have been missed: reconnect and resync (1011's counterpart)."""

    RESYNC = 4205
    """Events for this socket may have been lost (the channel layer restarted empty, was
    unreachable, or dropped a message to this process for capacity): reconnect and resync from
    snapshots (HTTP's 205, Reset Content: the client resets its view)."""
