"""The realtime layer's options: `settings.REALTIME` over these defaults."""

from django.conf import settings

DEFAULTS = {
    # Subscriptions one socket may hold at once.
    "MAX_SUBSCRIPTIONS": 200,
    # A client message larger than this closes the socket with 4009 (see
    # `realtime.close_codes`).
    "MAX_MESSAGE_BYTES": 64 * 1024,
    # Client messages a socket may send: a burst of this many, refilled at this rate per second.
    # The burst lets a reconnecting client resubscribe to everything it held at once.
    "THROTTLE_BURST": 200,
    "THROTTLE_RATE": 20.0,
    # Seconds between two re-reads of the sessions of a process's sockets (realtime.sessions):
    # a session ended where no signal reaches, such as a password change or another process
    # deleting it, keeps its sockets at most this long. Each read is one query per process.
    "SESSION_CHECK_INTERVAL": 10.0,
}


def realtime_setting(name: str):
    return getattr(settings, "REALTIME", {}).get(name, DEFAULTS[name])
