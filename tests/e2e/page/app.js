// The test page: an SPA in miniature. It logs in over REST, then builds a Redux store with the
// realtime middleware, subscribes to one Foo (`?foo=<id>`) and renders the store.
import { applyMiddleware, createStore } from 'redux'
import { connect, realtimeMiddleware } from '@realtime-rest-backend/client'

const fooId = new URLSearchParams(location.search).get('foo')
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

function start() {
  // Connect after logging in: the socket authenticates with the session cookie when it opens.
  const client = connect({ minDelay: 200, maxDelay: 2000 })
  const store = createStore(reducer, applyMiddleware(realtimeMiddleware(client)))
  store.subscribe(() => render(store.getState()))
  render(store.getState())
  client.subscribe('api.Foo', fooId).catch((error) => ($('#bar').textContent = `${error.code}`))
}

$('#foo-id').textContent = fooId
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
