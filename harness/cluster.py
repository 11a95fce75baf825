"""The production shape's other processes, for the tests and the benchmark alike: a redis-server
of the caller's own, and HAProxy with the committed deploy/haproxy.cfg in front of web
processes started with harness.processes."""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from harness.processes import (
    ROOT,
    START_TIMEOUT,
    StartError,
    environment,
    free_port,
    get,
    readiness,
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
    asked until `servers` of them have, or START_TIMEOUT passes. Only while the processes hold
    no connections: with `balance leastconn`, a process holding more than the others (open
    sockets) gets no new request at all, and would never be named."""
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
    answers readiness through it.

    Beside the committed config, a second one of the caller's own opens HAProxy's runtime API on
    a Unix socket, to ask which processes its health checks hold up (`in_rotation`)."""

    CONFIG = ROOT / "deploy" / "haproxy.cfg"
    MISSING = "needs HAProxy: apt-get install -y haproxy (.ci/run installs it)"

    def __init__(self, web_ports: list[int]):
        if shutil.which("haproxy") is None:
            raise StartError(self.MISSING)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.webs = {f"web{number}": port for number, port in enumerate(web_ports, 1)}
        self.directory = tempfile.TemporaryDirectory()
        self.runtime_api = Path(self.directory.name) / "haproxy.sock"
        runtime = Path(self.directory.name) / "runtime.cfg"
        runtime.write_text(f"global\n    stats socket {self.runtime_api} level user\n")
        # Its log (every request, and each health check's verdict) goes to a file, read back to
        # say why a process is out of rotation.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", self.CONFIG, "-f", runtime],
            env=environment(
                PORT=str(self.port),
                **{
                    f"WEB_{number}": f"127.0.0.1:{port}" for number, port in enumerate(web_ports, 1)
                },
            ),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        answered = served_by(self.url, len(web_ports))
        if len(answered) < len(web_ports):
            why = self.unreached(answered)
            self.stop()
            raise StartError(why)

    def in_rotation(self) -> set[str]:
        """The web processes HAProxy sends new connections to: those its health checks hold up
        (operational state 2 in the runtime API's `show servers state`)."""
        with socket.socket(socket.AF_UNIX) as api:
            api.connect(str(self.runtime_api))
            api.sendall(b"show servers state web\n")
            state = b"".join(iter(lambda: api.recv(65536), b"")).decode()
        # A format version, a header, then: be_id be_name srv_id srv_name srv_addr srv_op_state ...
        rows = [line.split() for line in state.splitlines()[2:] if line]
        return {row[3] for row in rows if row[5] == "2"}

    def wait_in_rotation(self, timeout: float = START_TIMEOUT) -> float:
        """Waits until every web process is in rotation: seconds waited. Under load a process
        may answer its health check late, and HAProxy then takes it out for a while
        (deploy/haproxy.cfg: 2 s, twice). RuntimeError saying why after `timeout`."""
        started = time.monotonic()
        while (up := self.in_rotation()) != set(self.webs):
            if time.monotonic() - started >= timeout:
                raise RuntimeError(self.unreached(up))
            time.sleep(0.1)
        return round(time.monotonic() - started, 3)

    def unreached(self, reached: set[str]) -> str:
        """Why the web processes missing from `reached` are out of reach: what HAProxy's health
        checks last said, and what each process answers readiness at its own port."""
        self.log.seek(0)
        verdicts = [
            line.strip()
            for line in self.log.read().decode(errors="replace").splitlines()
            if "is DOWN" in line or "is UP" in line
        ]
        lines = [f"the load balancer reaches only {sorted(reached)}", *verdicts[-10:]]
        lines += [f"{name} at its own port: {readiness(port)}" for name, port in self.webs.items()]
        return "\n".join(lines)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=START_TIMEOUT)
        self.log.close()
        self.directory.cleanup()
