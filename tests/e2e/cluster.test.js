// End to end in the production shape: the page talks to HAProxy in front of three Daphne
// processes (support/cluster.js). The web process holding the page's socket is killed (SIGKILL),
// the Foo changed, and the page reconnects through the load balancer to another process,
// subscribes again and shows the change. Each step saves a screenshot to test-output/e2e/.
//
// Skipped without TEST_DATABASE_URL and TEST_REDIS_URL (the processes share events through
// Redis), as the suite's second leg is; CI sets both and must not skip.

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { Cluster, unavailable } from './support/cluster.js'
import {
  OUTPUT,
  PASSWORD,
  USERNAME,
  launch,
  logInAndShow,
  look,
  openPage,
  seed,
} from './support/page.js'
import { logIn } from './support/session.js'
import { startSite } from './support/site.js'

const STEP_TIMEOUT = 60_000
const WEB_PROCESSES = ['web1', 'web2', 'web3']
const skip = unavailable()
if (skip && process.env.CI) throw new Error(`CI must run the cluster's browser test: it ${skip}.`)

// Whatever happens, the run ends: a hung browser or cluster cannot keep it (or CI) waiting.
const deadline = setTimeout(() => {
  console.error('e2e: the cluster scenario did not finish in 4 minutes; giving up.')
  process.exit(1) // the launcher stops the cluster when its stdin closes
}, 240_000)
deadline.unref()

let cluster
let site
let browser
let page
let fooId
let api
let shows
let text
let screenshot
// X-Served-By of each of the page's WebSocket handshakes, in order: the process holding it.
const servedBy = []

before(async () => {
  if (skip) return
  mkdirSync(OUTPUT, { recursive: true })
  cluster = new Cluster({ log: join(OUTPUT, 'cluster.log') })
  await cluster.start()
  fooId = await seed(cluster)
  site = await startSite(cluster.port)
  api = await logIn(cluster.url, USERNAME, PASSWORD)
  browser = await launch()
  page = await openPage(browser)
  ;({ shows, text, screenshot } = look(page))
  // A page cannot read a WebSocket's response headers; Chromium's DevTools protocol can.
  const devtools = await page.context().newCDPSession(page)
  devtools.on('Network.webSocketHandshakeResponseReceived', ({ response }) => {
    const names = Object.keys(response.headers)
    servedBy.push(response.headers[names.find((name) => name.toLowerCase() === 'x-served-by')])
  })
  await devtools.send('Network.enable')
})

after(async () => {
  await browser?.close()
  await site?.close()
  await cluster?.stop()
  clearTimeout(deadline)
})

test('the page subscribes through the load balancer', { skip, timeout: STEP_TIMEOUT }, async () => {
  await logInAndShow(page, site.url, fooId)
  await shows('#bar', 'first')
  assert.equal(servedBy.length, 1)
  assert.ok(WEB_PROCESSES.includes(servedBy[0]), servedBy[0])
  await screenshot('cluster-1-subscribed')
})

test(
  "its socket's web process killed, the page reconnects to another and shows the change",
  { skip, timeout: STEP_TIMEOUT },
  async (t) => {
    const killed = servedBy.at(-1)
    const handshakes = servedBy.length
    cluster.kill(killed)
    const killedAt = Date.now()
    const foo = await api('PATCH', `/api/foo/${fooId}`, { bar: 'changed after the crash' })
    assert.equal(foo.version, 2)
    await shows('#bar', 'changed after the crash')
    const shownAfter = Date.now() - killedAt
    await shows('#connection', 'connected')
    await shows('#version', '2')
    // The socket just ended, without a close frame.
    assert.equal(await text('#close-code'), '1006')

    // Subscribed again, on a socket that another process holds.
    const log = (await text('#log')).split('\n')
    const reconnected = log.lastIndexOf('REALTIME_CONNECTED')
    assert.equal(log[reconnected - 1], 'REALTIME_DISCONNECTED')
    assert.equal(log[reconnected + 1], 'SUBSCRIBED')
    const since = servedBy.slice(handshakes)
    assert.ok(since.length >= 1)
    assert.ok(!since.includes(killed), `${since} after ${killed} was killed`)
    // The change arrived in the new SUBSCRIBED snapshot, or as an UPDATE on the new socket.
    t.diagnostic(
      `${killed} killed; the page, reconnected to ${since.at(-1)}, showed the change ` +
        `${shownAfter} ms later (${log.slice(reconnected + 1).join(', ')})`,
    )
    await screenshot('cluster-2-reconnected')
  },
)

test('the page raised no errors', { skip }, () => {
  assert.deepEqual(page.errors, [])
})
