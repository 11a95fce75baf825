/**
 * What the client sends, sized and paced for the server: no message larger than it reads
 * (its MAX_MESSAGE_BYTES), and no faster than its throttle allows (a token bucket of
 * THROTTLE_BURST tokens refilled at THROTTLE_RATE per second, a batch costing one per item).
 */

// The widest request id a message can carry, for measuring one before its id is known.
const WIDEST_REQUEST_ID = Number.MAX_SAFE_INTEGER

const byteLength = (message) => new TextEncoder().encode(JSON.stringify(message)).length

/** The bytes of `message` once it carries its request id. */
export const sentBytes = (message) => byteLength({ ...message, request_id: WIDEST_REQUEST_ID })

// A batch's bytes besides its items: `{"subscribe":[],"request_id":...}`.
export const BATCH_BYTES = sentBytes({ subscribe: [] })

// What a message costs the server's throttle: a batch, one per item.
const cost = (message) => message.subscribe?.length ?? 1

/** A queue that passes messages to `send` as the token bucket allows. */
export function createOutbox({ sendBurst, sendRate }, send) {
  let queue = []
  let tokens = 0
  let refilled = 0
  let timer = null

  /** Sends what the token bucket allows now, and the rest as it refills. */
  function flush() {
    const now = Date.now()
    tokens = Math.min(sendBurst, tokens + ((now - refilled) / 1000) * sendRate)
    refilled = now
    while (queue.length && tokens >= cost(queue[0])) {
      tokens -= cost(queue[0])
      send(queue.shift())
    }
    if (queue.length && !timer) {
      timer = setTimeout(
        () => {
          timer = null
          flush()
        },
        ((cost(queue[0]) - tokens) / sendRate) * 1000,
      )
    }
  }

  return {
    /** A new socket: the server's bucket for it starts full. */
    open() {
      tokens = sendBurst
      refilled = Date.now()
    },

    push(message) {
      queue.push(message)
      flush()
    },

    /** The socket closed: what it did not send is dropped (resubscribing sends it again). */
    clear() {
      queue = []
      clearTimeout(timer)
      timer = null
    },
  }
}
