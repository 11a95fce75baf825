import assert from 'node:assert/strict'

/** Asserts that `actual` has (at least) the properties of `expected`, recursively. */
export function assertMatches(actual, expected, path = 'value') {
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) {
    return assert.deepEqual(actual, expected, `${path} differs`)
  }
  assert.ok(actual !== null && typeof actual === 'object', `${path} is not an object`)
  for (const [name, value] of Object.entries(expected)) {
    assertMatches(actual[name], value, `${path}.${name}`)
  }
}
