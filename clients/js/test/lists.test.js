import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'

import { connect, listReducer } from '../src/index.js'
import { created, deleted, FakeWebSocket, update } from './fake-websocket.js'

const FOO = 'api.Foo'
const settled = () => new Promise(setImmediate)

let actions
let loads

/** A client following the Foo collection, whose load() answers what `lists` yields next. */
function following(...lists) {
  actions = []
  loads = 0
  const client = connect({ url: 'ws://x/ws/notifications/', WebSocket: FakeWebSocket })
  client.listen((action) => actions.push(action))
  FakeWebSocket.last.accept()
  const list = client.subscribeList(FOO, async () => lists[loads++] ?? lists.at(-1))
  return { client, list }
}

const events = () => actions.filter((action) => !action.type.startsWith('REALTIME_'))

beforeEach(() => {
  FakeWebSocket.instances = []
})

afterEach(() => {
  for (const socket of FakeWebSocket.instances) socket.onclose = null
})

describe('subscribeList', () => {
  test('asks for the collection, then loads the list and dispatches it', async () => {
    const items = [{ id: 'a', version: 1 }]
    const { list } = following(items)
    assert.deepEqual(FakeWebSocket.last.sent, [{ model: FOO, action: 'subscribe', request_id: 1 }])
    assert.equal(loads, 0, 'the list is loaded after the server follows it, not before')
    FakeWebSocket.last.listSubscribed(FOO)
    assert.deepEqual(await list, items)
    assert.deepEqual(events(), [
      { type: 'SUBSCRIBED', payload: { model: FOO, items }, meta: { request_id: 1 } },
    ])
  })

  test('events that arrive while the list loads follow it, but for older ones', async () => {
    const { list } = following([{ id: 'a', version: 3 }])
    FakeWebSocket.last.listSubscribed(FOO)
    const socket = FakeWebSocket.last
    socket.push(update(FOO, 'a', 2)) // the list read it already
    socket.push(update(FOO, 'a', 3)) // as new as the list: the same state
    socket.push(created(FOO, 'b', 1)) // created after the read
    socket.push(deleted(FOO, 'b', 1))
    socket.push(update(FOO, 'a', 4))
    await list
    assert.deepEqual(
      events().map(({ type, meta }) => [type, meta.id, meta.version]),
      [
        ['SUBSCRIBED', undefined, undefined],
        ['CREATE_FOO', 'b', 1],
        ['DELETE_FOO', 'b', 1],
        ['UPDATE_FOO', 'a', 4],
      ],
    )
  })

  test('a deleted object is not revived by a late older event, but by a newer one', async () => {
    const { list } = following([{ id: 'a', version: 1 }])
    FakeWebSocket.last.listSubscribed(FOO)
    await list
    const socket = FakeWebSocket.last
    socket.push(deleted(FOO, 'a', 2, 'access_lost'))
    socket.push(update(FOO, 'a', 1))
    socket.push(created(FOO, 'a', 3, 'access_gained'))
    assert.deepEqual(
      events().slice(1).map(({ type, meta }) => [type, meta.version]),
      [
        ['DELETE_FOO', 2],
        ['CREATE_FOO', 3],
      ],
    )
  })

  test('after a reconnection it follows the list again and reloads it', async () => {
    const { list } = following([{ id: 'a', version: 1 }], [{ id: 'b', version: 1 }])
    FakeWebSocket.last.listSubscribed(FOO)
    await list
    FakeWebSocket.last.drop()
    await new Promise((resolve) => setTimeout(resolve, 600))
    FakeWebSocket.last.accept()
    FakeWebSocket.last.listSubscribed(FOO)
    await settled()
    assert.equal(loads, 2)
    assert.deepEqual(events().at(-1).payload, { model: FOO, items: [{ id: 'b', version: 1 }] })
  })

  test('a list that fails to load rejects, and the collection is given up', async () => {
    actions = []
    const client = connect({ url: 'ws://x/', WebSocket: FakeWebSocket })
    FakeWebSocket.last.accept()
    const failure = new Error('GET /api/foo: 503')
    const list = client.subscribeList(FOO, () => Promise.reject(failure))
    FakeWebSocket.last.listSubscribed(FOO)
    await assert.rejects(list, failure)
    assert.deepEqual(FakeWebSocket.last.sent.at(-1), {
      model: FOO,
      action: 'unsubscribe',
      request_id: 2,
    })
  })

  test('a list given up while it loads is not dispatched', async () => {
    const { client, list } = following([{ id: 'a', version: 1 }])
    FakeWebSocket.last.listSubscribed(FOO)
    client.unsubscribeList(FOO)
    await assert.rejects(list, { code: 'unsubscribed' })
    await settled()
    assert.deepEqual(events(), [])
  })

  test('unsubscribeList stops the events', async () => {
    const { client, list } = following([])
    FakeWebSocket.last.listSubscribed(FOO)
    await list
    client.unsubscribeList(FOO)
    FakeWebSocket.last.push(created(FOO, 'a', 1))
    assert.deepEqual(FakeWebSocket.last.sent.at(-1), {
      model: FOO,
      action: 'unsubscribe',
      request_id: 2,
    })
    assert.deepEqual(events().map(({ type }) => type), ['SUBSCRIBED'])
  })

  test('an object followed alone and in its list gets each event once', async () => {
    const { client, list } = following([{ id: 'a', version: 1 }])
    const socket = FakeWebSocket.last
    socket.listSubscribed(FOO)
    await list
    client.subscribe(FOO, 'a').catch(() => {})
    socket.subscribed(FOO, 'a', 1)
    socket.push(update(FOO, 'a', 2))
    socket.push(deleted(FOO, 'a', 2))
    socket.push(update(FOO, 'a', 2))
    assert.deepEqual(
      events().map(({ type }) => type),
      ['SUBSCRIBED', 'SUBSCRIBED', 'UPDATE_FOO', 'DELETE_FOO'],
    )
  })
})

describe('listReducer', () => {
  const reduce = (actions, state) => actions.reduce(listReducer(FOO), state)

  test('a loaded list replaces the map; events apply by version', () => {
    const loaded = { type: 'SUBSCRIBED', payload: { model: FOO, items: [{ id: 'a', version: 2 }] } }
    const state = reduce([
      loaded,
      created(FOO, 'b', 1),
      update(FOO, 'a', 1, { bar: 'older' }),
      update(FOO, 'b', 2, { bar: 'newer' }),
      deleted(FOO, 'a', 2),
      deleted(FOO, 'z', 1),
    ])
    assert.deepEqual(state, { b: { id: 'b', version: 2, bar: 'newer' } })
  })

  test("one object's snapshot is put; other models and actions leave the map", () => {
    const snapshot = { model: FOO, id: 'a', version: 1, data: { id: 'a', version: 1 } }
    const state = reduce([
      { type: 'SUBSCRIBED', payload: snapshot },
      { type: 'SUBSCRIBED', payload: { model: 'api.Job', items: [] } },
      update('api.Job', 'a', 5),
      { type: 'REALTIME_CONNECTED' },
    ])
    assert.deepEqual(state, { a: { id: 'a', version: 1 } })
    assert.deepEqual(reduce([{ type: 'LOGGED_OUT' }], state), {})
  })
})
