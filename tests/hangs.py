"""A test that hangs stops the run, saying what each thread and each task was waiting for.

An asyncio test that hangs leaves nothing to read: the main thread sits in `select()` for a
task that nothing will wake, and CI runs into its time limit with the last test's name as the
only clue. pytest's own `faulthandler_timeout` prints the threads, not the tasks, where the
answer is. After HANG_SECONDS (longer than the slowest test, the bench's smoke run), this
prints both to stderr and exits with status 3.
"""

import asyncio
import faulthandler
import gc
import os
import threading
import traceback

import pytest

HANG_SECONDS = 600

# The terminal's stderr, taken before pytest captures it (`-p tests.hangs` loads this first):
# a test's captured output is lost on exit.
STDERR = os.fdopen(os.dup(2), "w")


def described(task: asyncio.Task) -> str:
    """A task's repr (which says what it waits for) and the chain of awaits it is stopped in."""
    lines = [repr(task)]
    awaited = task.get_coro()
    while getattr(awaited, "cr_frame", None) is not None:
        lines.append(traceback.format_stack(awaited.cr_frame, limit=1)[0].rstrip())
        awaited = awaited.cr_await
    return "\n".join(lines)


def print_tasks(out) -> None:
    """Every pending task of every open loop."""
    for loop in [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]:
        if not loop.is_closed():
            for task in asyncio.all_tasks(loop):
                print(described(task), file=out)


def hung(nodeid: str) -> None:
    print(f"\n{nodeid} has run for {HANG_SECONDS} s: stopping the run.", file=STDERR)
    print("\nPending asyncio tasks:", file=STDERR)
    print_tasks(STDERR)
    print("\nThreads:", file=STDERR, flush=True)
    faulthandler.dump_traceback(STDERR, all_threads=True)
    os._exit(3)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Setup, call and teardown of one test, under the watch."""
    timer = threading.Timer(HANG_SECONDS, hung, args=[item.nodeid])
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()
