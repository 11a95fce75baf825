import assert from 'node:assert/strict'
import { describe, mock, test } from 'node:test'

import { RealtimeError } from '../src/index.js'
import { deleted, FakeWebSocket, update } from './fake-websocket.js'
import { assertMatches } from './match.js'
import { actions, FOO, fakeTimersEachTest, open, start, tick, types } from './session.js'

fakeTimersEachTest()

describe('versions', () => {
  async function subscribedAt(version) {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', version)
    await subscribed
    actions.length = 0
    return client
  }

  test('a newer event is dispatched', async () => {
    await subscribedAt(2)
    FakeWebSocket.last.push(update(FOO, 'a', 3, { bar: 'new' }))
    assert.deepEqual(actions, [update(FOO, 'a', 3, { bar: 'new' })])
  })

  test('an older event is dropped', async () => {
    await subscribedAt(5)
    FakeWebSocket.last.push(update(FOO, 'a', 4))
    assert.deepEqual(actions, [])
  })

  test('a repeated event is dropped', async () => {
    await subscribedAt(2)
    FakeWebSocket.last.push(update(FOO, 'a', 3))
    FakeWebSocket.last.push(update(FOO, 'a', 3))
    assert.equal(actions.length, 1)
  })

  test('versions are kept per object', async () => {
    const client = await subscribedAt(9)
    client.subscribe(FOO, 'b')
    FakeWebSocket.last.push(update(FOO, 'b', 2))
    assert.deepEqual(actions, [update(FOO, 'b', 2)])
  })

  test('a DELETE of the version held is dispatched and ends the subscription', async () => {
    await subscribedAt(4)
    FakeWebSocket.last.push(deleted(FOO, 'a', 4))
    FakeWebSocket.last.push(update(FOO, 'a', 5))
    assert.deepEqual(actions, [deleted(FOO, 'a', 4)])
  })

  test('an older snapshot than an event already seen is not dispatched', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    // The server joins the group before it reads the snapshot: an event can overtake it.
    FakeWebSocket.last.push(update(FOO, 'a', 6))
    FakeWebSocket.last.subscribed(FOO, 'a', 5)
    assertMatches(await subscribed, { version: 5 })
    assert.deepEqual(types(), ['REALTIME_CONNECTED', 'UPDATE_FOO'])
  })

  test('events of objects not subscribed to are dropped', async () => {
    await subscribedAt(1)
    FakeWebSocket.last.push(update(FOO, 'other', 2))
    assert.deepEqual(actions, [])
  })
})

describe('requests', () => {
  test('subscribe() sends a request and resolves with the SUBSCRIBED snapshot', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    assert.deepEqual(FakeWebSocket.last.sent, [
      { model: FOO, id: 'a', action: 'subscribe', request_id: 1 },
    ])
    FakeWebSocket.last.subscribed(FOO, 'a', 1, { bar: 'x' })
    assert.deepEqual(await subscribed, {
      model: FOO,
      id: 'a',
      version: 1,
      data: { id: 'a', version: 1, bar: 'x' },
    })
    assert.equal(actions.at(-1).type, 'SUBSCRIBED')
  })

  test('answers are matched by request_id, not by order', async () => {
    const client = open()
    const a = client.subscribe(FOO, 'a')
    const b = client.subscribe(FOO, 'b')
    FakeWebSocket.last.subscribed(FOO, 'b', 7)
    FakeWebSocket.last.subscribed(FOO, 'a', 3)
    assertMatches(await a, { id: 'a', version: 3 })
    assertMatches(await b, { id: 'b', version: 7 })
  })

  test('an ERROR rejects the request with a RealtimeError', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'nope')
    FakeWebSocket.last.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'not_found', detail: 'No such object.' },
      meta: { request_id: 1 },
    })
    const error = await subscribed.catch((error) => error)
    assert.ok(error instanceof RealtimeError)
    assertMatches(error, { code: 'not_found', message: 'No such object.' })
  })

  test('an ERROR is dispatched with the model and id it refers to', async () => {
    const client = open()
    client.subscribe(FOO, 'nope').catch(() => {})
    FakeWebSocket.last.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'not_found', detail: 'No such object.' },
      meta: { request_id: 1 },
    })
    assert.deepEqual(actions.at(-1), {
      type: 'ERROR',
      error: true,
      payload: { code: 'not_found', detail: 'No such object.' },
      meta: { request_id: 1, model: FOO, id: 'nope', action: 'subscribe' },
    })
  })

  test('a refused subscription is not requested again after a reconnection', async () => {
    const client = open()
    client.subscribe(FOO, 'nope').catch(() => {})
    FakeWebSocket.last.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'not_found', detail: 'No such object.' },
      meta: { request_id: 1 },
    })
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [])
  })

  test('unsubscribe() resolves on UNSUBSCRIBED', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    let done = false
    const unsubscribed = client.unsubscribe(FOO, 'a').then(() => (done = true))
    const request = FakeWebSocket.last.lastRequest(FOO, 'a', 'unsubscribe')
    await Promise.resolve()
    assert.equal(done, false)
    FakeWebSocket.last.push({
      type: 'UNSUBSCRIBED',
      payload: { model: FOO, id: 'a' },
      meta: { request_id: request.request_id },
    })
    await unsubscribed
    assert.equal(done, true)
  })

  test('unsubscribe() rejects on ERROR', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    const unsubscribed = client.unsubscribe(FOO, 'a')
    const request = FakeWebSocket.last.lastRequest(FOO, 'a', 'unsubscribe')
    FakeWebSocket.last.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'invalid', detail: 'The message is not a valid subscription.' },
      meta: { request_id: request.request_id },
    })
    await assert.rejects(unsubscribed, { code: 'invalid' })
  })

  test('an object subscribed twice is unsubscribed with the second unsubscribe', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    client.subscribe(FOO, 'a')
    await client.unsubscribe(FOO, 'a')
    assert.deepEqual(FakeWebSocket.last.sent.map((message) => message.action), ['subscribe'])
    client.unsubscribe(FOO, 'a')
    assert.deepEqual(FakeWebSocket.last.sent.map((message) => message.action), [
      'subscribe',
      'unsubscribe',
    ])
  })

  test('events stop at unsubscribe, before the server confirms it', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    client.unsubscribe(FOO, 'a')
    actions.length = 0
    FakeWebSocket.last.push(update(FOO, 'a', 2))
    assert.deepEqual(actions, [])
  })

  test('a subscription cancelled before it was sent rejects as unsubscribed', async () => {
    const client = start()
    const subscribed = client.subscribe(FOO, 'a')
    await client.unsubscribe(FOO, 'a')
    await assert.rejects(subscribed, { code: 'unsubscribed' })
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [])
  })

  test('a subscription cancelled in flight still resolves with its answer', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    client.unsubscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    assertMatches(await subscribed, { version: 1 })
    assert.deepEqual(types(), ['REALTIME_CONNECTED'])
  })

  test('unsubscribing while disconnected resolves at once', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    FakeWebSocket.last.drop()
    await client.unsubscribe(FOO, 'a')
    tick(60_000)
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [])
  })
})

