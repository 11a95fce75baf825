// A client on FakeWebSocket and mocked timers, recording the actions it dispatches: what the
// client's test files share.
import { afterEach, beforeEach, mock } from 'node:test'

import { connect } from '../src/index.js'
import { FakeWebSocket } from './fake-websocket.js'

export const URL = 'ws://localhost/ws/notifications/'
export const FOO = 'api.Foo'

export let actions

export function start(options = {}) {
  actions = []
  const client = connect({ url: URL, WebSocket: FakeWebSocket, ...options })
  client.listen((action) => actions.push(action))
  return client
}

export function open(options) {
  const client = start(options)
  FakeWebSocket.last.accept()
  return client
}

export const types = () => actions.map((action) => action.type)

export const tick = (ms) => mock.timers.tick(ms)
export const random = (value) => Math.random.mock.mockImplementation(() => value)

// Each test starts with no socket, timers at 0 and Math.random() at 0.5.
export function fakeTimersEachTest() {
  beforeEach(() => {
    FakeWebSocket.instances = []
    mock.timers.enable({ apis: ['setTimeout', 'Date'] })
    mock.method(Math, 'random', () => 0.5)
  })

  afterEach(() => {
    mock.timers.reset()
    mock.restoreAll()
  })
}
