// The test page: an SPA in miniature. It logs in over REST, then builds a Redux store with the
// realtime middleware, subscribes to one Foo (`?foo=<id>`) and renders the store. With `?list`,
// already logged in, it shows the user's Foos as a live list instead.
import { applyMiddleware, combineReducers, createStore } from 'redux'
import { connect, listReducer, realtimeMiddleware } from '@realtime-rest-backend/client'

const params = new URLSearchParams(location.search)
const fooId = params.get('foo')
const $ = (selector) => document.querySelector(selector)

const CONNECTION = {
  REALTIME_CONNECTED: 'connected',
  REALTIME_DISCONNECTED: 'disconnected',
  LOGGED_OUT: 'logged out',
}

function reducer(state = { connection: 'offline', foo: null, log: [] }, action) {
  if (action.type.startsWith('@@redux/')) return state
  const next = { ...state, log: [...state.log, action.type] }
  if (action.type === 'REALTIME_DISCONNECTED') next.closeCode = action.payload.code
  if (action.type in CONNECTION) return { ...next, connection: CONNECTION[action.type] }
  switch (action.type) {
    case 'SUBSCRIBED':
      return { ...next, foo: action.payload.data }
    case 'UPDATE_FOO':
      return { ...next, foo: action.payload }
    case 'DELETE_FOO':
      return { ...next, foo: null }
    default:
      return next
  }
}

function render({ connection, closeCode, foo, log }) {
  $('#connection').textContent = connection
  $('#close-code').textContent = closeCode ?? '—'
  $('#connection').dataset.state = connection
  $('#bar').textContent = foo?.bar ?? '—'
  $('#version').textContent = foo?.version ?? '—'
  $('#updated').textContent = foo?.updated_at ?? '—'
  const item = (type) => Object.assign(document.createElement('li'), { textContent: type })
  $('#log').replaceChildren(...log.map(item))
}

const cookie = (name) => document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`))?.[1]

async function logIn(username, password) {
  await fetch('/api/auth/csrf')
  const response = await fetch('/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': cookie('csrftoken') },
    body: JSON.stringify({ username, password }),
  })
  if (!response.ok) throw new Error(`Login failed: ${response.status}`)
}

async function loadFoos() {
  const items = []
  for (let url = '/api/foo'; url; ) {
    const response = await fetch(url)
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`)
    const page = await response.json()
    items.push(...page.results)
    url = page.next
  }
  return items
}

function renderList({ foos }) {
  const item = (foo) => Object.assign(document.createElement('li'), { textContent: foo.bar })
  const sorted = Object.values(foos).sort((a, b) => a.bar.localeCompare(b.bar))
  $('#foos').replaceChildren(...sorted.map(item))
}

function startList() {
  const client = connect({ minDelay: 200, maxDelay: 2000 })
  const store = createStore(
    combineReducers({ foos: listReducer('api.Foo') }),
    applyMiddleware(realtimeMiddleware(client)),
  )
  store.subscribe(() => renderList(store.getState()))
  client
    .subscribeList('api.Foo', loadFoos)
    .then(() => ($('#list').dataset.state = 'loaded'))
    .catch((error) => ($('#list').dataset.state = `failed: ${error.message}`))
}

function start() {
  // Connect after logging in: the socket authenticates with the session cookie when it opens.
  const client = connect({ minDelay: 200, maxDelay: 2000 })
  const store = createStore(reducer, applyMiddleware(realtimeMiddleware(client)))
  store.subscribe(() => render(store.getState()))
  render(store.getState())
  client.subscribe('api.Foo', fooId).catch((error) => ($('#bar').textContent = `${error.code}`))
}

$('#foo-id').textContent = fooId
if (params.has('list')) {
  $('#login').hidden = true
  $('#list').hidden = false
  startList()
}
$('#login').addEventListener('submit', async (event) => {
  event.preventDefault()
  const form = new FormData(event.target)
  try {
    await logIn(form.get('username'), form.get('password'))
  } catch (error) {
    $('#login-error').textContent = error.message
    return
  }
  $('#login').hidden = true
  $('#live').hidden = false
  start()
})
