"""The realtime layer's options: `settings.REALTIME` over these defaults."""

from django.conf import settings

DEFAULTS = {
    # Who opens a socket, asked in order like a DRF view's authentication classes: the first
    # whose `authenticate(scope)` returns what to add to the scope, or refuses the socket,
    # decides. None of them deciding leaves the socket anonymous.
    "AUTHENTICATION_CLASSES": ["realtime.session_auth.SessionAuthentication"],
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
    # Sockets one user may hold open in one process; the next is closed with 4429. Tabs and
    # devices of one person stay well under it; a script that opens sockets in a loop does not.
    "MAX_SOCKETS_PER_USER": 50,
    # Sockets one process holds open, anonymous ones included; the next is closed with 4013.
    # About 320 MiB at 32 KiB per socket (README: Benchmarks), and an event to all of them on
    # one object takes about 0.75 s to write: past that a client is better served elsewhere.
    "MAX_SOCKETS": 10_000,
    # Seconds over which a process that received SIGTERM closes its sockets (with 4012), evenly
    # spread so that their clients do not all resubscribe at the same moment; it exits after.
    "DRAIN_SECONDS": 10.0,
}


class Options:
    """An app's options: the dict `settings.<name>` over `defaults`, read at each call, so that
    a test's settings override takes effect at once."""

    def __init__(self, name: str, defaults: dict):
        self.name = name
        self.defaults = defaults

    def __call__(self, option: str):
        return getattr(settings, self.name, {}).get(option, self.defaults[option])


realtime_setting = Options("REALTIME", DEFAULTS)
