"""Writes to one Foo at once: the row lock orders them, If-Match refuses the one that read a
stale version, and `version` counts every write."""

import contextlib
import threading

import pytest
from django.db.models.signals import pre_delete, pre_save

from api.models import Foo
from tests.api.concurrency import HoldTheRowLock, at_once, logged_in_clients
from tests.api.foos_support import detail_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clients(user):
    return logged_in_clients(user)


def patch(client, foo, bar, **headers):
    return lambda: client.patch(detail_url(foo), {"bar": bar}, format="json", **headers)


@pytest.mark.postgres
def test_concurrent_patches_with_the_same_if_match_give_one_200_and_one_412(foo, clients):
    # The PATCH that holds the row lock waits before its write until the other one is blocked on
    # that lock: otherwise that one could read version 1 and pass If-Match too.
    hold = HoldTheRowLock()
    first, second = clients

    responses = at_once(
        [patch(first, foo, "A", HTTP_IF_MATCH='"1"'), patch(second, foo, "B", HTTP_IF_MATCH='"1"')],
        hold=hold,
        sender=Foo,
    )

    assert hold.waiter_seen == [True], "the second PATCH never waited for the row lock"
    assert sorted(response.status_code for response in responses) == [200, 412]
    winner = next(response for response in responses if response.status_code == 200)
    foo.refresh_from_db()
    assert (foo.bar, foo.version) == (winner.json()["bar"], 2)


@pytest.mark.postgres
def test_concurrent_delete_and_patch_with_the_same_if_match_apply_one(foo, clients):
    # DELETE takes the row lock in the transaction it deletes in, as PATCH does: whichever
    # locks first wins, and the other then finds the row gone (404) or changed (412).
    hold = HoldTheRowLock()
    deleter, patcher = clients

    deleted, patched = at_once(
        [
            lambda: deleter.delete(detail_url(foo), HTTP_IF_MATCH='"1"'),
            patch(patcher, foo, "B", HTTP_IF_MATCH='"1"'),
        ],
        hold=hold,
        sender=Foo,
        signals=(pre_delete, pre_save),
    )

    assert hold.waiter_seen == [True], "the second request never waited for the row lock"
    stored = [*Foo.objects.values_list("bar", "version")]
    assert (deleted.status_code, patched.status_code, stored) in [
        (204, 404, []),
        (412, 200, [("B", 2)]),
    ]


def test_concurrent_patches_without_if_match_both_apply(foo, clients):
    # Two PATCHes that would both read the row before either writes: on SQLite the second could
    # not upgrade its read lock ("database is locked", a 500); everywhere the version must count
    # both.
    both_read = threading.Barrier(2, timeout=1)

    def wait_for_the_other_to_read(sender, instance, **kwargs):
        # Where the database lets the other PATCH read too, both reach this point; where it
        # makes it wait, the barrier breaks after a second and this one goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()

    first, second = clients
    responses = at_once(
        [patch(first, foo, "A"), patch(second, foo, "B")],
        hold=wait_for_the_other_to_read,
        sender=Foo,
    )

    assert [response.status_code for response in responses] == [200, 200]
    foo.refresh_from_db()
    assert foo.version == 3
