"""The realtime layer's Prometheus metrics, for this process (each Daphne process serves its
own at `/metrics`: see `backend/metrics.py`)."""

from prometheus_client import Counter, Gauge

SOCKETS_OPEN = Gauge("realtime_sockets_open", "WebSockets open in this process.")
SOCKETS_REFUSED = Counter(
    "realtime_sockets_refused",
    "WebSockets closed as they opened, by close code (4012 draining, 4013 process full, "
    "4429 too many for one user).",
    ["code"],
)
SUBSCRIPTIONS = Gauge(
    "realtime_subscriptions", "Subscriptions held by the sockets of this process."
)
EVENTS_DELIVERED = Counter(
    "realtime_events_delivered", "Event frames written to the sockets of this process."
)

# Faults of the channel layer (realtime.hub, realtime.layers).
LAYER_FAILURES = Counter(
    "realtime_layer_failures",
    "Hub receive loops that ended with an error (their sockets were closed with 4011).",
)
RESYNCS_REQUESTED = Counter(
    "realtime_resyncs_requested",
    "Sockets closed so that their clients reconnect and resync from snapshots, by reason: "
    "hub_failed (4011), layer_lost (the layer lost memberships or was unreachable: 4205), "
    "dropped (a message to the socket's process was dropped for capacity: 4205).",
    ["reason"],
)
MESSAGES_DROPPED = Counter(
    "realtime_layer_messages_dropped",
    "Channel-layer messages not delivered to a process's channel because it was full, counted "
    "by the sending process.",
)
