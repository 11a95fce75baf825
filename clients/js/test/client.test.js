import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { deleted, FakeWebSocket } from './fake-websocket.js'
import { assertMatches } from './match.js'
import { actions, FOO, fakeTimersEachTest, open, random, start, tick, types, URL } from './session.js'

fakeTimersEachTest()

describe('connection', () => {
  test('opens the socket at the given url', () => {
    const client = start()
    assert.equal(FakeWebSocket.last.url, URL)
    assert.equal(client.status, 'connecting')
  })

  test('a path is resolved against the page, http becoming ws', () => {
    globalThis.location = { href: 'https://app.example.com/foos/1' }
    try {
      start({ url: '/ws/notifications/' })
    } finally {
      delete globalThis.location
    }
    assert.equal(FakeWebSocket.last.url, 'wss://app.example.com/ws/notifications/')
  })

  test('an open socket reports REALTIME_CONNECTED', () => {
    const client = open()
    assert.equal(client.status, 'open')
    assert.deepEqual(actions, [{ type: 'REALTIME_CONNECTED' }])
  })

  test('a dropped socket reports REALTIME_DISCONNECTED with its close code', () => {
    open()
    FakeWebSocket.last.drop(1006, 'gone')
    assert.deepEqual(actions.at(-1), {
      type: 'REALTIME_DISCONNECTED',
      payload: { code: 1006, reason: 'gone' },
    })
  })

  test('a failed attempt to connect reports nothing', () => {
    start()
    FakeWebSocket.last.drop()
    assert.deepEqual(actions, [])
  })

  test('close() closes the socket and does not reconnect', () => {
    const client = open()
    const socket = FakeWebSocket.last
    client.close()
    tick(60_000)
    assert.equal(socket.closedWith, 1000)
    assert.equal(client.status, 'closed')
    assert.equal(FakeWebSocket.instances.length, 1)
    assert.deepEqual(types(), ['REALTIME_CONNECTED', 'REALTIME_DISCONNECTED'])
  })
})

describe('reconnection', () => {
  test('a dropped socket is reopened after a jittered delay', () => {
    const client = open({ minDelay: 1000 })
    FakeWebSocket.last.drop()
    assert.equal(client.status, 'waiting')
    // Between half and all of 1000 ms; Math.random() is 0.5 here, so 750 ms.
    tick(749)
    assert.equal(FakeWebSocket.instances.length, 1)
    tick(1)
    assert.equal(FakeWebSocket.instances.length, 2)
    assert.equal(FakeWebSocket.last.url, URL)
  })

  test('the delay doubles with each failed attempt, up to maxDelay', () => {
    random(1)
    start({ minDelay: 100, maxDelay: 1000 })
    const delays = []
    for (let attempt = 0; attempt < 6; attempt++) {
      const before = Date.now()
      FakeWebSocket.last.drop()
      const sockets = FakeWebSocket.instances.length
      while (FakeWebSocket.instances.length === sockets) tick(1)
      delays.push(Date.now() - before)
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000])
  })

  test('the jitter spreads the delay between half and all of it', () => {
    random(0)
    start({ minDelay: 1000 })
    FakeWebSocket.last.drop()
    tick(500)
    assert.equal(FakeWebSocket.instances.length, 2)
  })

  test('a connection that opened starts the backoff again', () => {
    random(1)
    start({ minDelay: 100 })
    FakeWebSocket.last.drop()
    tick(100)
    FakeWebSocket.last.drop()
    tick(200)
    FakeWebSocket.last.accept()
    FakeWebSocket.last.drop()
    tick(100)
    assert.equal(FakeWebSocket.instances.length, 4)
  })

  test('a socket turned away as it opens (4012, 4013) backs off further each time', () => {
    random(1)
    start({ minDelay: 100 })
    const delays = []
    for (const code of [4012, 4013, 4012]) {
      FakeWebSocket.last.accept()
      const before = Date.now()
      FakeWebSocket.last.drop(code)
      const sockets = FakeWebSocket.instances.length
      while (FakeWebSocket.instances.length === sockets) tick(1)
      delays.push(Date.now() - before)
    }
    assert.deepEqual(delays, [200, 400, 800])
  })

  test('a socket refused for too many of the user (4429) retries at maxDelay', () => {
    random(1)
    open({ minDelay: 100, maxDelay: 5000 })
    FakeWebSocket.last.drop(4429)
    tick(4999)
    assert.equal(FakeWebSocket.instances.length, 1)
    tick(1)
    assert.equal(FakeWebSocket.instances.length, 2)
  })

  test('reconnect() opens a new socket at once and closes the old one', () => {
    const client = open()
    const old = FakeWebSocket.last
    client.reconnect()
    assert.equal(old.closedWith, 1000)
    assert.equal(FakeWebSocket.instances.length, 2)
    assert.deepEqual(types(), ['REALTIME_CONNECTED', 'REALTIME_DISCONNECTED'])
  })
})

