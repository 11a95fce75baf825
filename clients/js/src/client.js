/**
 * The socket to `ws/notifications/`: subscriptions, their snapshots and events, reconnection.
 *
 * Every server message is a Flux Standard Action and reaches the listeners as it is, except
 * stale ones: the client keeps the last version it saw of each subscribed object and drops an
 * event that is not newer. After a reconnection it subscribes again to everything it held, in
 * one batched message (a few, past the server's limits), and the SUBSCRIBED snapshots bring
 * the listeners up to date with what changed meanwhile.
 *
 * A followed collection (`subscribeList`) is loaded by the app's own `load()` (its GET of the
 * list) once the server answers, and again after each reconnection; its events that arrive
 * meanwhile are held, then passed on top of the list, each only if newer than what the client
 * knows of its object.
 */

import {
  CLOSE_LOGGED_OUT,
  CLOSE_SERVER_FULL,
  CLOSE_SERVICE_RESTART,
  CLOSE_TOO_MANY_SOCKETS,
  LOGGED_OUT,
  REALTIME_CONNECTED,
  REALTIME_DISCONNECTED,
  eventType,
} from './actions.js'
import { BATCH_BYTES, createOutbox, sentBytes } from './outbox.js'

/** The server refused a request (`code` is its code: `not_found`, `invalid`, ...). */
export class RealtimeError extends Error {
  constructor({ code, detail, errors }) {
    super(detail ?? code)
    this.name = 'RealtimeError'
    this.code = code
    this.errors = errors
  }
}

const DEFAULTS = {
  url: '/ws/notifications/',
  // A reconnection waits between half and all of minDelay * 2^attempt ms, at most maxDelay.
  minDelay: 500,
  maxDelay: 30_000,
  // Messages sent at once, then per second: the server's THROTTLE_BURST and THROTTLE_RATE.
  sendBurst: 200,
  sendRate: 20,
  // The largest message the server reads: its MAX_MESSAGE_BYTES.
  maxMessageBytes: 64 * 1024,
}

const key = (model, id) => (id === undefined ? model : `${model}:${id}`)

// A server process that shuts down or is full closes a socket as it opens: each such refusal in
// a row backs off further, though the socket did open, while the load balancer learns to send
// the next one elsewhere.
const TURNED_AWAY = new Set([CLOSE_SERVICE_RESTART, CLOSE_SERVER_FULL])

