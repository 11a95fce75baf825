// Load client of the realtime benchmark, driven by bench/run.py.
//
// One command per line of JSON on stdin, one answer per line of JSON on stdout (the protocol is
// described in bench/clients.py). Times are milliseconds from performance.now(); an update is
// matched to its events by model, public id and version.

import readline from "node:readline";
import WebSocket from "ws";
import {
  audience,
  complete,
  counters,
  errorSamples,
  followers,
  hooks,
  onMessage,
  record,
  sockets,
  subscribers,
  updates,
  versions,
} from "./deliveries.mjs";
import { csrf, login, now, patch, sleep, succeeded, unrelatedRequests } from "./http.mjs";
import { lost, reset as resetReconnecting, resynced, stop as stopReconnecting } from "./reconnect.mjs";

// Opens one socket and subscribes: one message per subscription, or all of them in one
// `{"subscribe": [...]}` batch. An error before the handshake completes is marked `handshake`.
function openSocket(url, origin, spec, confirm, batch) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { Origin: origin, Cookie: spec.cookie },
      perMessageDeflate: false,
    });
    const socket = { ws, waiting: new Map(), full: spec.full ?? null, subs: spec.subs, server: null };
    // Behind the load balancer, the process that holds the socket (deploy/haproxy.cfg).
    ws.on("upgrade", (response) => {
      socket.server = response.headers["x-served-by"] ?? null;
    });
    ws.on("message", (data) => onMessage(socket, data));
    ws.on("close", () => {
      counters.closed += 1;
      sockets.delete(socket);
      for (const waiter of socket.waiting.values()) waiter.reject(new Error("socket closed"));
      if (socket.ready && spec.reconnect) {
        const { ws: again, origin: from } = spec.reconnect;
        lost(() => openSocket(again, from, { ...spec, counted: true }, "all"));
      }
    });
    let opened = false;
    ws.on("error", (error) => {
      error.handshake = !opened;
      reject(error);
    });
    ws.on("open", async () => {
      opened = true;
      sockets.add(socket);
      try {
        const confirmations = [];
        const messages = spec.subs.map(([model, id], index) => {
          // Without an id: the model's collection.
          const message = id === null ? { model } : { model, id };
          if (confirm === "all" || index === spec.subs.length - 1) {
            message.request_id = index + 1;
            confirmations.push(
              new Promise((ok, ko) => socket.waiting.set(index + 1, { resolve: ok, reject: ko })),
            );
          }
          return message;
        });
        if (batch) ws.send(JSON.stringify({ subscribe: messages }));
        else for (const message of messages) ws.send(JSON.stringify(message));
        // A socket handles its messages in order: the last confirmation covers the others.
        await Promise.all(confirmations);
        // A socket opened again after a loss is counted already.
        for (const [model, id] of spec.counted ? [] : spec.subs) {
          const [counts, key] = id === null ? [followers, model] : [subscribers, `${model}|${id}`];
          counts.set(key, (counts.get(key) || 0) + 1);
        }
        socket.ready = true;
        resolve(socket);
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function open({ ws: url, origin, sockets: specs, concurrency = 64, confirm = "all", batch = false }) {
  const started = now();
  let next = 0;
  let failed = 0;
  let handshakeFailed = 0;
  const failures = [];
  const byServer = {};
  async function worker() {
    while (next < specs.length) {
      const spec = specs[next++];
      try {
        const { server } = await openSocket(url, origin, spec, confirm, batch);
        byServer[String(server)] = (byServer[String(server)] || 0) + 1;
      } catch (error) {
        failed += 1;
        if (error.handshake) handshakeFailed += 1;
        if (failures.length < 5) failures.push(String(error.message || error));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return {
    opened: specs.length - failed,
    failed,
    handshake_failed: handshakeFailed,
    failures,
    seconds: (now() - started) / 1000,
    by_server: byServer,
  };
}

async function close() {
  stopReconnecting();
  const closing = [...sockets].map(
    (socket) =>
      new Promise((resolve) => {
        socket.ws.once("close", resolve);
        socket.ws.close();
        setTimeout(() => {
          socket.ws.terminate();
          resolve();
        }, 5000);
      }),
  );
  await Promise.all(closing);
  resetReconnecting();
  subscribers.clear();
  followers.clear();
  versions.clear();
  updates.clear();
  return { closed: closing.length };
}

// Sequential updates of one object: each waits for its event on every subscribed socket. With
// `unrelated`, other requests are sent meanwhile (unrelatedRequests) and answered under `unrelated`.
async function rounds({ http: base, target, rounds: count, timeout = 10000, pause = 0, unrelated = null }) {
  updates.clear();
  const object = `${target.model}|${target.id}`;
  const out = { resp: [], first: [], last: [], timeouts: 0, http_errors: 0, version_mismatch: 0 };
  out.expected = audience(object);
  const stopUnrelated = unrelated ? unrelatedRequests(base, unrelated) : null;
  for (let i = 0; i < count; i += 1) {
    // The User representation has no version: the next one is predicted from the last seen.
    let version = (versions.get(object) || 0) + 1;
    const response = await patch(base, target);
    if (!succeeded(response)) {
      out.http_errors += 1;
      continue;
    }
    if (response.json?.version !== undefined && response.json.version !== version) {
      out.version_mismatch += 1;
      version = response.json.version;
    }
    // A create's object is known from its response.
    const id = response.json?.id ?? target.id;
    const key = `${target.model}|${id}|${version}`;
    const ok = await complete(key, timeout);
    const rec = updates.get(key);
    updates.delete(key);
    if (!ok) {
      out.timeouts += 1;
      continue;
    }
    out.resp.push(response.received - response.sent);
    out.first.push(rec.first - response.sent);
    out.last.push(rec.last - response.sent);
    if (pause) await sleep(pause);
  }
  if (stopUnrelated) out.unrelated = await stopUnrelated();
  return out;
}

// Sequential PATCHes of one object, nothing awaited but each response: their round trips.
async function patches({ http: base, target, count }) {
  const out = { resp: [], http_errors: 0 };
  for (let i = 0; i < count; i += 1) {
    const response = await patch(base, target);
    if (response.status === 200) out.resp.push(response.received - response.sent);
    else out.http_errors += 1;
  }
  return out;
}

// Keeps `inflight` updates of one object outstanding for `seconds`; an update is outstanding
// until its event has reached every socket it goes to. Completions are counted from deliveries
// (each update makes `expected` of them), not matched by version: concurrent PATCHes of an
// object the server does not lock may share a version.
async function inflight({ http: base, target, inflight: depth = 20, seconds = 5, timeout = 10000 }) {
  updates.clear();
  const object = `${target.model}|${target.id}`;
  const expected = audience(object);
  const out = { expected, updates: 0, completed: 0, deliveries: 0, http_errors: 0, stalled: false };
  let stop;
  const done = new Promise((resolve) => {
    stop = resolve;
  });
  const started = now();
  let lastProgress = started;
  let finished = started;
  // A failed PATCH makes no event: its slot goes to a new one, and the failure is counted.
  const failed = () => {
    out.http_errors += 1;
    out.updates -= 1;
    if (now() - started < seconds * 1000 && out.http_errors < 1000) launch();
    else if (out.completed >= out.updates) stop();
  };
  const launch = () => {
    out.updates += 1;
    patch(base, target).then((response) => {
      if (!succeeded(response)) failed();
    }, failed);
  };
  hooks.onDelivery = () => {
    out.deliveries += 1;
    lastProgress = now();
    while (out.deliveries >= (out.completed + 1) * expected) {
      out.completed += 1;
      finished = lastProgress;
      if (finished - started < seconds * 1000) launch();
      else if (out.completed >= out.updates) stop();
    }
  };
  for (let i = 0; i < depth; i += 1) launch();
  const watchdog = setInterval(() => {
    if (now() - lastProgress > timeout) {
      out.stalled = true;
      stop();
    }
  }, 100);
  await done;
  clearInterval(watchdog);
  hooks.onDelivery = null;
  updates.clear();
  out.seconds = (finished - started) / 1000;
  return out;
}

// Open-loop updates at `rate` per second over `targets` for `seconds`, then waits up to `drain`
// ms for the last events. Latencies are kept per delivery.
async function rate({ http: base, targets, rate: perSecond, seconds, drain = 5000, max_inflight = 2000 }) {
  updates.clear();
  hooks.keepArrivals = true;
  const load = openLoop(base);
  const { out } = load;
  hooks.onDelivery = (rec) => {
    out.deliveries += 1;
    if (rec.n >= rec.expected) load.settle(rec.key);
  };
  const order = targets.map((_, index) => index).sort(() => Math.random() - 0.5);
  const started = now();
  const interval = 1000 / perSecond;
  while (now() - started < seconds * 1000) {
    const due = Math.floor((now() - started) / interval) + 1;
    while (out.sent + out.skipped < due) {
      if (load.inFlight >= max_inflight) {
        out.skipped += 1;
        continue;
      }
      load.send(targets[order[(out.sent + out.skipped) % order.length]]);
    }
    await sleep(Math.max(0, Math.min(interval, started + (out.sent + out.skipped) * interval - now())));
  }
  out.send_seconds = (now() - started) / 1000;
  const deadline = now() + drain;
  while ((load.inFlight > 0 || load.pending.size > 0) && now() < deadline) await sleep(20);
  out.seconds = (now() - started) / 1000;
  out.incomplete = load.pending.size;
  out.unanswered = load.inFlight;
  hooks.onDelivery = null;
  hooks.keepArrivals = false;
  updates.clear();
  return out;
}

// The PATCHes of a `rate` run: what they count, those unanswered (`inFlight`), and those answered
// whose events are not all in yet (`pending`, key -> {sent, received}).
function openLoop(base) {
  const counts = { sent: 0, responded: 0, skipped: 0, http_errors: 0, completed: 0, deliveries: 0 };
  const out = { ...counts, expected_deliveries: 0, resp: [], lat_resp: [], lat_send: [] };
  const load = { out, pending: new Map(), inFlight: 0 };
  load.settle = (key) => {
    const rec = updates.get(key);
    const timing = load.pending.get(key);
    if (!rec || !timing || rec.n < rec.expected) return;
    for (const t of rec.arrivals) {
      out.lat_resp.push(t - timing.received);
      out.lat_send.push(t - timing.sent);
    }
    out.completed += 1;
    updates.delete(key);
    load.pending.delete(key);
  };
  const answered = (target, response) => {
    load.inFlight -= 1;
    if (response.status !== 200 || response.json?.version === undefined) {
      out.http_errors += 1;
      return;
    }
    out.responded += 1;
    out.resp.push(response.received - response.sent);
    const key = `${target.model}|${target.id}|${response.json.version}`;
    out.expected_deliveries += record(key).expected;
    load.pending.set(key, { sent: response.sent, received: response.received });
    load.settle(key);
  };
  load.send = (target) => {
    out.sent += 1;
    load.inFlight += 1;
    patch(base, target).then(
      (response) => answered(target, response),
      () => {
        load.inFlight -= 1;
        out.http_errors += 1;
      },
    );
  };
  return load;
}

// One update, then `wait` ms: which sockets it reached, by the representation they expect
// (a change a representation does not show may be sent to nobody in its audience).
async function probe({ http: base, target, wait = 1000 }) {
  updates.clear();
  hooks.probeCounts = {};
  const response = await patch(base, target);
  await sleep(wait);
  const out = { status: response.status, by_full: hooks.probeCounts };
  hooks.probeCounts = null;
  updates.clear();
  return out;
}

// How many sockets each update of an object must reach to be complete.
async function expect({ model, id, count }) {
  subscribers.set(`${model}|${id}`, count);
  return {};
}

const commands = {
  probe,
  expect,
  csrf,
  login,
  open,
  close,
  rounds,
  patches,
  inflight,
  rate,
  resynced,
  counters: async () => ({ ...counters, error_samples: errorSamples, sockets: sockets.size }),
  quit: async () => {
    await close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

const lines = readline.createInterface({ input: process.stdin });
// Commands run one at a time, in order.
let queue = Promise.resolve();
lines.on("line", (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let answer;
    try {
      const command = JSON.parse(line);
      const handler = commands[command.cmd];
      if (!handler) throw new Error(`unknown command ${command.cmd}`);
      answer = { ok: true, ...(await handler(command)) };
    } catch (error) {
      answer = { ok: false, error: String(error.stack || error) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  });
});
lines.on("close", () => queue.then(() => process.exit(0)));
