import { REALTIME_CONNECTED } from './actions.js'

/**
 * Redux middleware: every action the client reports (server events, SUBSCRIBED snapshots,
 * REALTIME_CONNECTED / REALTIME_DISCONNECTED / LOGGED_OUT) is dispatched into the store.
 */
export function realtimeMiddleware(client) {
  return ({ dispatch }) => {
    client.listen(dispatch)
    // A socket that opened before the store existed: the store still learns it is connected
    // (after construction, when Redux allows dispatching).
    if (client.status === 'open') {
      queueMicrotask(() => client.status === 'open' && dispatch({ type: REALTIME_CONNECTED }))
    }
    return (next) => (action) => next(action)
  }
}
