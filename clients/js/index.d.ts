// Hand-written declarations for src/ (plain ES modules); test/types.ts checks them with tsc.

/** A Flux Standard Action, the shape of every server message and of every action dispatched. */
export interface FluxStandardAction<T extends string = string, P = unknown, M = unknown> {
  type: T
  payload?: P
  meta?: M
  error?: boolean
}

/** A subscribable model's label, as the server names it: `'api.Foo'`, `'api.User'`. */
export type ModelLabel = string

/** `SUBSCRIBED`'s payload: the object as the user may see it, and its version. */
export interface Snapshot<Data = Record<string, unknown>> {
  model: ModelLabel
  id: string
  version: number
  data: Data
}

export type SubscribedAction<Data = Record<string, unknown>> = FluxStandardAction<
  'SUBSCRIBED',
  Snapshot<Data>,
  { request_id: number }
>

/** A followed collection's `SUBSCRIBED`: the items its `load()` returned. */
export type ListSubscribedAction<Item extends ListItem = ListItem> = FluxStandardAction<
  'SUBSCRIBED',
  { model: ModelLabel; items: Item[] },
  { request_id: number }
>

/** What a list's `load()` returns: the objects as GET returns them, with `id` and `version`. */
export interface ListItem {
  id: string
  version: number
}

/**
 * `CREATE_FOO` and the like, to a follower of the collection: the object was created
 * (`reason: 'created'`) or became visible to the user (`'access_gained'`, a transfer to them).
 */
export interface CreateAction<Data = Record<string, unknown>>
  extends FluxStandardAction<
    string,
    Data,
    { model: ModelLabel; id: string; version: number; reason: 'created' | 'access_gained' }
  > {
  payload: Data
}

export type UnsubscribedAction = FluxStandardAction<
  'UNSUBSCRIBED',
  { model: ModelLabel; id?: string },
  { request_id: number }
>

/** `UPDATE_FOO` and the like: the object's new representation (which includes `version`). */
export interface UpdateAction<Data = Record<string, unknown>>
  extends FluxStandardAction<string, Data, { model: ModelLabel; id: string; version: number }> {
  payload: Data
}

/**
 * `DELETE_FOO` and the like; it ends the subscription. `not_found` is the client's own reason:
 * the object was gone when the client subscribed again after a reconnection.
 */
export interface DeleteAction
  extends FluxStandardAction<string, { id: string }, DeleteMeta> {
  payload: { id: string }
}

export interface DeleteMeta {
  model: ModelLabel
  id: string
  /** Absent when the reason is `not_found`. */
  version?: number
  reason: 'deleted' | 'access_lost' | 'not_found'
}

export interface ErrorPayload {
  code: string
  detail: string
  errors?: Record<string, unknown>
}

/** A refused request; when it answers one of the client's, meta names its model, id and action. */
export type ErrorAction = FluxStandardAction<
  'ERROR',
  ErrorPayload,
  { request_id?: number | string; model?: ModelLabel; id?: string; action?: SubscriptionAction }
> & { error: true }

export type ConnectedAction = FluxStandardAction<'REALTIME_CONNECTED', undefined>
export type DisconnectedAction = FluxStandardAction<
  'REALTIME_DISCONNECTED',
  { code: number; reason: string }
>
export type LoggedOutAction = FluxStandardAction<'LOGGED_OUT', undefined>

export type RealtimeAction =
  | SubscribedAction
  | ListSubscribedAction
  | UnsubscribedAction
  | CreateAction
  | UpdateAction
  | DeleteAction
  | ErrorAction
  | ConnectedAction
  | DisconnectedAction
  | LoggedOutAction

export type SubscriptionAction = 'subscribe' | 'unsubscribe'

/**
 * - `connecting`: a socket is opening;
 * - `open`: connected, subscriptions are live;
 * - `waiting`: the socket dropped and a reconnection is scheduled;
 * - `logged_out`: the session ended (close code 4401); nothing happens until `reconnect()`;
 * - `closed`: `close()` was called.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'waiting' | 'logged_out' | 'closed'

/**
 * What the client needs of a WebSocket: the browser's (and Node 22's) fits. It reads `data` of
 * message events and `code` and `reason` of close events.
 */
export interface WebSocketLike {
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: any) => void) | null
  onmessage: ((event: any) => void) | null
  onclose: ((event: any) => void) | null
}

export interface ConnectOptions {
  /** The socket's URL; a path is resolved against the page (http becomes ws). Default
   * `/ws/notifications/`. */
  url?: string
  /** The WebSocket constructor. Default `globalThis.WebSocket`. */
  WebSocket?: new (url: string) => WebSocketLike
  /** Reconnection waits between half and all of `minDelay * 2^attempt` ms. Default 500. */
  minDelay?: number
  /** The longest wait before a reconnection, in ms. Default 30000. */
  maxDelay?: number
  /** Messages sent at once; match the server's `REALTIME["THROTTLE_BURST"]`. Default 200. */
  sendBurst?: number
  /** Messages sent per second after the burst; match `REALTIME["THROTTLE_RATE"]`. Default 20. */
  sendRate?: number
  /**
   * The largest message the server reads, in bytes; match `REALTIME["MAX_MESSAGE_BYTES"]`.
   * A larger subscription is refused (`message_too_big`) rather than sent. Default 65536.
   */
  maxMessageBytes?: number
}