describe('logout', () => {
  test('close code 4401 reports LOGGED_OUT and does not reconnect', () => {
    const client = open()
    FakeWebSocket.last.drop(4401)
    tick(10 * 60_000)
    assert.deepEqual(types(), ['REALTIME_CONNECTED', 'REALTIME_DISCONNECTED', 'LOGGED_OUT'])
    assert.equal(client.status, 'logged_out')
    assert.equal(FakeWebSocket.instances.length, 1)
  })

  test('requests waiting at logout reject as logged_out', async () => {
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    FakeWebSocket.last.drop(4401)
    await assert.rejects(subscribed, { code: 'logged_out' })
  })

  test('subscriptions end at logout', async () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.subscribed(FOO, 'a', 1)
    FakeWebSocket.last.drop(4401)
    client.reconnect()
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [])
  })

  test('reconnect() after logging in again opens a socket', () => {
    const client = open()
    FakeWebSocket.last.drop(4401)
    client.reconnect()
    FakeWebSocket.last.accept()
    assert.equal(client.status, 'open')
    assert.equal(types().at(-1), 'REALTIME_CONNECTED')
  })

  test('a socket the server does not know the user on reports LOGGED_OUT', async () => {
    // A session that ended while the socket was down: the new socket is anonymous.
    const client = open()
    const subscribed = client.subscribe(FOO, 'a')
    const socket = FakeWebSocket.last
    socket.push({
      type: 'ERROR',
      error: true,
      payload: { code: 'not_authenticated', detail: 'Log in to subscribe.' },
      meta: { request_id: 1 },
    })
    await assert.rejects(subscribed, { code: 'logged_out' })
    assert.equal(socket.closedWith, 1000)
    assert.deepEqual(types().slice(-2), ['REALTIME_DISCONNECTED', 'LOGGED_OUT'])
    tick(10 * 60_000)
    assert.equal(FakeWebSocket.instances.length, 1)
  })
})

describe('message size', () => {
  test('a subscription larger than the server reads is refused, never sent', async () => {
    const client = open()
    await assert.rejects(client.subscribe(FOO, 'x'.repeat(70_000)), { code: 'message_too_big' })
    FakeWebSocket.last.drop()
    tick(60_000)
    FakeWebSocket.last.accept()
    assert.deepEqual(FakeWebSocket.last.sent, [])
  })

  test('the limit counts bytes, as the server does', async () => {
    const client = open({ maxMessageBytes: 120 })
    await assert.rejects(client.subscribe(FOO, 'é'.repeat(30)), { code: 'message_too_big' })
    client.subscribe(FOO, 'e'.repeat(30))
    assert.equal(FakeWebSocket.last.sent.length, 1)
  })

  test('close code 4009 reports REALTIME_DISCONNECTED and reconnects', () => {
    const client = open()
    client.subscribe(FOO, 'a')
    FakeWebSocket.last.drop(4009)
    assert.deepEqual(actions.at(-1), {
      type: 'REALTIME_DISCONNECTED',
      payload: { code: 4009, reason: '' },
    })
    tick(60_000)
    FakeWebSocket.last.accept()
    assert.equal(client.status, 'open')
    assert.equal(FakeWebSocket.last.lastRequest(FOO, 'a', 'subscribe').action, 'subscribe')
  })
})

describe('listeners', () => {
  test('a listener that throws is reported and the client carries on', () => {
    const reported = []
    mock.method(globalThis, 'queueMicrotask', (report) => reported.push(report))
    const client = start()
    client.listen(() => {
      throw new Error('a bug in a reducer')
    })
    FakeWebSocket.last.accept()
    FakeWebSocket.last.drop()
    tick(60_000)
    assert.equal(FakeWebSocket.instances.length, 2)
    assert.deepEqual(types(), ['REALTIME_CONNECTED', 'REALTIME_DISCONNECTED'])
    assert.equal(reported.length, 2)
    assert.throws(reported[0], /a bug in a reducer/)
  })

  test('listen() returns the function that stops the listener', () => {
    const client = start()
    const seen = []
    const stop = client.listen((action) => seen.push(action))
    stop()
    FakeWebSocket.last.accept()
    assert.deepEqual(seen, [])
  })
})
