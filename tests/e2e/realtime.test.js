// End to end: the client and its Redux middleware, in Chromium, against the real server.
//
// One scenario, in order: the page logs in and shows a Foo; a change made elsewhere appears;
// the server is killed, the Foo changed while it is down, the server restarted, and the page
// shows the change once it has reconnected; a live list page shows a Foo another user
// transferred to the user and one an import created, and drops one transferred away; a logout
// in another tab ends the page's session.
// Each step saves a screenshot to test-output/e2e/.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { Backend, sleep } from './support/backend.js'
import {
  OUTPUT,
  PASSWORD,
  USERNAME,
  WAIT,
  launch,
  logInAndShow,
  look,
  openPage,
  py,
  seed,
} from './support/page.js'
import { logIn } from './support/session.js'
import { startSite } from './support/site.js'

const STEP_TIMEOUT = 60_000
// The page reconnects after at most 2 s (maxDelay); a reconnection would show within this.
const NO_RECONNECTION_WITHIN = 4_000

// Whatever happens, the run ends: a hung browser or server cannot keep it (or CI) waiting.
const deadline = setTimeout(() => {
  console.error('e2e: the scenario did not finish in 4 minutes; giving up.')
  backend?.killNow()
  process.exit(1)
}, 240_000)
deadline.unref()

let directory
let backend
let site
let browser
let page
let fooId
let giftId
let bobId
let api
let shows
let text
let screenshot

before(async () => {
  mkdirSync(OUTPUT, { recursive: true })
  directory = mkdtempSync(join(tmpdir(), 'realtime-e2e-'))
  backend = new Backend({ directory, log: join(OUTPUT, 'daphne.log') })
  process.on('exit', () => backend.killNow())
  await backend.manage('migrate', '--noinput', '-v', '0')
  fooId = await seed(backend)
  ;[giftId, bobId] = JSON.parse(
    await backend.shell(`
import json
from api.models import Foo, User
from api.serializers import FooSerializer, UserSerializer
bob = User.objects.create_user("bob", "bob@example.com", ${py(PASSWORD)})
gift = Foo.objects.create(bar="a gift from bob", owner=bob)
print(json.dumps([FooSerializer(gift).data["id"], UserSerializer(bob).data["id"]]))
`),
  )
  await backend.start()
  site = await startSite(backend.port)
  api = await logIn(backend.url, USERNAME, PASSWORD)
  browser = await launch()
  page = await openPage(browser)
  ;({ shows, text, screenshot } = look(page))
})

after(async () => {
  await browser?.close()
  await site?.close()
  await backend?.kill()
  if (directory) rmSync(directory, { recursive: true, force: true })
  clearTimeout(deadline)
})

test('the page logs in, subscribes and shows the Foo', { timeout: STEP_TIMEOUT }, async () => {
  await logInAndShow(page, site.url, fooId)
  await shows('#bar', 'first')
  await shows('#version', '1')
  await screenshot('1-subscribed')
})

test('a change made elsewhere appears on the page', { timeout: STEP_TIMEOUT }, async () => {
  const foo = await api('PATCH', `/api/foo/${fooId}`, { bar: 'changed elsewhere' })
  assert.equal(foo.version, 2)
  await shows('#bar', 'changed elsewhere')
  await shows('#version', '2')
  await screenshot('2-updated')
})

test(
  'a change made while the server is down appears after the reconnection',
  { timeout: STEP_TIMEOUT },
  async () => {
    await backend.kill()
    await shows('#connection', 'disconnected')
    // No server runs now: the page can learn of this change only by subscribing again.
    await backend.shell(`
from api import hashids
from api.models import Foo
foo = Foo.objects.get(pk=hashids.decode(Foo, ${py(fooId)}))
foo.bar = "changed while the server was down"
foo.save()
`)
    await sleep(500) // a reconnection attempt or two fails meanwhile
    assert.equal(await text('#bar'), 'changed elsewhere')
    await screenshot('3-server-down')
    await backend.start()
    await shows('#connection', 'connected')
    await shows('#bar', 'changed while the server was down')
    await shows('#version', '3')
    await screenshot('4-reconnected')
  },
)

test(
  'a live list shows a Foo transferred to the user and an imported one, and drops one given away',
  { timeout: STEP_TIMEOUT },
  async () => {
    const list = await page.context().newPage()
    list.on('pageerror', (error) => page.errors.push(error))
    list.setDefaultTimeout(WAIT)
    await list.goto(`${site.url}/?list`)
    await lists(list, ['changed while the server was down'])
    const me = await api('GET', '/api/auth/me')
    const bob = await logIn(backend.url, 'bob', PASSWORD)
    await bob('PATCH', `/api/foo/${giftId}`, { owner: me.id })
    await lists(list, ['a gift from bob', 'changed while the server was down'])
    await list.screenshot({ path: join(OUTPUT, '5-list-transferred-in.png') })
    await api('POST', '/api/foo/import', { items: [{ bar: 'imported' }] })
    await lists(list, ['a gift from bob', 'changed while the server was down', 'imported'])
    await api('PATCH', `/api/foo/${giftId}`, { owner: bobId })
    await lists(list, ['changed while the server was down', 'imported'])
    await list.screenshot({ path: join(OUTPUT, '6-list-imported-and-given-away.png') })
    await list.close()
  },
)

test("logging out in another tab ends the page's session", { timeout: STEP_TIMEOUT }, async () => {
  const other = await page.context().newPage()
  await other.goto(`${site.url}/?foo=${fooId}`)
  const status = await other.evaluate(async () => {
    const csrf = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/)[1]
    const response = await fetch('/api/auth/logout', {
      method: 'POST',
      headers: { 'X-CSRFToken': csrf },
    })
    return response.status
  })
  assert.equal(status, 204)
  await other.close()
  await shows('#connection', 'logged out')
  const upgrades = site.upgrades
  await sleep(NO_RECONNECTION_WITHIN)
  assert.equal(site.upgrades, upgrades, 'the page must not reconnect after LOGGED_OUT')
  assert.equal(await text('#connection'), 'logged out')
  const log = (await text('#log')).split('\n')
  assert.deepEqual(log.slice(-2), ['REALTIME_DISCONNECTED', 'LOGGED_OUT'])
  await screenshot('5-logged-out')
})

test('the page raised no errors', () => {
  assert.deepEqual(page.errors, [])
})

/** Waits until the list page shows exactly these Foos (sorted by bar). */
async function lists(list, expected) {
  try {
    await list.waitForFunction(
      (expected) =>
        JSON.stringify([...document.querySelectorAll('#foos li')].map((li) => li.textContent)) ===
        JSON.stringify(expected),
      expected,
      { timeout: WAIT },
    )
  } catch (error) {
    const actual = await list.locator('#foos li').allInnerTexts()
    throw new Error(`the list shows ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`, {
      cause: error,
    })
  }
}
