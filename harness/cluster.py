"""The production shape's other processes, for the tests and the benchmark alike: a redis-server
of the caller's own, and HAProxy with the committed deploy/haproxy.cfg in front of web
processes started with harness.processes."""

import shutil
import signal
import subprocess
import time

import redis

from harness.processes import (
    ROOT,
    START_TIMEOUT,
    StartError,
    environment,
    free_port,
    get,
    wait_until,
)


class RedisServer:
    """A redis-server of the caller's own, on a free port and without persistence: one that a
    test may stop or shard over, never the machine's shared Redis, and whose `INFO` counts only
    its caller's traffic."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        """Starts the server, empty: on the same port again after `kill()`."""
        self.process = subprocess.Popen(
            [
                *["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"],
                *["--save", "", "--appendonly", "no"],
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until("redis-server", self.answers, self.process)

    def kill(self) -> None:
        """A crash: SIGKILL, and everything it held is gone."""
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)


def served_by(url: str, servers: int) -> set[str]:
    """The names of the processes that answer readiness through the load balancer at `url`,
    asked until `servers` of them have, or START_TIMEOUT passes."""
    names = set()
    deadline = time.monotonic() + START_TIMEOUT
    while len(names) < servers and time.monotonic() < deadline:
        answer = get(f"{url}/api/health/ready")
        if answer is not None and answer[0] == 200:
            names.add(answer[1]["X-Served-By"])
        else:
            time.sleep(0.1)
    return names


class HAProxy:
    """HAProxy with the committed deploy/haproxy.cfg in front of the web processes listening on
    `web_ports` of 127.0.0.1 (three: the config names web1..web3), up once every one of them
    answers readiness through it."""

    CONFIG = ROOT / "deploy" / "haproxy.cfg"
    MISSING = "needs HAProxy: apt-get install -y haproxy (.ci/run installs it)"

    def __init__(self, web_ports: list[int]):
        if shutil.which("haproxy") is None:
            raise StartError(self.MISSING)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = {f"WEB_{number}": f"127.0.0.1:{port}" for number, port in enumerate(web_ports, 1)}
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", self.CONFIG],
            env=environment(PORT=str(self.port), **servers),
            stdout=subprocess.DEVNULL,
        )
        answered = served_by(self.url, len(web_ports))
        if len(answered) < len(web_ports):
            self.stop()
            raise StartError(f"only {sorted(answered)} answered through HAProxy")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)
