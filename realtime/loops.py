"""One object per event loop: Daphne runs one loop per process, a test runs one of its own."""

import asyncio
import weakref
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """Called, returns the object of `loop` (the running one by default), made by `factory` on
    first use; it goes with its loop, so a closed test loop leaves nothing behind."""

    def __init__(self, factory: Callable[[], T]):
        self.factory = factory
        self._objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, loop: asyncio.AbstractEventLoop | None = None) -> T:
        loop = loop or asyncio.get_running_loop()
        made = self._objects.get(loop)
        if made is None:
            made = self._objects[loop] = self.factory()
        return made

    def __iter__(self) -> Iterator[T]:
        """The objects made so far, of every loop."""
        return iter(list(self._objects.values()))

    def discard(self, loop: asyncio.AbstractEventLoop) -> None:
        """Forgets `loop`'s object: the next call makes a new one."""
        self._objects.pop(loop, None)
