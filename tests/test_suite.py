"""How the suite keeps one test's leftovers from hanging another, and says so when one hangs."""

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async

from tests.support import settle

ROOT = Path(__file__).resolve().parent.parent


def test_sync_code_a_test_left_running_ends_before_its_loop_closes():
    """What `settled_loop` does after every async test: a socket's sync call still running on
    the shared thread when its test ends, which then waits on the test's loop (as a change's
    notification does), is served before the loop closes, so the thread is free for the next
    test (without it, the thread waited for the closed loop forever)."""
    served = threading.Event()

    async def notify():
        served.set()

    def still_running_when_the_test_ends():
        time.sleep(0.2)
        async_to_sync(notify)()

    async def a_test():
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def job():
            loop.call_soon_threadsafe(started.set)
            still_running_when_the_test_ends()

        left_running = asyncio.ensure_future(sync_to_async(job)())
        await started.wait()
        await settle()
        assert left_running.cancelled()

    asyncio.run(a_test())
    assert served.is_set()
    assert SyncToAsync.single_thread_executor.submit(lambda: "free").result(timeout=5) == "free"


def test_a_hung_test_stops_the_run_naming_what_its_tasks_wait_for(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (tmp_path / "conftest.py").write_text("import tests.hangs\n\ntests.hangs.HANG_SECONDS = 1\n")
    (tmp_path / "test_hang.py").write_text(
        textwrap.dedent(
            """
            import asyncio

            async def wait_for_nothing():
                await asyncio.get_running_loop().create_future()

            async def test_hangs():
                await wait_for_nothing()
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.hangs", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3
    assert "test_hang.py::test_hangs has run for 1 s: stopping the run." in run.stderr
    tasks, threads = run.stderr.split("\nPending asyncio tasks:\n")[1].split("\nThreads:\n")
    assert "in test_hangs" in tasks
    assert "in wait_for_nothing\n    await asyncio.get_running_loop().create_future()" in tasks
    assert "wait_for=<Future pending" in tasks
    assert "Current thread" in threads or "Thread 0x" in threads
