"""The load client in Python (asyncio + websockets), speaking bench/clients.py's protocol.

bench/client/client.mjs is the one for measuring; this one lets the smoke test drive the real
harness without Node, and is a fallback (BENCH_CLIENT=python) where Node is missing. HTTP goes
through http.client in worker threads, one keep-alive connection per thread.
"""

import asyncio
import http.client as http_client
import json
import random
import secrets
import sys
import threading
import time
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

RUN = secrets.token_hex(3)


def now() -> float:
    return time.perf_counter() * 1000


class Update:
    __slots__ = ("arrivals", "expected", "first", "key", "last", "n")

    def __init__(self, key: str, expected: int, keep: bool):
        self.key, self.expected, self.n = key, expected, 0
        self.first = self.last = 0.0
        self.arrivals = [] if keep else None


class Socket:
    def __init__(self, connection, full, subs):
        self.connection = connection
        self.full = full
        self.subs = subs
        self.waiting: dict = {}
        self.reader: asyncio.Task | None = None


class PyClient:
    def __init__(self):
        self.sockets: set[Socket] = set()
        self.subscribers: dict[str, int] = {}
        self.versions: dict[str, int] = {}
        self.updates: dict[str, Update] = {}
        self.counters = dict.fromkeys(
            (
                "messages",
                "errors",
                "wrong_representation",
                "over_delivered",
                "unexpected",
                "closed",
            ),
            0,
        )
        self.error_samples: list = []
        self.on_delivery = None
        self.keep_arrivals = False
        self.probe_counts: dict | None = None
        self.seq = 0
        self.local = threading.local()

    # --- events -------------------------------------------------------------------------------

    def record(self, key: str) -> Update:
        update = self.updates.get(key)
        if update is None:
            obj = key.rsplit("|", 1)[0]
            update = self.updates[key] = Update(
                key, self.subscribers.get(obj, 0), self.keep_arrivals
            )
        return update

    def on_message(self, socket: Socket, text: str) -> None:
        t = now()
        self.counters["messages"] += 1
        message = json.loads(text)
        kind, meta, payload = message["type"], message["meta"], message["payload"]
        if kind == "SUBSCRIBED":
            obj = f"{payload['model']}|{payload['id']}"
            self.versions[obj] = max(self.versions.get(obj, 0), payload["version"])
            waiter = socket.waiting.pop(meta.get("request_id"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif kind.startswith("UPDATE_"):
            obj = f"{meta['model']}|{meta['id']}"
            self.versions[obj] = max(self.versions.get(obj, 0), meta["version"])
            if (
                socket.full is not None
                and meta["model"] == "api.User"
                and ("email" in payload) != socket.full
            ):
                self.counters["wrong_representation"] += 1
            if self.probe_counts is not None:
                flag = {True: "true", False: "false", None: "null"}[socket.full]
                self.probe_counts[flag] = self.probe_counts.get(flag, 0) + 1
            update = self.record(f"{obj}|{meta['version']}")
            update.n += 1
            if update.n == 1:
                update.first = t
            update.last = t
            if update.n > update.expected > 0:
                self.counters["over_delivered"] += 1
            if update.arrivals is not None:
                update.arrivals.append(t)
            if self.on_delivery is not None:
                self.on_delivery(update)
        elif kind == "ERROR":
            self.counters["errors"] += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(payload)
            waiter = socket.waiting.pop(meta.get("request_id"), None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(RuntimeError(f"{payload['code']}: {payload['detail']}"))
        else:
            self.counters["unexpected"] += 1

    # --- HTTP ---------------------------------------------------------------------------------

    def _request(self, base, method, path, cookie=None, csrftoken=None, body=None) -> dict:
        headers = {"Accept": "application/json"}
        if cookie:
            headers["Cookie"] = cookie
        if csrftoken:
            headers["X-CSRFToken"] = csrftoken
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            connection = getattr(self.local, "connection", None)
            reused = connection is not None
            if connection is None:
                parts = urlsplit(base)
                connection = self.local.connection = http_client.HTTPConnection(
                    parts.hostname, parts.port
                )
            sent = now()
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                content = response.read()
                break
            except (http_client.HTTPException, OSError):
                connection.close()
                self.local.connection = None
                # A kept-alive connection to a server that has since restarted: retry once.
                if not reused or attempt == 2:
                    raise
        received = now()
        jar = {}
        for line in response.headers.get_all("Set-Cookie") or []:
            name, _, value = line.split(";", 1)[0].partition("=")
            jar[name.strip()] = value.strip()
        is_json = "json" in (response.headers.get("Content-Type") or "")
        return {
            "status": response.status,
            "json": json.loads(content) if content and is_json else None,
            "cookies": jar,
            "sent": sent,
            "received": received,
        }

    async def request(self, *args, **kwargs) -> dict:
        return await asyncio.to_thread(self._request, *args, **kwargs)

    async def patch(self, base, target) -> dict:
        self.seq += 1
        return await self.request(
            base,
            "PATCH",
            target["path"],
            cookie=target["cookie"],
            csrftoken=target["csrftoken"],
            body={target["field"]: f"{RUN}-{self.seq}"},
        )

    # --- commands -----------------------------------------------------------------------------

    async def csrf(self, http):
        response = await self.request(http, "GET", "/api/auth/csrf")
        return {"csrftoken": response["cookies"]["csrftoken"]}

    async def login(self, http, username, password):
        csrftoken = (await self.csrf(http))["csrftoken"]
        response = await self.request(
            http,
            "POST",
            "/api/auth/login",
            cookie=f"csrftoken={csrftoken}",
            csrftoken=csrftoken,
            body={"username": username, "password": password},
        )
        if response["status"] != 200:
            raise RuntimeError(f"login of {username}: HTTP {response['status']}")
        jar = response["cookies"]
        return {
            "sessionid": jar["sessionid"],
            "csrftoken": jar.get("csrftoken", csrftoken),
            "user": response["json"],
        }

    async def _open_one(self, ws, origin, spec, confirm):
        connection = await connect(
            ws,
            origin=origin,
            additional_headers={"Cookie": spec["cookie"]},
            compression=None,
            max_queue=None,
            ping_interval=None,
        )
        socket = Socket(connection, spec.get("full"), spec["subs"])
        self.sockets.add(socket)
        socket.reader = asyncio.create_task(self._read(socket))
        loop = asyncio.get_running_loop()
        confirmations = []
        for index, (model, public_id) in enumerate(spec["subs"]):
            message = {"model": model, "id": public_id}
            if confirm == "all" or index == len(spec["subs"]) - 1:
                message["request_id"] = index + 1
                socket.waiting[index + 1] = future = loop.create_future()
                confirmations.append(future)
            await connection.send(json.dumps(message))
        await asyncio.gather(*confirmations)
        for model, public_id in spec["subs"]:
            obj = f"{model}|{public_id}"
            self.subscribers[obj] = self.subscribers.get(obj, 0) + 1

    async def _read(self, socket):
        try:
            async for text in socket.connection:
                self.on_message(socket, text)
        except Exception:
            pass
        finally:
            self.counters["closed"] += 1
            self.sockets.discard(socket)
            for waiter in socket.waiting.values():
                if not waiter.done():
                    waiter.set_exception(RuntimeError("socket closed"))

    async def open(self, ws, origin, sockets, concurrency=64, confirm="all"):
        started = now()
        specs = iter(sockets)
        failures = []

        async def worker():
            for spec in specs:
                try:
                    await self._open_one(ws, origin, spec, confirm)
                except Exception as error:
                    failures.append(str(error))

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(sockets)) or 1)))
        return {
            "opened": len(sockets) - len(failures),
            "failed": len(failures),
            "failures": failures[:5],
            "seconds": (now() - started) / 1000,
        }

    async def close(self):
        sockets = list(self.sockets)
        await asyncio.gather(
            *(socket.connection.close() for socket in sockets), return_exceptions=True
        )
        await asyncio.gather(*(socket.reader for socket in sockets), return_exceptions=True)
        self.subscribers.clear()
        self.versions.clear()
        self.updates.clear()
        return {"closed": len(sockets)}

    async def complete(self, update: Update, timeout: float) -> bool:  # noqa: ASYNC109 (ms)
        if update.n >= update.expected:
            return True
        done = asyncio.get_running_loop().create_future()

        def hook(delivered):
            if delivered is update and update.n >= update.expected and not done.done():
                done.set_result(True)

        self.on_delivery = hook
        try:
            return await asyncio.wait_for(done, timeout / 1000)
        except TimeoutError:
            return False
        finally:
            self.on_delivery = None

    async def rounds(self, http, target, rounds, timeout=10000, pause=0):  # noqa: ASYNC109 (protocol, ms)
        self.updates.clear()
        obj = f"{target['model']}|{target['id']}"
        out = {
            "resp": [],
            "first": [],
            "last": [],
            "timeouts": 0,
            "http_errors": 0,
            "version_mismatch": 0,
        }
        out["expected"] = self.subscribers.get(obj, 0)
        for _ in range(rounds):
            version = self.versions.get(obj, 0) + 1
            response = await self.patch(http, target)
            if response["status"] != 200:
                out["http_errors"] += 1
                continue
            answered = (response["json"] or {}).get("version")
            if answered is not None and answered != version:
                out["version_mismatch"] += 1
                version = answered
            key = f"{obj}|{version}"
            update = self.record(key)
            ok = await self.complete(update, timeout)
            self.updates.pop(key, None)
            if not ok:
                out["timeouts"] += 1
                continue
            out["resp"].append(response["received"] - response["sent"])
            out["first"].append(update.first - response["sent"])
            out["last"].append(update.last - response["sent"])
            if pause:
                await asyncio.sleep(pause / 1000)
        return out

    async def inflight(self, http, target, inflight=20, seconds=5, timeout=10000):  # noqa: ASYNC109 (protocol, ms)
        self.updates.clear()
        obj = f"{target['model']}|{target['id']}"
        out = {
            "expected": self.subscribers.get(obj, 0),
            "updates": 0,
            "completed": 0,
            "deliveries": 0,
        }
        out |= {"http_errors": 0, "stalled": False}
        started = now()
        state = {"progress": started, "finished": started}
        done = asyncio.get_running_loop().create_future()
        tasks = set()

        async def one():
            try:
                response = await self.patch(http, target)
                ok = response["status"] == 200
            except (OSError, http_client.HTTPException):
                ok = False
            if not ok:
                # A failed PATCH makes no event: its slot goes to a new one, and it is counted.
                out["http_errors"] += 1
                out["updates"] -= 1
                if now() - started < seconds * 1000 and out["http_errors"] < 1000:
                    launch()
                elif out["completed"] >= out["updates"] and not done.done():
                    done.set_result(None)

        def launch():
            out["updates"] += 1
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def hook(update):
            out["deliveries"] += 1
            state["progress"] = now()
            while out["deliveries"] >= (out["completed"] + 1) * out["expected"]:
                out["completed"] += 1
                state["finished"] = state["progress"]
                if state["finished"] - started < seconds * 1000:
                    launch()
                elif out["completed"] >= out["updates"] and not done.done():
                    done.set_result(None)

        self.on_delivery = hook
        for _ in range(inflight):
            launch()
        while not done.done():
            await asyncio.wait([done], timeout=0.1)
            if now() - state["progress"] > timeout:
                out["stalled"] = True
                break
        self.on_delivery = None
        await asyncio.gather(*tasks, return_exceptions=True)
        self.updates.clear()
        out["seconds"] = (state["finished"] - started) / 1000
        return out

    async def rate(self, http, targets, rate, seconds, drain=5000, max_inflight=2000):
        self.updates.clear()
        self.keep_arrivals = True
        out = {"sent": 0, "responded": 0, "skipped": 0, "http_errors": 0, "completed": 0}
        out |= {
            "deliveries": 0,
            "expected_deliveries": 0,
            "resp": [],
            "lat_resp": [],
            "lat_send": [],
        }
        pending: dict[str, dict] = {}
        in_flight = 0
        tasks = set()

        def settle(key):
            update, timing = self.updates.get(key), pending.get(key)
            if update is None or timing is None or update.n < update.expected:
                return
            out["lat_resp"] += [t - timing["received"] for t in update.arrivals]
            out["lat_send"] += [t - timing["sent"] for t in update.arrivals]
            out["completed"] += 1
            del self.updates[key], pending[key]

        def hook(update):
            out["deliveries"] += 1
            if update.n >= update.expected:
                settle(update.key)

        async def one(target):
            nonlocal in_flight
            try:
                response = await self.patch(http, target)
            except (OSError, http_client.HTTPException):
                out["http_errors"] += 1
                return
            finally:
                in_flight -= 1
            version = (response["json"] or {}).get("version")
            if response["status"] != 200 or version is None:
                out["http_errors"] += 1
                return
            out["responded"] += 1
            out["resp"].append(response["received"] - response["sent"])
            key = f"{target['model']}|{target['id']}|{version}"
            out["expected_deliveries"] += self.record(key).expected
            pending[key] = response
            settle(key)

        self.on_delivery = hook
        order = list(range(len(targets)))
        random.shuffle(order)
        interval = 1000 / rate
        started = now()
        while now() - started < seconds * 1000:
            due = int((now() - started) / interval) + 1
            while out["sent"] + out["skipped"] < due:
                if in_flight >= max_inflight:
                    out["skipped"] += 1
                    continue
                target = targets[order[(out["sent"] + out["skipped"]) % len(order)]]
                out["sent"] += 1
                in_flight += 1
                task = asyncio.create_task(one(target))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            wake = started + (out["sent"] + out["skipped"]) * interval
            await asyncio.sleep(max(0.0, min(interval, wake - now())) / 1000)
        out["send_seconds"] = (now() - started) / 1000
        deadline = now() + drain
        while (in_flight or pending) and now() < deadline:  # noqa: ASYNC110 (a deadline poll)
            await asyncio.sleep(0.02)
        out["seconds"] = (now() - started) / 1000
        out["incomplete"], out["unanswered"] = len(pending), in_flight
        self.on_delivery = None
        self.keep_arrivals = False
        self.updates.clear()
        return out

    async def probe(self, http, target, wait=1000):
        self.updates.clear()
        self.probe_counts = counts = {}
        response = await self.patch(http, target)
        await asyncio.sleep(wait / 1000)
        self.probe_counts = None
        self.updates.clear()
        return {"status": response["status"], "by_full": counts}

    async def expect(self, model, id, count):
        self.subscribers[f"{model}|{id}"] = count
        return {}

    async def counters_(self):
        return {**self.counters, "error_samples": self.error_samples, "sockets": len(self.sockets)}


async def main() -> None:
    client = PyClient()
    handlers = {
        "csrf": client.csrf,
        "login": client.login,
        "open": client.open,
        "close": client.close,
        "rounds": client.rounds,
        "inflight": client.inflight,
        "rate": client.rate,
        "counters": client.counters_,
        "probe": client.probe,
        "expect": client.expect,
    }
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            await client.close()
            print(json.dumps({"ok": True}), flush=True)
            break
        try:
            answer = {"ok": True, **await handlers[name](**command)}
        except Exception as error:
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
