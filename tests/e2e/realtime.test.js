// End to end: the client and its Redux middleware, in Chromium, against the real server.
//
// One scenario, in order: the page logs in and shows a Foo; a change made elsewhere appears;
// the server is killed, the Foo changed while it is down, the server restarted, and the page
// shows the change once it has reconnected; a logout in another tab ends the page's session.
// Each step saves a screenshot to test-output/e2e/.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'

import { chromium } from 'playwright-core'

import { Backend, ROOT, sleep } from './support/backend.js'
import { logIn } from './support/session.js'
import { startSite } from './support/site.js'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const OUTPUT = join(ROOT, 'test-output', 'e2e')
const USERNAME = 'alice'
const PASSWORD = 'correct horse battery staple'
const STEP_TIMEOUT = 60_000
const WAIT = 15_000 // for the page to show something
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
let api
const pageErrors = []

before(async () => {
  rmSync(OUTPUT, { recursive: true, force: true })
  mkdirSync(OUTPUT, { recursive: true })
  directory = mkdtempSync(join(tmpdir(), 'realtime-e2e-'))
  backend = new Backend({ directory, log: join(OUTPUT, 'daphne.log') })
  process.on('exit', () => backend.killNow())
  await backend.manage('migrate', '--noinput', '-v', '0')
  fooId = await backend.shell(`
from api.models import Foo, User
from api.serializers import FooSerializer
user = User.objects.create_user(${py(USERNAME)}, "alice@example.com", ${py(PASSWORD)})
print(FooSerializer(Foo.objects.create(bar="first", owner=user)).data["id"])
`)
  await backend.start()
  site = await startSite(backend.port)
  api = await logIn(backend.url, USERNAME, PASSWORD)
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  const context = await browser.newContext({ viewport: { width: 720, height: 560 } })
  page = await context.newPage()
  page.setDefaultTimeout(WAIT)
  page.on('pageerror', (error) => pageErrors.push(error))
})

after(async () => {
  await browser?.close()
  await site?.close()
  await backend?.kill()
  if (directory) rmSync(directory, { recursive: true, force: true })
  clearTimeout(deadline)
})

test('the page logs in, subscribes and shows the Foo', { timeout: STEP_TIMEOUT }, async () => {
  await page.goto(`${site.url}/?foo=${fooId}`)
  await page.fill('input[name=username]', USERNAME)
  await page.fill('input[name=password]', PASSWORD)
  await page.click('button')
  await shows('#connection', 'connected')
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
  assert.deepEqual(pageErrors, [])
})

async function shows(selector, expected) {
  try {
    await page.waitForFunction(
      ([selector, expected]) => document.querySelector(selector)?.textContent === expected,
      [selector, expected],
      { timeout: WAIT },
    )
  } catch (error) {
    await screenshot(`failed-${selector.slice(1)}`)
    const actual = await text(selector)
    const message = `${selector} shows ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`
    throw new Error(message, { cause: error })
  }
}

function text(selector) {
  return page.locator(selector).innerText()
}

function screenshot(name) {
  return page.screenshot({ path: join(OUTPUT, `${name}.png`) })
}

/** A string as a Python literal. */
function py(value) {
  return JSON.stringify(value)
}
