// Reconnection after the server drops a socket (the cluster's reconnect storm, bench/cluster.py).
// A socket opened with `reconnect: {ws, origin}` that closes without being asked to connects
// again there with the JS client's backoff (clients/js: between half and all of
// 500 ms * 2^attempt, at most 30 s), subscribes again to everything it held and waits for every
// SUBSCRIBED: their snapshots are its resync.

import { now } from "./http.mjs";

const MIN_DELAY = 500;
const MAX_DELAY = 30000;

function fresh() {
  return {
    lost: 0,
    resynced: 0,
    attempts: 0,
    failed_attempts: 0,
    first_lost: null,
    last_resynced: null,
    durations: [],
    by_server: {},
    failures: [],
  };
}

let storm = fresh();
const timers = new Set();
let stopped = false;

// `reopen()` opens the socket again and resolves once it is resubscribed (or rejects).
export function lost(reopen) {
  if (stopped) return;
  const at = now();
  storm.lost += 1;
  if (storm.first_lost === null) storm.first_lost = at;
  const attempt = (n) => {
    const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** n) * (0.5 + Math.random() / 2);
    const timer = setTimeout(async () => {
      timers.delete(timer);
      if (stopped) return;
      storm.attempts += 1;
      try {
        const socket = await reopen();
        const done = now();
        storm.resynced += 1;
        storm.last_resynced = done;
        storm.durations.push(done - at);
        const server = String(socket.server);
        storm.by_server[server] = (storm.by_server[server] || 0) + 1;
      } catch (error) {
        storm.failed_attempts += 1;
        if (storm.failures.length < 5) storm.failures.push(String(error.message || error));
        attempt(n + 1);
      }
    }, delay);
    timers.add(timer);
  };
  attempt(0);
}

// While the client closes its sockets on purpose, none of them reconnects.
export function stop() {
  stopped = true;
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
}

export function reset() {
  stopped = false;
  storm = fresh();
}

// Waits until `expected` sockets have been lost and each lost one has resubscribed, or
// `timeout` ms pass -> the storm's figures, times from the first loss.
export async function resynced({ expected, timeout = 60000 }) {
  const deadline = now() + timeout;
  while ((storm.lost < expected || storm.resynced < storm.lost) && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { first_lost: first, last_resynced: last, ...figures } = storm;
  return {
    ...figures,
    complete: storm.lost >= expected && storm.resynced >= storm.lost,
    seconds: first === null || last === null ? null : (last - first) / 1000,
  };
}
