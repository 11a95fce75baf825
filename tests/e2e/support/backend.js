/**
 * The real server: Daphne from the project's venv, on a SQLite file of the test's own and the
 * in-memory channel layer, as `make run` starts it. It can be killed and started again on the
 * same port and database, as a crashed and restarted process would be.
 */

import { execFile, spawn } from 'node:child_process'
import { openSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const BIN = join(ROOT, '.venv', 'bin')
const READY_TIMEOUT = 30_000

export class Backend {
  constructor({ directory, log }) {
    this.env = {
      ...process.env,
      DEBUG: '1',
      SECURE_COOKIES: '0',
      DATABASE_URL: `sqlite:///${join(directory, 'db.sqlite3')}`,
      REDIS_URL: '', // the in-memory layer: one process, as here
      LOG_LEVEL: 'WARNING',
    }
    this.log = log
    this.process = null
  }

  get url() {
    return `http://127.0.0.1:${this.port}`
  }

  /** Runs `manage.py` with these arguments; resolves with its stdout. */
  manage(...args) {
    return manage(this.env, ...args)
  }

  /** Runs Python in `manage.py shell`, as a script or an operator would, not through the server. */
  shell(code) {
    return this.manage('shell', '--no-imports', '-c', code)
  }

  async start() {
    this.port ??= await freePort()
    const output = openSync(this.log, 'a')
    const daphne = spawn(
      join(BIN, 'daphne'),
      ['-b', '127.0.0.1', '-p', String(this.port), 'backend.asgi:application'],
      { cwd: ROOT, env: this.env, stdio: ['ignore', output, output] },
    )
    this.process = daphne
    const exited = new Promise((resolve) => daphne.once('exit', resolve))
    this.exited = exited
    const deadline = Date.now() + READY_TIMEOUT
    while (Date.now() < deadline) {
      const code = await Promise.race([exited, sleep(100).then(() => undefined)])
      if (code !== undefined) throw new Error(`Daphne exited with ${code}; see ${this.log}`)
      if (await healthy(this.url)) return
    }
    throw new Error(`Daphne did not answer /api/health in ${READY_TIMEOUT} ms; see ${this.log}`)
  }

  /** Kills the server outright (SIGKILL: no goodbye to the sockets, as in a crash). */
  async kill() {
    if (!this.process) return
    this.process.kill('SIGKILL')
    await this.exited
    this.process = null
  }
}

/** Runs `manage.py` with these arguments in `env`; resolves with its stdout. */
export async function manage(env, ...args) {
  const { stdout } = await promisify(execFile)(join(BIN, 'python'), ['manage.py', ...args], {
    cwd: ROOT,
    env,
    timeout: 60_000,
  })
  return stdout.trim()
}

async function healthy(url) {
  try {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2_000) })
    return response.ok
  } catch {
    return false
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
