export { connect, RealtimeError } from './client.js'
export { realtimeMiddleware } from './middleware.js'
export {
  CLOSE_LOGGED_OUT,
  LOGGED_OUT,
  REALTIME_CONNECTED,
  REALTIME_DISCONNECTED,
  eventType,
} from './actions.js'
