"""A socket's message budget: a burst, then `rate` messages a second, never more than a burst."""

import pytest

from realtime.throttling import TokenBucket


class Clock:
    """A clock that moves only when a test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def takes(bucket: TokenBucket, count: int) -> list[bool]:
    return [bucket.take() for _ in range(count)]


def test_a_full_bucket_allows_a_burst_of_its_capacity_then_refuses(clock):
    bucket = TokenBucket(capacity=3, rate=2, clock=clock)
    assert takes(bucket, 4) == [True, True, True, False]


def test_an_empty_bucket_refuses_until_a_token_has_refilled(clock):
    bucket = TokenBucket(capacity=3, rate=2, clock=clock)
    takes(bucket, 3)
    clock.now += 0.25
    assert bucket.take() is False
    clock.now += 0.25
    assert takes(bucket, 2) == [True, False]


def test_refill_after_t_seconds_is_rate_times_t(clock):
    bucket = TokenBucket(capacity=10, rate=2, clock=clock)
    takes(bucket, 10)
    clock.now += 2
    assert takes(bucket, 5) == [True, True, True, True, False]


def test_refill_stops_at_capacity(clock):
    bucket = TokenBucket(capacity=3, rate=2, clock=clock)
    takes(bucket, 3)
    clock.now += 3600
    assert takes(bucket, 4) == [True, True, True, False]


def test_several_tokens_are_taken_at_once_or_none(clock):
    bucket = TokenBucket(capacity=3, rate=2, clock=clock)
    assert bucket.take(2)
    assert not bucket.take(2)
    assert takes(bucket, 2) == [True, False]
