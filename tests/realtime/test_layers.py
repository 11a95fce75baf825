"""The Redis layer's receive ends when it is cancelled, whenever the cancellation arrives."""

import asyncio

import pytest
from channels.layers import get_channel_layer

pytestmark = pytest.mark.redis

# A receive that is not blocked in Redis ends at once; a blocked one as soon as its connection
# is closed. A lost cancellation shows as a receive still running after its 5 s blocking read.
ENDS_WITHIN = 2


async def test_a_receive_cancelled_at_any_turn_of_the_loop_ends():
    """What was tried: a receive on an empty channel, cancelled after 0, 1, 2... turns of the
    event loop, through its first commands (a script, then BZPOPMIN) to its blocking read.
    With redis-py's own connection on Python 3.11, a cancellation that arrived as a command's
    write completed was lost, and the receive blocked in one 5 s read after another."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for turns in range(40):
        receiving = asyncio.ensure_future(layer.receive(channel))
        for _ in range(turns):
            await asyncio.sleep(0)
        receiving.cancel()
        await asyncio.wait([receiving], timeout=ENDS_WITHIN)
        assert receiving.cancelled(), f"not cancelled after {turns} turns: {receiving!r}"
