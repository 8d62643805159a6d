// The conformance kit for cache stores: the checks any `cache.store` must pass, as plain async functions or mocha-style tests.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { CacheStore } from '../types.js'

/** Makes a fresh store whose keys no other check sees (e.g. a new Redis prefix); called once per check. */
export type CacheStoreFactory = () => CacheStore | Promise<CacheStore>

/** One check: throws (an AssertionError) when the store does not behave as the key cache needs. */
export interface CacheStoreCheck {
  name: string
  run(): Promise<void>
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const name = (kind: string) => `${kind}:{${randomBytes(6).toString('base64url')}}:${randomBytes(6).toString('base64url')}`

/** Waits up to `ms` for `condition`, looking every 10 ms. */
async function eventually(condition: () => boolean, ms: number, what: string): Promise<void> {
  for (const until = Date.now() + ms; !condition();) {
    if (Date.now() > until) assert.fail(`${what} within ${ms} ms`)
    await pause(10)
  }
}

/**
 * The checks, framework-free: `for (const check of cacheStoreChecks(factory)) await check.run()`. Time-based checks
 * use TTLs of 100 ms and wait 400 ms, so a store whose TTL is coarser than that fails them.
 */
export function cacheStoreChecks(factory: CacheStoreFactory): CacheStoreCheck[] {
  const check = (title: string, body: (store: CacheStore) => Promise<void>): CacheStoreCheck => ({ name: title, run: async () => body(await factory()) })
  const missing = (value: unknown) => value === null || value === undefined

  const checks = [
    check('get answers every key in order, null or undefined where one is missing', async (store) => {
      const [a, b, c] = [name('k'), name('m'), name('l')]
      assert.equal(await store.set(a, 'value-a', 60_000), true)
      assert.equal(await store.set(c, 'value-c', 60_000), true)
      const values = await store.get([a, b, c, a])
      assert.ok(Array.isArray(values) && values.length === 4, `get answered ${JSON.stringify(values)}`)
      assert.equal(values[0], 'value-a')
      assert.ok(missing(values[1]), `a missing key answered ${JSON.stringify(values[1])}`)
      assert.equal(values[2], 'value-c')
      assert.equal(values[3], 'value-a')
    }),
    check('set keeps the value exactly, whatever its size (a sealed key is about 10 kB of base64url and dots)', async (store) => {
      const key = name('k')
      const value = `v1.${randomBytes(7600).toString('base64url')}\n-_.`
      assert.equal(await store.set(key, value, 60_000), true)
      assert.deepEqual(await store.get([key]), [value])
    }),
    check('set without onlyIfAbsent overwrites and resolves true', async (store) => {
      const key = name('m')
      assert.equal(await store.set(key, 'first', 60_000), true)
      assert.equal(await store.set(key, 'second', 60_000), true)
      assert.deepEqual(await store.get([key]), ['second'])
    }),
    check('set with onlyIfAbsent stores only while the key is free, and resolves whether it stored', async (store) => {
      const key = name('l')
      assert.equal(await store.set(key, 'holder', 60_000, true), true)
      assert.equal(await store.set(key, 'intruder', 60_000, true), false)
      assert.deepEqual(await store.get([key]), ['holder'])
    }),
    check('a value is gone once its ttlMs is over, and the key is free for onlyIfAbsent again', async (store) => {
      const key = name('l')
      assert.equal(await store.set(key, 'short', 100, true), true)
      assert.deepEqual(await store.get([key]), ['short'])
      await pause(400)
      assert.ok(missing((await store.get([key]))[0]), 'the value outlived its ttlMs')
      assert.equal(await store.set(key, 'next', 60_000, true), true)
    }),
    check('overwriting a value sets its new ttlMs', async (store) => {
      const key = name('m')
      await store.set(key, 'short', 100)
      await store.set(key, 'long', 60_000)
      await pause(400)
      assert.deepEqual(await store.get([key]), ['long'])
    }),
    check('deleteIfValue deletes only while the key holds that value', async (store) => {
      const key = name('l')
      await store.set(key, 'token-a', 60_000)
      await store.deleteIfValue(key, 'token-b')
      assert.deepEqual(await store.get([key]), ['token-a'], 'deleted a lock another instance holds')
      await store.deleteIfValue(key, 'token-a')
      assert.ok(missing((await store.get([key]))[0]), 'did not delete its own lock')
      await store.deleteIfValue(key, 'token-a') // already gone: no error
    }),
    check('keys are kept apart exactly (same subject tag, different names)', async (store) => {
      const tag = randomBytes(6).toString('base64url')
      const keys = [`k:{${tag}}:a`, `k:{${tag}}:b`, `m:{${tag}}`, `l:{${tag}}:a`]
      for (const [index, key] of keys.entries()) await store.set(key, `value-${index}`, 60_000)
      assert.deepEqual(
        await store.get(keys),
        keys.map((_, index) => `value-${index}`),
      )
    }),
  ]
  checks.push(
    check('peek, when the store has it, answers as get does, at once', async (store) => {
      if (typeof store.peek !== 'function') return
      const key = name('k')
      await store.set(key, 'peeked', 60_000)
      const answer = store.peek([key, name('k')])
      assert.ok(Array.isArray(answer), 'peek must answer synchronously with a list')
      assert.equal(answer[0], 'peeked')
      assert.ok(missing(answer[1]))
    }),
  )
  checks.push(
    check('deletePrefix, when the store has it, deletes the names with that prefix only', async (store) => {
      if (typeof store.deletePrefix !== 'function') return
      const tag = randomBytes(6).toString('base64url')
      await store.set(`k:{${tag}}:a`, 'a', 60_000)
      await store.set(`k:{${tag}x}:b`, 'b', 60_000)
      await store.deletePrefix(`k:{${tag}}:`)
      const [a, b] = await store.get([`k:{${tag}}:a`, `k:{${tag}x}:b`])
      assert.ok(missing(a))
      assert.equal(b, 'b')
    }),
  )
  checks.push(
    check('publish, when the store has pub/sub, reaches subscribers of that channel only, until they stop', async (store) => {
      if (typeof store.publish !== 'function' || typeof store.subscribe !== 'function') return
      const channel = `events-${randomBytes(4).toString('hex')}`
      const heard: string[] = []
      const other: string[] = []
      const stop = await store.subscribe(channel, (message) => heard.push(message))
      const stopOther = await store.subscribe(`${channel}-other`, (message) => other.push(message))
      assert.equal(typeof stop, 'function', 'subscribe must resolve with a function that stops it')
      await store.publish(channel, 'i 1.mark subject with spaces')
      await eventually(() => heard.length === 1, 2000, 'the subscriber heard the message')
      assert.deepEqual(heard, ['i 1.mark subject with spaces'])
      assert.deepEqual(other, [])
      stop()
      stopOther()
      await store.publish(channel, 'after stop')
      await pause(100)
      assert.deepEqual(heard, ['i 1.mark subject with spaces'], 'a stopped subscriber heard a message')
    }),
  )
  return checks
}

interface MochaLike {
  describe: (title: string, body: () => void) => unknown
  it: (title: string, body: () => Promise<void>) => unknown
}

/**
 * Registers the checks as tests with the global `describe`/`it` (mocha; jest and vitest with globals), or the ones
 * given: `testCacheStore('my store', () => createMyStore({ prefix: unique() }))`.
 */
export function testCacheStore(title: string, factory: CacheStoreFactory, given?: MochaLike): void {
  const framework = given ?? globalRunner()
  if (typeof framework.describe !== 'function' || typeof framework.it !== 'function') {
    throw new TypeError('testCacheStore needs describe/it: run it under mocha (or pass { describe, it }), or call cacheStoreChecks(factory) yourself')
  }
  framework.describe(`cache store conformance: ${title}`, () => {
    for (const check of cacheStoreChecks(factory)) framework.it(check.name, () => check.run())
  })
}

/** The test runner's globals, whether or not this build knows their types. */
function globalRunner(): MochaLike {
  const scope = globalThis as unknown as Record<string, unknown>
  return { describe: scope['describe'], it: scope['it'] } as MochaLike
}
