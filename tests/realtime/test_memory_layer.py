"""The in-memory layer's expiries: what it deletes, its reader hears of, and keeps hearing."""

import asyncio

import pytest

from realtime.layers import InMemoryChannelLayer


async def test_a_message_that_expired_unread_costs_the_groups_not_the_reader():
    """What was tried: a reader waiting on its channel (as the hub waits), a message to its
    group that expires before the reader runs, then the group's next message. Channels deletes
    the first and takes the channel out of its groups, so the second reaches no one: the
    channel's memberships are reported lost once, and, joined again, the reader hears the
    group. (Channels' own layer dropped the emptied queue under the waiting reader, which then
    heard nothing ever again.)"""
    layer = InMemoryChannelLayer(expiry=0)
    channel = await layer.new_channel()
    await layer.group_add("followed", channel)
    reading = asyncio.ensure_future(layer.receive_many(channel, 10))
    await asyncio.sleep(0)

    # Neither send yields to the reader.
    await layer.group_send("followed", {"type": "expires"})
    await layer.group_send("followed", {"type": "unheard"})

    assert not await layer.memberships_kept(channel)
    assert await layer.memberships_kept(channel)
    layer.expiry = 60
    await layer.group_add("followed", channel)
    await layer.group_send("followed", {"type": "heard"})
    assert await asyncio.wait_for(reading, timeout=1) == [{"type": "heard"}]


async def test_a_membership_ends_after_the_group_expiry():
    """As in Channels' own layer: the hub joins its groups again before they expire."""
    # Memberships expire before they are made: the next operation ends this one.
    layer = InMemoryChannelLayer(group_expiry=-1)
    channel = await layer.new_channel()
    await layer.group_add("followed", channel)

    await layer.group_send("followed", {"type": "unheard"})

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive_many(channel, 10), timeout=0.2)
    # Not a loss: nothing was deleted that the channel had not read.
    assert await layer.memberships_kept(channel)