describe('resubscription', () => {
  test('every held subscription is requested again on the new socket', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    client.subscribe('api.User', 'u')
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [
      {
        subscribe: [
          { model: FOO, id: 'a', action: 'subscribe', request_id: 3 },
          { model: 'api.User', id: 'u', action: 'subscribe', request_id: 4 },
        ],
        request_id: 5,
      },
    ])
  })

  test('a resubscription is split at the throttle burst, and the rest waits for it', () => {
    const client = open({ sendBurst: 2, sendRate: 4 })
    for (const id of ['a', 'b', 'c']) client.subscribe(FOO, id)
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    const ids = () => FakeWebSocket.last.sent.map((m) => m.subscribe?.map((i) => i.id) ?? m.id)
    assert.deepEqual(ids(), [['a', 'b']])
    tick(250)
    assert.deepEqual(ids(), [['a', 'b'], 'c'])
  })

  test('a resubscription is split below the largest message the server reads', () => {
    const client = open({ maxMessageBytes: 220 })
    for (const id of ['a', 'b', 'c']) client.subscribe(FOO, id)
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    const sent = FakeWebSocket.last.sent
    assert.deepEqual(sent.map((m) => m.subscribe?.map((i) => i.id) ?? m.id), [['a', 'b'], 'c'])
    assert.ok(sent.every((m) => new TextEncoder().encode(JSON.stringify(m)).length <= 220))
  })

  test('each item of a batch is answered on its own', async () => {
    const client = open()
    const a = client.subscribe(FOO, 'a')
    const gone = client.subscribe(FOO, 'gone')
    FakeWebSocket.last.drop()
    tick(60_000)
    const socket = FakeWebSocket.last
    socket.accept()
    socket.subscribed(FOO, 'a', 2)
    socket.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'not_found', detail: 'No such object.' },
      meta: { request_id: socket.lastRequest(FOO, 'gone', 'subscribe').request_id },
    })
    assertMatches(await a, { version: 2 })
    await assert.rejects(gone, { code: 'not_found' })
  })

  test('a throttled batch has each of its items requested again', () => {
    const client = open()
    client.subscribe(FOO, 'a')
    client.subscribe(FOO, 'b')
    FakeWebSocket.last.drop()
    tick(60_000)
    const socket = FakeWebSocket.last
    socket.accept()
    socket.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'throttled', detail: 'Too many messages; slow down.' },
      meta: { request_id: socket.sent[0].request_id },
    })
    assert.deepEqual(
      socket.sent.slice(1).map((message) => message.id),
      ['a', 'b'],
    )
    assert.ok(!types().includes('ERROR'))
  })

  test('the new snapshot is dispatched, bringing the store up to date', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1, { bar: 'before' })
    await subscribed
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    FakeWebSocket.last.subscribed(FOO, 'a', 3, { bar: 'changed meanwhile' })
    assertMatches(actions.at(-1), {
      type: 'SUBSCRIBED',
      payload: { model: FOO, id: 'a', version: 3, data: { bar: 'changed meanwhile' } },
    })
  })

  for (const code of [4011, 4205]) {
    test(`close code ${code} reconnects with backoff and resyncs from the snapshots`, async () => {
      const client = open()
      const subscribed = client.subscribe(FOO, 'a')
      FakeWebSocket.last.subscribed(FOO, 'a', 1, { bar: 'before' })
      await subscribed
      const sockets = FakeWebSocket.instances.length
      FakeWebSocket.last.drop(code)
      assert.deepEqual(actions.at(-1), {
        type: 'REALTIME_DISCONNECTED',
        payload: { code, reason: '' },
      })
      assert.equal(client.status, 'waiting')
      // The backoff's first delay (500 ms, jittered: 375 ms here), not at once: every socket of
      // a process is closed together, and their clients must not come back together.
      tick(374)
      assert.equal(FakeWebSocket.instances.length, sockets)
      tick(1)
      FakeWebSocket.last.accept()
      FakeWebSocket.last.subscribed(FOO, 'a', 2, { bar: 'missed' })
      assertMatches(actions.at(-1), {
        type: 'SUBSCRIBED',
        payload: { model: FOO, id: 'a', version: 2, data: { bar: 'missed' } },
      })
    })
  }

  test('an unchanged object is dispatched again too', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 2)
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    FakeWebSocket.last.subscribed(FOO, 'a', 2)
    assert.equal(types().filter((type) => type === 'SUBSCRIBED').length, 2)
  })

  test('a subscription asked for while disconnected is sent once connected', async () => {
    const client = start()
    const subscribed = client.subscribe(FOO, 'a')
    assert.deepEqual(FakeWebSocket.last.sent, [])
    FakeWebSocket.last.accept()
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    assertMatches(await subscribed, { model: FOO, id: 'a', version: 1 })
  })

  test('a request in flight when the socket drops is answered on the next socket', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    assertMatches(await subscribed, { version: 1 })
  })

  test('an object deleted while disconnected is reported as a DELETE', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    FakeWebSocket.last.drop()
    tick(60_000)
    const socket = FakeWebSocket.last
    socket.accept()
    const { request_id } = socket.lastRequest(FOO, 'a', 'subscribe')
    socket.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'not_found', detail: 'No such object.' },
      meta: { request_id },
    })
    assert.deepEqual(actions.at(-1), {
      type: 'DELETE_FOO',
      payload: { id: 'a' },
      meta: { model: FOO, id: 'a', reason: 'not_found' },
    })
    socket.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [])
  })

  test('a resubscription beyond the server throttle waits for it', () => {
    const client = open({ sendBurst: 2, sendRate: 4 })
    for (const id of ['a', 'b', 'c', 'd']) client.subscribe(FOO, id)
    assert.deepEqual(FakeWebSocket.last.sent.map((message) => message.id), ['a', 'b'])
    tick(250)
    assert.deepEqual(FakeWebSocket.last.sent.map((message) => message.id), ['a', 'b', 'c'])
    tick(250)
    assert.deepEqual(FakeWebSocket.last.sent.map((message) => message.id), ['a', 'b', 'c', 'd'])
  })

  test('a throttled request is sent again', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    const socket = FakeWebSocket.last
    socket.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'throttled', detail: 'Too many messages; slow down.' },
      meta: { request_id: socket.sent[0].request_id },
    })
    assert.equal(socket.sent.length, 2)
    assertMatches(socket.sent[1], { model: FOO, id: 'a', action: 'subscribe' })
    socket.subscribed(FOO, 'a', 1)
    assertMatches(await subscribed, { version: 1 })
    assert.ok(!types().includes('ERROR'))
  })
})
