/** The action types this package dispatches besides the server's own (which arrive as they are). */

export const REALTIME_CONNECTED = 'REALTIME_CONNECTED'
export const REALTIME_DISCONNECTED = 'REALTIME_DISCONNECTED'
export const LOGGED_OUT = 'LOGGED_OUT'

/** The close code of a socket whose session ended (logout, expiry, user deactivated). */
export const CLOSE_LOGGED_OUT = 4401

/** The close code of a socket that sent a message over the server's limit (WebSocket's 1009). */
export const CLOSE_MESSAGE_TOO_BIG = 4009

/**
 * The close code of a socket whose server process stopped receiving events (its channel layer
 * failed; WebSocket's 1011): events may have been missed. The client reconnects with backoff
 * and resubscribes, and the snapshots resync the store.
 */
export const CLOSE_HUB_FAILED = 4011

/**
 * The close code of a socket that may have missed events (the channel layer restarted empty,
 * was unreachable, or dropped a message for capacity). The client reconnects with backoff and
 * resubscribes, and the snapshots resync the store.
 */
export const CLOSE_RESYNC = 4205

/** The close code of a socket whose server process is shutting down (a deploy: WebSocket's 1012). */
export const CLOSE_SERVICE_RESTART = 4012

/** The close code of a socket refused by a server process that holds all it may (WebSocket's 1013). */
export const CLOSE_SERVER_FULL = 4013

/** The close code of a socket refused because its user holds all the sockets they may. */
export const CLOSE_TOO_MANY_SOCKETS = 4429

/** `eventType('DELETE', 'api.Foo')` is `'DELETE_FOO'`, as the server names its events. */
export function eventType(action, model) {
  return `${action}_${model.slice(model.lastIndexOf('.') + 1).toUpperCase()}`
}
