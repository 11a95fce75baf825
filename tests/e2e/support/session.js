/** A REST session of its own, outside the browser: another device of the same user. */

export async function logIn(base, username, password) {
  const cookies = new Map()

  async function call(method, path, body) {
    const headers = { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') }
    if (cookies.has('csrftoken')) headers['x-csrftoken'] = cookies.get('csrftoken')
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const at = pair.indexOf('=')
      cookies.set(pair.slice(0, at), pair.slice(at + 1))
    }
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
    return text ? JSON.parse(text) : null
  }

  await call('GET', '/api/auth/csrf')
  await call('POST', '/api/auth/login', { username, password })
  return call
}
