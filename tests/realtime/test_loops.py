"""One object per event loop: the hub, the session watcher and the socket counts rest on it."""

import asyncio

from realtime.loops import PerLoop


async def made_twice(per_loop: PerLoop) -> tuple:
    return per_loop(), per_loop()


def test_each_loop_has_one_object_of_its_own():
    per_loop = PerLoop(object)
    first, again = asyncio.run(made_twice(per_loop))
    other, _ = asyncio.run(made_twice(per_loop))
    assert first is again
    assert other is not first


async def test_a_loop_given_by_name_is_that_loops_object():
    per_loop = PerLoop(object)
    assert per_loop(asyncio.get_running_loop()) is per_loop()


async def test_a_discarded_object_is_made_anew():
    per_loop = PerLoop(object)
    first = per_loop()
    per_loop.discard(asyncio.get_running_loop())
    assert per_loop() is not first
    assert list(per_loop) == [per_loop()]
