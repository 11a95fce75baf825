/**
 * The production shape: HAProxy with deploy/haproxy.cfg in front of three Daphne processes and a
 * worker, on PostgreSQL and Redis, DEBUG off. Started by the Python tests' own launcher (`python
 * -m tests.cluster_for_e2e`, tests/servers.py's Cluster), in a database of its own on
 * TEST_DATABASE_URL's server and on TEST_REDIS_URL: the second leg of `make test`.
 */

import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { openSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import { BIN, ROOT, manage } from './backend.js'

/** Why the cluster cannot run here, or false when it can (node:test's `skip`). */
export function unavailable() {
  if (!process.env.TEST_DATABASE_URL || !process.env.TEST_REDIS_URL) {
    return 'needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL, as the second leg of make test'
  }
  if (spawnSync('haproxy', ['-v']).error) return 'needs HAProxy: apt-get install -y haproxy'
  return false
}

export class Cluster {
  constructor({ log }) {
    this.env = {
      ...process.env,
      DEBUG: '0',
      DATABASE_URL: process.env.TEST_DATABASE_URL,
      REDIS_URL: process.env.TEST_REDIS_URL,
      LOG_LEVEL: 'WARNING',
    }
    this.log = log
    this.launcher = null
  }

  /** Resolves once the load balancer answers from every web process. */
  async start() {
    const output = openSync(this.log, 'a')
    const launcher = spawn(join(BIN, 'python'), ['-m', 'tests.cluster_for_e2e'], {
      cwd: ROOT,
      env: this.env,
      stdio: ['pipe', 'pipe', output],
    })
    this.launcher = launcher
    this.exited = once(launcher, 'exit')
    const [ready] = await Promise.race([
      once(createInterface({ input: launcher.stdout }), 'line'),
      this.exited.then(([code]) => {
        throw new Error(`The cluster did not start (exit ${code}); see ${this.log}`)
      }),
    ])
    const { url, database_url: databaseUrl, webs } = JSON.parse(ready)
    this.url = url
    this.port = Number(new URL(url).port)
    this.webs = webs // web1..web3 (what X-Served-By says) -> pid
    this.env.DATABASE_URL = databaseUrl
  }

  /** Runs Python in `manage.py shell` on the cluster's database and Redis. */
  shell(code) {
    return manage(this.env, 'shell', '--no-imports', '-c', code)
  }

  /** Kills web process `name` outright (SIGKILL: no goodbye to its sockets, as in a crash). */
  kill(name) {
    process.kill(this.webs[name], 'SIGKILL')
  }

  /** Stops every process (the launcher stops them when its stdin closes) and drops the database. */
  async stop() {
    if (!this.launcher) return
    this.launcher.stdin.end()
    await this.exited
    this.launcher = null
  }
}
