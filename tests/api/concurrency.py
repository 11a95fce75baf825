"""Requests sent at once, each from a thread and a database session of its own, with a receiver
that holds the first write at the moment the race is decided."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from tests.support import wait_for_a_session_blocked_by_this_one


def logged_in_clients(user, count: int = 2) -> list[APIClient]:
    clients = [APIClient() for _ in range(count)]
    for client in clients:
        client.force_login(user)
    return clients


def at_once(requests, *, hold, sender, signals=(pre_save,)) -> list:
    """The responses to `requests` (callables, each sending one), sent at once, with `hold`
    receiving `signals` from `sender` meanwhile."""
    start = threading.Barrier(len(requests))

    def send(request):
        start.wait()
        try:
            return request()
        finally:
            connection.close()

    for signal in signals:
        signal.connect(hold, sender=sender)
    try:
        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(send, requests))
    finally:
        for signal in signals:
            signal.disconnect(hold, sender=sender)


class HoldTheRowLock:
    """A receiver for `at_once` on PostgreSQL: the first write, which holds the row lock, waits
    until another request is blocked on that lock, so that it cannot have read the row before.
    `waiter_seen` is `[True]` once it was, `[False]` if none came."""

    def __init__(self):
        self.waiter_seen = []

    def __call__(self, sender, instance, **kwargs):
        # Only a write under the row lock (a request's transaction): a save of the same model
        # elsewhere in the process (a login's `last_login`) holds no lock anyone waits for.
        # Patient: on a loaded machine the other request's thread may take seconds to run.
        if not self.waiter_seen and connection.in_atomic_block:
            self.waiter_seen.append(wait_for_a_session_blocked_by_this_one(timeout=30))
