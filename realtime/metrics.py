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
