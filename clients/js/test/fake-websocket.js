/** A WebSocket the test drives from the server's side; every instance is kept, newest last. */
export class FakeWebSocket {
  static instances = []

  static get last() {
    return FakeWebSocket.instances.at(-1)
  }

  constructor(url) {
    this.url = url
    this.sent = []
    this.closedWith = null
    this.onopen = this.onmessage = this.onclose = null
    FakeWebSocket.instances.push(this)
  }

  send(text) {
    this.sent.push(JSON.parse(text))
  }

  close(code) {
    this.closedWith = code
  }

  // The server's side.

  accept() {
    this.onopen?.({})
  }

  push(message) {
    this.onmessage?.({ data: JSON.stringify(message) })
  }

  drop(code = 1006, reason = '') {
    this.onclose?.({ code, reason })
  }

  /** Answers the last subscribe request for (model, id) with a snapshot. */
  subscribed(model, id, version, data = {}) {
    const request = this.lastRequest(model, id, 'subscribe')
    this.push({
      type: 'SUBSCRIBED',
      payload: { model, id, version, data: { id, version, ...data } },
      meta: { request_id: request.request_id },
    })
  }

  /** Answers the last request to follow `model`'s collection. */
  listSubscribed(model) {
    const request = this.lastRequest(model, undefined, 'subscribe')
    this.push({ type: 'SUBSCRIBED', payload: { model }, meta: { request_id: request.request_id } })
  }

  /** Every request sent, a batch's items each on their own. */
  get requests() {
    return this.sent.flatMap((message) => message.subscribe ?? [message])
  }

  lastRequest(model, id, action) {
    const request = this.requests.findLast(
      (message) => message.model === model && message.id === id && message.action === action,
    )
    if (!request) throw new Error(`No ${action} request for ${model} ${id} was sent.`)
    return request
  }
}

export function update(model, id, version, data = {}) {
  const type = `UPDATE_${model.split('.')[1].toUpperCase()}`
  return { type, payload: { id, version, ...data }, meta: { model, id, version } }
}

export function created(model, id, version, reason = 'created') {
  const type = `CREATE_${model.split('.')[1].toUpperCase()}`
  return { type, payload: { id, version }, meta: { model, id, version, reason } }
}

export function deleted(model, id, version, reason = 'deleted') {
  const type = `DELETE_${model.split('.')[1].toUpperCase()}`
  return { type, payload: { id }, meta: { model, id, version, reason } }
}
