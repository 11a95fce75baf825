"""The realtime layer's Prometheus metrics, one module for all of them (prometheus-client's
default registry, which `/metrics` exposes)."""

from prometheus_client import Counter

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
