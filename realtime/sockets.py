"""The sockets open in this process: what the socket limits count, and what a drain closes.

Counted per process and per user in memory, not across the cluster in Redis: a socket is then
admitted without a round trip, and a process that dies takes its counts with it (a count in
Redis would outlive a killed process and refuse a user's sockets that no longer exist). So a
user may hold `MAX_SOCKETS_PER_USER` sockets on each process behind the load balancer: the
limit protects a process from one user, not the cluster.
"""

import collections

from realtime.close_codes import CloseCode
from realtime.conf import realtime_setting
from realtime.loops import PerLoop
from realtime.metrics import SOCKETS_OPEN


class OpenSockets:
    def __init__(self):
        # Each open socket, with the pk of its user (None: anonymous).
        self.sockets: dict = {}
        self.per_user: collections.Counter = collections.Counter()

    def admit(self, socket, user_pk: int | None) -> CloseCode | None:
        """Counts `socket` in, or returns the code to close it with if it is one too many."""
        if len(self.sockets) >= realtime_setting("MAX_SOCKETS"):
            return CloseCode.SERVER_FULL
        if user_pk is not None and self.per_user[user_pk] >= realtime_setting(
            "MAX_SOCKETS_PER_USER"
        ):
            return CloseCode.TOO_MANY_SOCKETS
        self.sockets[socket] = user_pk
        if user_pk is not None:
            self.per_user[user_pk] += 1
        SOCKETS_OPEN.inc()
        return None

    def remove(self, socket) -> None:
        """Counts `socket` out, if it was counted in."""
        if socket not in self.sockets:
            return
        user_pk = self.sockets.pop(socket)
        if user_pk is not None:
            self.per_user[user_pk] -= 1
            if not self.per_user[user_pk]:
                del self.per_user[user_pk]
        SOCKETS_OPEN.dec()


# The sockets of a loop (the running one by default): Daphne runs one per process.
open_sockets: PerLoop[OpenSockets] = PerLoop(OpenSockets)
