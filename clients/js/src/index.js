export { connect, RealtimeError } from './client.js'
export { realtimeMiddleware } from './middleware.js'
export { listReducer } from './reducers.js'
export {
  CLOSE_HUB_FAILED,
  CLOSE_LOGGED_OUT,
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_RESYNC,
  CLOSE_SERVER_FULL,
  CLOSE_SERVICE_RESTART,
  CLOSE_TOO_MANY_SOCKETS,
  LOGGED_OUT,
  REALTIME_CONNECTED,
  REALTIME_DISCONNECTED,
  eventType,
} from './actions.js'
