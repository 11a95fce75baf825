/** Debian's Chromium, driven by playwright-core, and what a test checks on its page. */

import { join } from 'node:path'

import { chromium } from 'playwright-core'

import { ROOT } from './backend.js'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
export const OUTPUT = join(ROOT, 'test-output', 'e2e')
export const WAIT = 15_000 // for the page to show something
export const USERNAME = 'alice'
export const PASSWORD = 'correct horse battery staple'

/** The user and a Foo of theirs, created by `manage.py shell`; resolves with the Foo's id. */
export function seed(server) {
  return server.shell(`
from api.models import Foo, User
from api.serializers import FooSerializer
user = User.objects.create_user(${py(USERNAME)}, "alice@example.com", ${py(PASSWORD)})
print(FooSerializer(Foo.objects.create(bar="first", owner=user)).data["id"])
`)
}

export function launch() {
  return chromium.launch({
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
}

/** A page in a context of its own; the errors it raises are collected in `page.errors`. */
export async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 720, height: 560 } })
  const page = await context.newPage()
  page.setDefaultTimeout(WAIT)
  page.errors = []
  page.on('pageerror', (error) => page.errors.push(error))
  return page
}

/** The page logs in as the user and shows Foo `fooId`, connected. */
export async function logInAndShow(page, siteUrl, fooId) {
  await page.goto(`${siteUrl}/?foo=${fooId}`)
  await page.fill('input[name=username]', USERNAME)
  await page.fill('input[name=password]', PASSWORD)
  await page.click('button')
  await look(page).shows('#connection', 'connected')
}

/**
 * What a test checks on `page`: `shows(selector, expected)` waits until the element shows that
 * text (failing with a screenshot and what it shows instead), `text(selector)` reads it, and
 * `screenshot(name)` saves one to test-output/e2e/.
 */
export function look(page) {
  const text = (selector) => page.locator(selector).innerText()
  const screenshot = (name) => page.screenshot({ path: join(OUTPUT, `${name}.png`) })
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
  return { shows, text, screenshot }
}

/** A string as a Python literal. */
export function py(value) {
  return JSON.stringify(value)
}
