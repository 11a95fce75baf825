"""The codes the server closes a socket with, each named once.

An application may only send 1000 or a code from 3000 to 4999: Daphne's WebSocket protocol
(autobahn) raises on any other, and the client sees 1011 instead. So the protocol's own codes
(1009 "message too big") are not ours to send; ours are their 4xxx counterparts.

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
    """The session ended (logout, expiry, deletion, user deactivated or deleted), or no longer
    authenticates its user for any other reason (`realtime.sessions`)."""
