/**
 * The real server: Daphne from the project's venv, on a SQLite file of the test's own and the
 * in-memory channel layer, as `make run` starts it. It can be killed and started again on the
 * same port and database, as a crashed and restarted process would be.
 *
 * Started through the launcher the Python tests and the benchmark use (`python -m
 * harness.daphne`, harness/processes.py), which answers once /api/health does.
 */

import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const BIN = join(ROOT, '.venv', 'bin')

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
    this.pid = null
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
    const args = ['-m', 'harness.daphne', '--log', this.log]
    if (this.port) args.push('--port', String(this.port))
    const launcher = spawn(join(BIN, 'python'), args, {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    this.process = launcher
    this.exited = once(launcher, 'exit')
    const [ready] = await Promise.race([
      once(createInterface({ input: launcher.stdout }), 'line'),
      this.exited.then(([code]) => {
        throw new Error(`Daphne did not start (launcher exit ${code}); see ${this.log}`)
      }),
    ])
    ;({ port: this.port, pid: this.pid } = JSON.parse(ready))
  }

  /** Kills the server outright (SIGKILL: no goodbye to the sockets, as in a crash). */
  async kill() {
    if (!this.process) return
    this.killNow()
    await this.exited // the launcher exits once Daphne has
    this.process = null
    this.pid = null
  }

  /** The same, without waiting: for exit handlers, which cannot. Before Daphne is up, the
   * launcher is killed instead. */
  killNow() {
    if (this.process) process.kill(this.pid ?? this.process.pid, 'SIGKILL')
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

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
