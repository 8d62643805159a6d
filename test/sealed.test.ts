// Sealing for the shared store: AES-256-GCM bound to the store key, keyed digests, both derived from the permanent secret.
import assert from 'node:assert/strict'
import { createSealer } from '../src/sealed.js'
import { TEST_SECRET_KEY } from './support/keys.js'

describe('sealed: values and names for a shared store', () => {
  const sealer = createSealer(TEST_SECRET_KEY)
  const plaintext = JSON.stringify({ tmpSecretKey: 'tmp-secret-key-value', sessionToken: 'session-token-value' })

  it('opens what it sealed, under the same store key only', () => {
    const sealed = sealer.seal(plaintext, 'k:one')
    assert.equal(sealer.open(sealed, 'k:one'), plaintext)
    assert.equal(sealer.open(sealed, 'k:two'), undefined, 'a value moved to another name does not open')
  })

  it('shows nothing of the plaintext, and never the same ciphertext twice', () => {
    const first = sealer.seal(plaintext, 'k:one')
    const second = sealer.seal(plaintext, 'k:one')
    assert.notEqual(first, second)
    for (const sealed of [first, second]) {
      assert.ok(!sealed.includes('tmp-secret-key-value') && !sealed.includes(Buffer.from('tmp-secret-key-value').toString('base64url').slice(0, 12)))
    }
  })

  it('refuses an altered, truncated, foreign or malformed value', () => {
    const sealed = sealer.seal(plaintext, 'k:one')
    const body = Buffer.from(sealed.slice(3), 'base64url')
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 1
    assert.equal(sealer.open(`v1.${body.toString('base64url')}`, 'k:one'), undefined)
    assert.equal(sealer.open(sealed.slice(0, 20), 'k:one'), undefined)
    assert.equal(sealer.open(sealed.replace(/^v1\./, 'v2.'), 'k:one'), undefined)
    assert.equal(sealer.open('not sealed at all', 'k:one'), undefined)
    assert.equal(createSealer('anotherPermanentKey000000000000000000').open(sealed, 'k:one'), undefined)
  })

  it('names things by a digest that depends on the permanent key', () => {
    const other = createSealer('anotherPermanentKey000000000000000000')
    assert.equal(sealer.digest('subject\nalice'), sealer.digest('subject\nalice'))
    assert.notEqual(sealer.digest('subject\nalice'), sealer.digest('subject\nbob'))
    assert.notEqual(sealer.digest('subject\nalice'), other.digest('subject\nalice'))
    assert.match(sealer.digest('subject\nalice'), /^[A-Za-z0-9_-]{43}$/)
    assert.ok(!sealer.digest('subject\nalice').includes('alice'))
  })
})
