// Compiled by `tsc -p test` (part of `npm test`): the declarations fit Redux and the browser.
import { applyMiddleware, createStore, type Reducer } from 'redux'

import {
  CLOSE_HUB_FAILED,
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_RESYNC,
  connect,
  eventType,
  listReducer,
  realtimeMiddleware,
  RealtimeError,
  type RealtimeAction,
  type RealtimeClient,
  type Snapshot,
  type SubscribedAction,
} from '@realtime-rest-backend/client'

interface Foo {
  id: string
  bar: string
  version: number
}

const reducer: Reducer<{ foo?: Foo }> = (state = {}, action) =>
  action.type === 'SUBSCRIBED' ? { foo: (action as SubscribedAction<Foo>).payload!.data } : state

const client = connect({ url: '/ws/notifications/', WebSocket, minDelay: 250 })
connect({ WebSocket, maxMessageBytes: 1024 }) satisfies RealtimeClient
const store = createStore(reducer, applyMiddleware(realtimeMiddleware(client)))
store.getState().foo?.bar satisfies string | undefined

const snapshot: Promise<Snapshot<Foo>> = client.subscribe<Foo>('api.Foo', 'jR4nVq8w')
snapshot.then(({ data }) => data.bar.toUpperCase())
client.unsubscribe('api.Foo', 'jR4nVq8w') satisfies Promise<void>
const stop: () => void = client.listen((action: RealtimeAction) => action.type)
stop()
client.status satisfies 'connecting' | 'open' | 'waiting' | 'logged_out' | 'closed'
eventType('UPDATE', 'api.Foo') satisfies `UPDATE_${string}`
new RealtimeError({ code: 'not_found', detail: 'No such object.' }).code satisfies string
CLOSE_MESSAGE_TOO_BIG satisfies 4009
const items: Promise<Foo[]> = client.subscribeList<Foo>('api.Foo', async () => {
  const response = await fetch('/api/foo')
  return (await response.json()).results as Foo[]
})
items.then((foos) => foos.map((foo) => foo.bar))
client.unsubscribeList('api.Foo') satisfies Promise<void>
const foos = listReducer<Foo>('api.Foo')
foos(undefined, { type: 'CREATE_FOO' })['jR4nVq8w']?.bar satisfies string | undefined
createStore(foos)
eventType('CREATE', 'api.Foo') satisfies `CREATE_${string}`
// @ts-expect-error: a list is loaded by the app
client.subscribeList('api.Foo')
CLOSE_HUB_FAILED satisfies 4011
CLOSE_RESYNC satisfies 4205
// @ts-expect-error: the model and the id are both needed
client.subscribe('api.Foo')
