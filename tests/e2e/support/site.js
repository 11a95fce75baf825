/**
 * The test's own front end: serves the test page and its modules, and forwards `/api/` and
 * `/ws/` to Daphne, so that the page, the REST API and the socket share one origin, as an SPA
 * and the backend do behind a production load balancer (same cookies, same Origin, no CORS).
 *
 * The Host header is passed through unchanged: Django checks it against ALLOWED_HOSTS and the
 * CSRF Origin against it, and the socket's Origin against ALLOWED_HOSTS.
 */

import { readFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { connect } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const PAGE = fileURLToPath(new URL('../page/', import.meta.url))
// The client as an app installs it (through its package.json exports), and Redux's browser build.
const CLIENT = dirname(fileURLToPath(import.meta.resolve('@realtime-rest-backend/client')))
const REDUX = join(dirname(createRequire(import.meta.url).resolve('redux/package.json')), 'dist')

const STATIC = [
  ['/modules/client/', CLIENT],
  ['/modules/redux/', REDUX],
  ['/', PAGE],
]
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' }

export function startSite(backendPort) {
  const sockets = new Set()
  const site = { upgrades: 0, url: null }

  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://site')
    if (pathname.startsWith('/api/')) return forward(req, res, backendPort)
    const file = staticFile(pathname === '/' ? '/index.html' : pathname)
    const body = file && (await readFile(file).catch(() => null))
    if (!body) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
    res.end(body)
  })

  server.on('upgrade', (req, socket, head) => {
    site.upgrades += 1
    const upstream = connect(backendPort, '127.0.0.1', () => {
      const headers = []
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`)
      }
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('')}\r\n`)
      upstream.write(head)
      socket.pipe(upstream).pipe(socket)
    })
    // Daphne down or gone: the browser sees the connection fail or drop, as behind a real proxy.
    for (const [one, other] of [
      [socket, upstream],
      [upstream, socket],
    ]) {
      sockets.add(one)
      one.on('error', () => other.destroy())
      one.on('close', () => {
        sockets.delete(one)
        other.destroy()
      })
    }
  })

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      site.url = `http://127.0.0.1:${server.address().port}`
      site.close = () => {
        for (const socket of sockets) socket.destroy()
        server.closeAllConnections()
        return new Promise((done) => server.close(done))
      }
      resolve(site)
    })
  })
}

function forward(req, res, port) {
  const upstream = request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers)
      answer.pipe(res)
    },
  )
  upstream.on('error', () => res.writeHead(502).end())
  req.pipe(upstream)
}

/** The file behind a static path, or null for anything outside the served directories. */
function staticFile(pathname) {
  for (const [prefix, directory] of STATIC) {
    if (!pathname.startsWith(prefix)) continue
    const file = normalize(join(directory, decodeURIComponent(pathname.slice(prefix.length))))
    return file.startsWith(directory.endsWith(sep) ? directory : directory + sep) ? file : null
  }
  return null
}
