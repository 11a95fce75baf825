import { LOGGED_OUT, eventType } from './actions.js'

/**
 * A reducer of one model's objects as an `{id: item}` map, for a list page that follows the
 * model's collection (`client.subscribeList`): its `SUBSCRIBED` replaces the map with the
 * loaded items, `CREATE_` and `UPDATE_` put an item unless the map holds a newer version,
 * `DELETE_` removes it, `LOGGED_OUT` empties the map. A single object's `SUBSCRIBED` snapshot
 * is put like an update.
 */
export function listReducer(model) {
  const [created, updated, deleted] = ['CREATE', 'UPDATE', 'DELETE'].map((action) =>
    eventType(action, model),
  )
  return (state = {}, action) => {
    const { type, payload, meta } = action
    switch (type) {
      case 'SUBSCRIBED':
        if (payload.model !== model) return state
        if (payload.items) return Object.fromEntries(payload.items.map((item) => [item.id, item]))
        return put(state, payload.id, payload.data, payload.version)
      case created:
      case updated:
        return put(state, meta.id, payload, meta.version)
      case deleted: {
        if (!(payload.id in state)) return state
        const { [payload.id]: _gone, ...rest } = state
        return rest
      }
      case LOGGED_OUT:
        return {}
      default:
        return state
    }
  }
}

function put(state, id, item, version) {
  const held = state[id]
  return held && held.version >= version ? state : { ...state, [id]: item }
}