export interface RealtimeClient {
  readonly status: ConnectionStatus
  /**
   * Follows an object. Resolves with its snapshot (also dispatched as `SUBSCRIBED`); rejects with
   * a `RealtimeError` the server sent (`not_found`, ...), `message_too_big` at once when the
   * request is larger than the server reads (`maxMessageBytes`), or `unsubscribed` /
   * `logged_out` / `disconnected` when the subscription ended before it was answered. Subscriptions are
   * counted: each `subscribe` needs its `unsubscribe`. While the socket is down the request
   * waits for the reconnection.
   */
  subscribe<Data = Record<string, unknown>>(model: ModelLabel, id: string): Promise<Snapshot<Data>>
  /** Stops following an object (once every `subscribe` of it is matched). Rejects on `ERROR`. */
  unsubscribe(model: ModelLabel, id: string): Promise<void>
  /**
   * Follows every object of `model` the user can see. Once the server follows it, calls
   * `load()` (the app's GET of the list, every page) and resolves with its items, dispatched as
   * `SUBSCRIBED` with `payload.items`; the collection's events that arrive meanwhile are held,
   * then dispatched after the list, each only if newer than the version the client knows of
   * its object, so the list and the events converge with the server. After a reconnection it
   * follows and loads again. Rejects with `load()`'s error (and stops following), or as
   * `subscribe` does. Counted like `subscribe`.
   */
  subscribeList<Item extends ListItem = ListItem>(
    model: ModelLabel,
    load: () => Promise<Item[]>,
  ): Promise<Item[]>
  /** Stops following a collection (once every `subscribeList` of it is matched). */
  unsubscribeList(model: ModelLabel): Promise<void>
  /** Calls `listener` with each action; returns the function that stops it. */
  listen(listener: (action: RealtimeAction) => void): () => void
  /** Opens a new socket now, e.g. after logging in (a socket authenticates when it opens). */
  reconnect(): void
  /** Closes the socket for good (until `reconnect()`). */
  close(): void
}

export class RealtimeError extends Error {
  constructor(payload: ErrorPayload | { code: string; detail?: string })
  readonly code: string
  readonly errors?: Record<string, unknown>
}

export function connect(options?: ConnectOptions): RealtimeClient

/** The middleware shape Redux's `applyMiddleware` and RTK's `configureStore` accept. */
export type RealtimeMiddleware = (api: {
  dispatch: (action: any) => any
  getState: () => any
}) => (next: (action: unknown) => unknown) => (action: unknown) => unknown

/** Dispatches every action of `client` into the store. */
export function realtimeMiddleware(client: RealtimeClient): RealtimeMiddleware

/**
 * A reducer of `model`'s objects as an `{id: item}` map: a list's `SUBSCRIBED` replaces it,
 * `CREATE_` / `UPDATE_` (and one object's `SUBSCRIBED`) put an item unless the map holds a
 * newer version, `DELETE_` removes it, `LOGGED_OUT` empties it.
 */
export function listReducer<Item = Record<string, unknown>>(
  model: ModelLabel,
): (state: Record<string, Item> | undefined, action: { type: string }) => Record<string, Item>

export const REALTIME_CONNECTED: 'REALTIME_CONNECTED'
export const REALTIME_DISCONNECTED: 'REALTIME_DISCONNECTED'
export const LOGGED_OUT: 'LOGGED_OUT'
export const CLOSE_LOGGED_OUT: 4401
/** A message was over the server's limit: a reconnection follows (`REALTIME_DISCONNECTED`). */
export const CLOSE_MESSAGE_TOO_BIG: 4009
/** The server process stopped receiving events: a reconnection and a resync follow. */
export const CLOSE_HUB_FAILED: 4011
/** Events may have been missed: a reconnection and a resync follow. */
export const CLOSE_RESYNC: 4205
/** The server process is shutting down (a deploy): a reconnection follows, backing off. */
export const CLOSE_SERVICE_RESTART: 4012
/** The server process holds all the sockets it may: a reconnection follows, backing off. */
export const CLOSE_SERVER_FULL: 4013
/** The user holds all the sockets they may: a reconnection follows at `maxDelay`. */
export const CLOSE_TOO_MANY_SOCKETS: 4429

/** `eventType('UPDATE', 'api.Foo')` is `'UPDATE_FOO'`. */
export function eventType<A extends 'CREATE' | 'UPDATE' | 'DELETE'>(
  action: A,
  model: ModelLabel,
): `${A}_${string}`
