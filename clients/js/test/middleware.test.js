import assert from 'node:assert/strict'
import { beforeEach, test } from 'node:test'

import { applyMiddleware, createStore } from 'redux'

import { connect, realtimeMiddleware } from '../src/index.js'
import { FakeWebSocket, update } from './fake-websocket.js'

const FOO = 'api.Foo'

function reducer(state = { connected: false, loggedOut: false, foos: {} }, action) {
  switch (action.type) {
    case 'REALTIME_CONNECTED':
      return { ...state, connected: true }
    case 'REALTIME_DISCONNECTED':
      return { ...state, connected: false }
    case 'LOGGED_OUT':
      return { ...state, loggedOut: true }
    case 'SUBSCRIBED':
      return { ...state, foos: { ...state.foos, [action.payload.id]: action.payload.data } }
    case 'UPDATE_FOO':
      return { ...state, foos: { ...state.foos, [action.payload.id]: action.payload } }
    default:
      return state
  }
}

function storeWith(client) {
  return createStore(reducer, applyMiddleware(realtimeMiddleware(client)))
}

beforeEach(() => {
  FakeWebSocket.instances = []
})

test('server events reach the reducer as they arrive', async () => {
  const client = connect({ url: 'ws://localhost/ws/', WebSocket: FakeWebSocket })
  const store = storeWith(client)
  FakeWebSocket.last.accept()
  const subscribed = client.subscribe(FOO, 'a')
  FakeWebSocket.last.subscribed(FOO, 'a', 1, { bar: 'first' })
  await subscribed
  assert.equal(store.getState().foos.a.bar, 'first')
  FakeWebSocket.last.push(update(FOO, 'a', 2, { bar: 'second' }))
  assert.equal(store.getState().foos.a.bar, 'second')
})

test('the connection state reaches the reducer', () => {
  const client = connect({ url: 'ws://localhost/ws/', WebSocket: FakeWebSocket })
  const store = storeWith(client)
  FakeWebSocket.last.accept()
  assert.equal(store.getState().connected, true)
  FakeWebSocket.last.drop(4401)
  assert.equal(store.getState().connected, false)
  assert.equal(store.getState().loggedOut, true)
})

test('a store made after the socket opened learns it is connected', async () => {
  const client = connect({ url: 'ws://localhost/ws/', WebSocket: FakeWebSocket })
  FakeWebSocket.last.accept()
  const store = storeWith(client)
  await Promise.resolve()
  assert.equal(store.getState().connected, true)
})

test("the store's own actions pass through", () => {
  const client = connect({ url: 'ws://localhost/ws/', WebSocket: FakeWebSocket })
  const store = storeWith(client)
  const seen = []
  store.subscribe(() => seen.push(store.getState()))
  store.dispatch({ type: 'REALTIME_CONNECTED' })
  assert.equal(seen.length, 1)
})
