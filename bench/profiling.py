"""Where the server's time goes (BENCH_PROFILE=1): py-spy samples our Daphne process during the
Foo fan-out's in-flight phase at the largest N and during the many-objects run, and the samples
are summarised by function, by area (realtime/hub.py, daphne, autobahn, twisted, channels_redis,
...) and along the delivery's hot path. Shares are of the samples py-spy took of busy threads.

py-spy attaches with ptrace; where that is not allowed the run goes on without a profile, and
says why.
"""

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# First match wins: a frame's file is attributed to the first area whose marker it contains.
AREAS = (
    ("realtime/hub.py", "realtime/hub.py"),
    ("realtime/", "realtime (other)"),
    ("api/", "api"),
    ("daphne/", "daphne"),
    ("autobahn/", "autobahn"),
    ("twisted/", "twisted"),
    ("channels_redis/", "channels_redis"),
    ("redis/", "redis-py"),
    ("channels/", "channels"),
    ("asgiref/", "asgiref"),
    ("rest_framework/", "rest_framework"),
    ("django/db/", "django.db"),
    ("django/", "django (other)"),
    ("psycopg", "psycopg"),
    ("asyncio/", "asyncio"),
    ("json/", "json"),
    ("msgpack", "msgpack"),
)


# The hot path of a delivery, outermost first, and the REST side: inclusive shares of these are
# reported on their own (a sample counts for each of them found in its stack).
FOCUS = (
    ("Hub._receive (realtime/hub.py", "realtime hub: receive + deliver"),
    ("Hub._deliver (realtime/hub.py", "realtime hub: _deliver loop"),
    ("NotificationsConsumer.deliver (realtime/consumers.py", "consumer.deliver"),
    ("AsyncWebsocketConsumer.send (channels/", "channels consumer.send"),
    (
        "InstanceSessionWrapper.send (channels/sessions.py",
        "channels SessionMiddleware send wrapper",
    ),
    ("Server.handle_reply (daphne/server.py", "daphne Server.handle_reply"),
    ("WebSocketProtocol.serverSend (daphne/", "daphne serverSend (utf-8 encode per socket)"),
    ("WebSocketProtocol.sendMessage (autobahn/", "autobahn sendMessage"),
    ("WebSocketProtocol.sendFrame (autobahn/", "autobahn sendFrame"),
    ("hl (autobahn/util.py", "autobahn hl()/click.style for a debug log, per frame"),
    ("FileDescriptor.startWriting (twisted/", "twisted startWriting (asyncio add_writer)"),
    ("FileDescriptor.doWrite (twisted/", "twisted doWrite (the send() syscalls)"),
    ("_PollLikeSelector.modify (selectors.py", "epoll modify (add/remove writer)"),
    ("RedisChannelLayer.receive (channels_redis/", "channels_redis receive"),
    ("group_send (channels", "channel layer group_send"),
    ("APIView.dispatch (rest_framework/", "REST: DRF view"),
    ("ASGIHandler.handle (django/", "REST: Django ASGI handler"),
    ("BaseDatabaseWrapper._commit (django/", "REST: database commit"),
    ("Logger._log (logging/", "logging"),
)


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def area(frame: str) -> str:
    for marker, name in AREAS:
        if marker in frame:
            return name
    return "other (stdlib, builtins)"


def summarise(raw: str, top: int = 25) -> dict:
    """Shares (% of samples) of threads, areas and functions in py-spy's raw (collapsed) output."""
    samples = Samples()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            thread, *frames = stack.split(";")
            samples.add(thread, frames, int(count))
    return samples.summary(top)


def shares(counter: Counter, total: int, limit: int | None = None) -> list:
    return [[key, round(100 * value / total, 1)] for key, value in counter.most_common(limit)]


class Samples:
    """py-spy's samples counted by thread, area and function (self and inclusive), and along the
    hot path (FOCUS); for all threads, and for the event loop's alone."""

    def __init__(self):
        self.threads, self.self_fn, self.incl_fn = Counter(), Counter(), Counter()
        self.self_area, self.incl_area, self.focus = Counter(), Counter(), Counter()
        self.loop_focus, self.loop_self = Counter(), Counter()
        self.total = self.loop_total = 0

    def add(self, thread: str, frames: list[str], count: int) -> None:
        self.total += count
        self.threads[thread.split(": ", 1)[-1]] += count
        if not frames:
            return
        self.self_fn[frames[-1]] += count
        self.self_area[area(frames[-1])] += count
        for frame in set(frames):
            self.incl_fn[frame] += count
        for name in {area(frame) for frame in frames}:
            self.incl_area[name] += count
        on_loop = thread.endswith("MainThread")
        if on_loop:
            self.loop_total += count
            self.loop_self[frames[-1]] += count
        for marker, name in FOCUS:
            if any(marker in frame for frame in frames):
                self.focus[name] += count
                if on_loop:
                    self.loop_focus[name] += count

    def summary(self, top: int) -> dict:
        if not self.total:
            return {"samples": 0}
        total, loop = self.total, max(self.loop_total, 1)
        return {
            "samples": total,
            "threads_pct": shares(self.threads, total),
            "self_by_area_pct": shares(self.self_area, total),
            "inclusive_by_area_pct": shares(self.incl_area, total),
            "hot_path_pct": [[name, round(100 * self.focus[name] / total, 1)] for _, name in FOCUS],
            # The event loop's thread alone: the serial part, where every frame is written.
            "loop_samples": self.loop_total,
            "loop_hot_path_pct": [
                [name, round(100 * self.loop_focus[name] / loop, 1)] for _, name in FOCUS
            ],
            "loop_self_by_function_pct": shares(self.loop_self, loop, top),
            "self_by_function_pct": shares(self.self_fn, total, top),
            "inclusive_by_function_pct": shares(self.incl_fn, total, top),
        }


class Recorder:
    """py-spy recording a process from construction to stop()."""

    def __init__(self, target, options, label: str, rate: int = 250):
        self.label = label
        slug = target.name.replace("/", "-")
        self.path = Path(options.out_dir) / f"profile-{slug}-{label}.txt"
        self.result: dict = {}
        self.process = None
        binary = py_spy()
        if binary is None:
            self.result = {
                "error": "py-spy is not installed (pip install -r bench/requirements.txt)"
            }
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "record",
                "--pid",
                str(target.pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--function",
                "--threads",
                "--nonblocking",
                "--output",
                str(self.path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        if not self.path.exists():
            self.result = {"error": f"py-spy wrote no profile: {output.strip()[-500:]}"}
            return
        self.result = {
            "label": self.label,
            "raw": str(self.path),
            **summarise(self.path.read_text()),
        }
