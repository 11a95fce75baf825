import time
from collections.abc import Callable


class TokenBucket:
    """Allows a burst of `capacity` messages, refilled at `rate` per second of `clock`."""

    # One per socket: slots are a fifth of the size of an instance dict.
    __slots__ = ("capacity", "clock", "rate", "tokens", "updated")

    def __init__(self, capacity: int, rate: float, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.rate = rate
        self.clock = clock
        self.tokens = float(capacity)
        self.updated = clock()

    def take(self, count: int = 1) -> bool:
        """Takes `count` tokens if there are as many, else none."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < count:
            return False
        self.tokens -= count
        return True