export function connect(options = {}) {
  const { WebSocket: Socket = globalThis.WebSocket, ...rest } = options
  const config = { ...DEFAULTS, ...rest }
  const url = resolveUrl(config.url)
  const listeners = new Set()
  const held = new Map() // key -> {model, id, count, waiters, inflight, list?}
  const versions = new Map() // key -> the last version dispatched
  const requests = new Map() // request_id -> {message, entry} or {message, resolve, reject}
  const batches = new Map() // request_id of a batch -> the {message, entry} of each item
  let socket = null
  let status = 'connecting'
  let attempt = 0
  let refusals = 0
  let retryTimer = null
  let lastId = 0
  const outbox = createOutbox(config, (message) => socket.send(JSON.stringify(message)))

  // A listener that throws (a reducer's bug) is reported, as an event listener's error is, and
  // neither stops the other listeners nor leaves the connection half updated.
  const emit = (action) => {
    for (const listener of [...listeners]) {
      try {
        listener(action)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  function open() {
    retryTimer = null
    status = 'connecting'
    socket = new Socket(url)
    socket.onopen = () => {
      status = 'open'
      attempt = 0
      outbox.open()
      emit({ type: REALTIME_CONNECTED })
      resubscribe()
    }
    socket.onmessage = (event) => receive(JSON.parse(event.data))
    socket.onclose = ({ code, reason }) => {
      teardown(code, reason)
      if (code === CLOSE_LOGGED_OUT) return loggedOut()
      refusals = TURNED_AWAY.has(code) ? refusals + 1 : 0
      // Another of the user's sockets must close first: retry at the slowest pace.
      attempt = code === CLOSE_TOO_MANY_SOCKETS ? Infinity : Math.max(attempt, refusals)
      retry()
    }
  }

  /** Forgets the socket and what was in flight on it; returns it, for the caller to close. */
  function teardown(code, reason) {
    const old = socket
    if (old) old.onopen = old.onmessage = old.onclose = null
    socket = null
    outbox.clear()
    for (const record of requests.values()) {
      if (!record.entry) record.resolve() // the server forgets a closed socket's subscriptions
      else if (held.get(keyOf(record.entry)) === record.entry) record.entry.inflight = null
      else settle(record.entry, 'reject', new RealtimeError({ code: 'disconnected' }))
    }
    requests.clear()
    batches.clear()
    if (status === 'open') emit({ type: REALTIME_DISCONNECTED, payload: { code, reason } })
    return old
  }

  /**
   * Whether the server would close the socket (4009) rather than read `message`. Such a
   * subscription is refused here: held, it would be sent again after every reconnection and
   * close every new socket.
   */
  function tooBig(message) {
    return sentBytes(message) > config.maxMessageBytes
  }

  /**
   * Subscribes again to everything held, in as few batches as the server reads: at most
   * `sendBurst` items (what its throttle allows at once, and its MAX_SUBSCRIPTIONS) and
   * `maxMessageBytes` each.
   */
  function resubscribe() {
    let batch = []
    let size = BATCH_BYTES
    for (const entry of held.values()) {
      const record = { message: subscription(entry), entry }
      const bytes = sentBytes(record.message) + 1
      if (batch.length === config.sendBurst || size + bytes > config.maxMessageBytes) {
        requestBatch(batch)
        batch = []
        size = BATCH_BYTES
      }
      batch.push(record)
      size += bytes
    }
    if (batch.length) requestBatch(batch)
  }

  /** Sends the subscriptions of `records` in one message, each item with its own request id. */
  function requestBatch(records) {
    if (records.length === 1) return request(records[0])
    const items = records.map((record) => {
      const id = ++lastId
      requests.set(id, record)
      record.entry.inflight = id
      return { ...record.message, request_id: id }
    })
    const id = ++lastId
    batches.set(id, records)
    outbox.push({ subscribe: items, request_id: id })
  }

  /** An error about a whole batch (throttled, in practice): each item takes it as its own. */
  function batchRefused(message, records) {
    batches.delete(message.meta.request_id)
    for (const record of records) {
      const id = record.entry.inflight
      if (!requests.has(id)) continue
      requests.delete(id)
      refused({ ...message, meta: { ...message.meta, request_id: id } }, record)
    }
  }

  function retry() {
    status = 'waiting'
    const ceiling = Math.min(config.maxDelay, config.minDelay * 2 ** attempt++)
    retryTimer = setTimeout(open, ceiling / 2 + (Math.random() * ceiling) / 2)
  }

  function loggedOut() {
    status = 'logged_out'
    const error = new RealtimeError({ code: 'logged_out', detail: 'The session ended.' })
    for (const entry of held.values()) settle(entry, 'reject', error)
    held.clear()
    versions.clear()
    emit({ type: LOGGED_OUT })
  }

  function request(record) {
    const id = ++lastId
    requests.set(id, record)
    if (record.entry) record.entry.inflight = id
    outbox.push({ ...record.message, request_id: id })
  }

  /** Records `version` for `k` if it is newer than the last (or as new, when `same` may pass). */
  function advance(k, version, same, known = versions) {
    const last = known.get(k)
    if (last !== undefined && (version < last || (version === last && !same))) return false
    known.set(k, version)
    return true
  }

  function receive(message) {
    const batch = batches.get(message.meta?.request_id)
    if (batch) return batchRefused(message, batch)
    const record = requests.get(message.meta?.request_id)
    if (record) return answered(message, record)
    const list = held.get(message.meta?.model)?.list
    if (list?.held) return list.held.push(message)
    event(message)
  }

  function event(message) {
    const { type, meta } = message
    if (meta && typeof meta.version === 'number') {
      const k = key(meta.model, meta.id)
      // A DELETE carries the version of the last state, which the client may already hold.
      const ends = type.startsWith('DELETE_')
      // A deleted object's version stays known to its list, so a late event cannot revive it.
      const list = held.get(meta.model)?.list
      const listed = list !== undefined && advance(meta.id, meta.version, ends, list.known)
      const single = held.has(k) && advance(k, meta.version, ends)
      if (!listed && !single) return
      if (ends && held.has(k)) forget(k)
    }
    emit(message)
  }

  /** The server follows the list for this socket now: load it, holding its events meanwhile. */
  function load(entry, message) {
    const { list } = entry
    const run = (list.run = {})
    list.held = []
    Promise.resolve()
      .then(list.load)
      .then(
        (items) => {
          if (list.run !== run || held.get(entry.model) !== entry) return
          const events = list.held
          list.held = null
          list.known = new Map(items.map((item) => [item.id, item.version]))
          emit({ ...message, payload: { model: entry.model, items } })
          for (const message of events) event(message)
          settle(entry, 'resolve', items)
        },
        (error) => {
          if (list.run !== run || held.get(entry.model) !== entry) return
          settle(entry, 'reject', error)
          entry.count = 1
          client.unsubscribeList(entry.model)
        },
      )
  }

  function answered(message, record) {
    const { request_id: id } = message.meta
    requests.delete(id)
    if (message.type === 'ERROR') return refused(message, record)
    const { entry } = record
    if (!entry) {
      emit(message)
      return record.resolve()
    }
    if (entry.inflight === id) entry.inflight = null
    const k = keyOf(entry)
    if (entry.list) return held.get(k) === entry && load(entry, message)
    if (held.get(k) === entry && advance(k, message.payload.version, true)) emit(message)
    settle(entry, 'resolve', message.payload)
  }

  function refused(message, record) {
    const { payload } = message
    const { model, id, action } = record.message
    const k = key(model, id)
    // Whether the request still says what the caller wants (they may have changed their mind).
    const current = record.entry ? held.get(k) === record.entry : !held.has(k)
    if (payload.code === 'throttled' && current) return request(record)
    emit({ ...message, meta: { ...message.meta, model, id, action } })
    if (payload.code === 'not_authenticated') {
      teardown(CLOSE_LOGGED_OUT, payload.detail)?.close(1000)
      return loggedOut()
    }
    const error = new RealtimeError(payload)
    if (!record.entry) return record.reject(error)
    if (current) {
      // Deleted while the socket was down: tell the store, as the DELETE event would have.
      if (versions.has(k) && payload.code === 'not_found') {
        const meta = { model, id, reason: 'not_found' }
        emit({ type: eventType('DELETE', model), payload: { id }, meta })
      }
      forget(k)
    }
    settle(record.entry, 'reject', error)
  }

  function forget(k) {
    held.delete(k)
    versions.delete(k)
  }

  function keyOf(entry) {
    return key(entry.model, entry.id)
  }

  const client = {
    get status() {
      return status
    },

    subscribe(model, id, load) {
      const k = key(model, id)
      let entry = held.get(k)
      if (!entry) {
        if (tooBig(subscription({ model, id }))) {
          const detail = 'The subscription is larger than the server reads.'
          return Promise.reject(new RealtimeError({ code: 'message_too_big', detail }))
        }
        held.set(k, (entry = { model, id, count: 0, waiters: [], inflight: null }))
        if (load) entry.list = { load, known: new Map(), held: null, run: null }
      }
      entry.count += 1
      return new Promise((resolve, reject) => {
        entry.waiters.push({ resolve, reject })
        if (status === 'open' && entry.inflight === null) {
          request({ message: subscription(entry), entry })
        }
      })
    },

    unsubscribe(model, id) {
      const k = key(model, id)
      const entry = held.get(k)
      if (!entry || --entry.count > 0) return Promise.resolve()
      forget(k)
      if (entry.inflight === null) {
        settle(entry, 'reject', new RealtimeError({ code: 'unsubscribed' }))
      }
      if (status !== 'open') return Promise.resolve()
      return new Promise((resolve, reject) => {
        request({ message: { model, id, action: 'unsubscribe' }, resolve, reject })
      })
    },

    subscribeList(model, load) {
      return client.subscribe(model, undefined, load)
    },

    unsubscribeList(model) {
      return client.unsubscribe(model, undefined)
    },

    listen(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    reconnect() {
      clearTimeout(retryTimer)
      teardown(1000, 'reconnecting')?.close(1000)
      attempt = 0
      open()
    },

    close() {
      clearTimeout(retryTimer)
      teardown(1000, 'closed')?.close(1000)
      status = 'closed'
    },
  }
  open()
  return client
}

function subscription({ model, id }) {
  return id === undefined ? { model, action: 'subscribe' } : { model, id, action: 'subscribe' }
}

function settle(entry, outcome, value) {
  for (const waiter of entry.waiters.splice(0)) waiter[outcome](value)
}

/** A path becomes a ws(s) URL on the page's origin, where the session cookie is sent. */
function resolveUrl(url) {
  if (typeof location === 'undefined') return url
  const resolved = new URL(url, location.href)
  resolved.protocol = resolved.protocol.replace(/^http/, 'ws')
  return resolved.href
}
