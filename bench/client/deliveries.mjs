// What the load client has seen: its sockets, the subscribers and last version of each object,
// and the deliveries of each update, counted from the sockets' messages, and the wait for them
// (bench/clients.py).

import { now } from "./http.mjs";

export const sockets = new Set();
export const subscribers = new Map(); // "model|id" -> sockets subscribed
export const followers = new Map(); // "model" -> sockets following the collection
export const versions = new Map(); // "model|id" -> last version seen (snapshot or event)
export const updates = new Map(); // "model|id|version" -> deliveries of that update
export const counters = {
  messages: 0,
  errors: 0,
  wrong_representation: 0,
  over_delivered: 0,
  unexpected: 0,
  closed: 0,
};
export const errorSamples = [];
export const hooks = {
  onDelivery: null, // the running command's hook: (record) => void
  probeCounts: null, // during `probe`: deliveries by the representation a socket expects
  keepArrivals: false,
};

// The sockets an event of the object reaches: those subscribed to it, and those following its
// collection (the benchmark never has one socket do both).
export function audience(object) {
  const model = object.slice(0, object.indexOf("|"));
  return (subscribers.get(object) || 0) + (followers.get(model) || 0);
}

export function record(key) {
  let rec = updates.get(key);
  if (rec === undefined) {
    const object = key.slice(0, key.lastIndexOf("|"));
    rec = { key, expected: audience(object), n: 0, first: 0, last: 0, arrivals: null };
    if (hooks.keepArrivals) rec.arrivals = [];
    updates.set(key, rec);
  }
  return rec;
}

export function onMessage(socket, data) {
  const t = now();
  counters.messages += 1;
  const message = JSON.parse(data);
  const type = message.type;
  if (type === "SUBSCRIBED") {
    // A collection's answer names the model only: there is no version to keep.
    if (message.payload.id !== undefined) {
      const object = `${message.payload.model}|${message.payload.id}`;
      versions.set(object, Math.max(versions.get(object) || 0, message.payload.version));
    }
    const waiter = socket.waiting.get(message.meta.request_id);
    if (waiter) {
      socket.waiting.delete(message.meta.request_id);
      waiter.resolve();
    }
  } else if (type.startsWith("UPDATE_") || type.startsWith("CREATE_")) {
    const meta = message.meta;
    const object = `${meta.model}|${meta.id}`;
    if (meta.version > (versions.get(object) || 0)) versions.set(object, meta.version);
    if (socket.full !== null && meta.model === "api.User" && "email" in message.payload !== socket.full) {
      counters.wrong_representation += 1;
    }
    if (hooks.probeCounts) hooks.probeCounts[String(socket.full)] = (hooks.probeCounts[String(socket.full)] || 0) + 1;
    const rec = record(`${object}|${meta.version}`);
    rec.n += 1;
    if (rec.n === 1) rec.first = t;
    rec.last = t;
    if (rec.n > rec.expected && rec.expected > 0) counters.over_delivered += 1;
    if (rec.arrivals) rec.arrivals.push(t);
    if (hooks.onDelivery) hooks.onDelivery(rec);
  } else if (type === "ERROR") {
    counters.errors += 1;
    if (errorSamples.length < 5) errorSamples.push(message.payload);
    const waiter = socket.waiting.get(message.meta.request_id);
    if (waiter) {
      socket.waiting.delete(message.meta.request_id);
      waiter.reject(new Error(`${message.payload.code}: ${message.payload.detail}`));
    }
  } else {
    counters.unexpected += 1;
  }
}

// Waits until `rec` has all its deliveries, or `timeout` ms pass; true if complete.
export function complete(key, timeout) {
  const rec = record(key);
  if (rec.n >= rec.expected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      hooks.onDelivery = null;
      resolve(false);
    }, timeout);
    hooks.onDelivery = (delivered) => {
      if (delivered === rec && rec.n >= rec.expected) {
        clearTimeout(timer);
        hooks.onDelivery = null;
        resolve(true);
      }
    };
  });
}
