// Several instances on a real Redis: the first level and its invalidation bound, late lock answers, lost and rolled-back marks, the seal secret.
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { ConfigError, createStsRouter } from '../src/index.js'
import { FIRST_LEVEL_TTL_MS } from '../src/cache.js'
import { STORE_TIMEOUT_MS } from '../src/cache/store-calls.js'
import { createRedisCacheStore } from '../src/redis.js'
import { createSealer } from '../src/sealed.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import type { CacheStore } from '../src/types.js'
import { fakeClock } from './support/fake-clock.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { appRedisClient, connectTestRedis, deleteUnder, keysUnder, uniquePrefix } from './support/redis.js'
import { cacheInstance, subscribed, until, withoutPubSub } from './support/redis-cache-instance.js'

describe('Redis cache store: first level and invalidation across instances', () => {
  let admin: Redis
  let sts: LocalSts
  let prefix: string
  const clients: Redis[] = []
  const client = async () => {
    const made = await appRedisClient()
    clients.push(made)
    return made
  }

  before(async function () {
    admin = await connectTestRedis(this)
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(async () => {
    await sts?.close()
    admin?.disconnect()
  })
  beforeEach(() => {
    prefix = uniquePrefix()
    sts.reset()
  })
  afterEach(async () => {
    for (const made of clients.splice(0)) made.disconnect()
    await deleteUnder(admin, prefix)
  })

  it('a hit on the first level touches no network: Redis sees no command for it', async () => {
    const a = cacheInstance(sts, await client(), prefix)
    await a.issue('alice')
    const before = await admin.info('commandstats')
    const calls = (info: string) => [...info.matchAll(/cmdstat_(?:mget|set|eval|publish):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0)
    for (let i = 0; i < 20; i++) assert.equal((await a.issue('alice')).cached, true)
    // INFO itself and other suites may run commands; 20 hits through Redis would add at least 20 MGETs.
    assert.ok(calls(await admin.info('commandstats')) - calls(before) < 5)
    assert.equal(a.cache.isServable(a.scope('alice')), true)
    assert.equal(a.cache.isServable(a.scope('bob')), false)
  })

  it("with pub/sub, invalidate() on one instance drops the key from the others' first level at once (no clock moved)", async () => {
    const clock = fakeClock(Date.now()) // first-level entries never go stale by time here: only the message can drop them
    const [a, b] = [cacheInstance(sts, await client(), prefix, { clock }), cacheInstance(sts, await client(), prefix, { clock })]
    await subscribed(admin, prefix, 2)
    const first = await a.issue('alice')
    const fromB = await b.issue('alice')
    assert.equal(fromB.key.tmpSecretId, first.key.tmpSecretId)
    assert.equal(b.cache.isServable(b.scope('alice')), true)
    assert.equal(await a.cache.invalidate('alice'), true)
    await until(() => !b.cache.isServable(b.scope('alice')), 'b heard the invalidation')
    const after = await b.issue('alice')
    assert.notEqual(after.key.tmpSecretId, first.key.tmpSecretId)
    assert.equal(after.cached, false)
    assert.equal(sts.calls.length, 2)
    assert.equal((await a.issue('alice')).key.tmpSecretId, after.key.tmpSecretId, 'a takes the key b shared')
    assert.equal(sts.calls.length, 2)
  })

  it('the instance that invalidates and refills at once still shares the new key (its own message heard back spoils nothing)', async () => {
    const clock = fakeClock(Date.now())
    const [a, b] = [cacheInstance(sts, await client(), prefix, { clock }), cacheInstance(sts, await client(), prefix, { clock })]
    await subscribed(admin, prefix, 2)
    const first = await a.issue('alice')
    assert.equal(await b.cache.invalidate('alice'), true)
    const refilled = await b.issue('alice')
    assert.notEqual(refilled.key.tmpSecretId, first.key.tmpSecretId)
    await until(() => !a.cache.isServable(a.scope('alice')), 'a heard the invalidation')
    assert.equal((await a.issue('alice')).key.tmpSecretId, refilled.key.tmpSecretId)
    assert.equal(sts.calls.length, 2)
  })

  it(`without pub/sub, a key outlives invalidate() on another instance by at most firstLevelTtlMs (default ${FIRST_LEVEL_TTL_MS} ms)`, async () => {
    const clock = fakeClock(Date.now())
    const [a, b] = [
      cacheInstance(sts, await client(), prefix, { clock, wrap: withoutPubSub }),
      cacheInstance(sts, await client(), prefix, { clock, wrap: withoutPubSub }),
    ]
    const first = await a.issue('alice')
    assert.equal((await b.issue('alice')).key.tmpSecretId, first.key.tmpSecretId)
    assert.equal(await a.cache.invalidate('alice'), true)
    await clock.tickAsync(FIRST_LEVEL_TTL_MS - 1)
    assert.equal((await b.issue('alice')).key.tmpSecretId, first.key.tmpSecretId, 'inside the bound b may still serve it')
    await clock.tickAsync(1)
    const after = await b.issue('alice')
    assert.notEqual(after.key.tmpSecretId, first.key.tmpSecretId, 'past the bound b asks Redis and sees the new mark')
    assert.equal(sts.calls.length, 2)
  })

  it('a late SET NX answer: the lock it took is released, and the next instance calls STS without waiting it out', async () => {
    // The lock's SET runs in Redis at once; only its answer reaches the instance late (as after a stall on the way back).
    const lateLockAnswers = (store: CacheStore): CacheStore => ({
      ...store,
      set: async (key, value, ttlMs, onlyIfAbsent) => {
        const answer = await store.set(key, value, ttlMs, onlyIfAbsent)
        if (onlyIfAbsent === true && key.startsWith('l:')) await new Promise((resolve) => setTimeout(resolve, STORE_TIMEOUT_MS * 2))
        return answer
      },
    })
    const a = cacheInstance(sts, await client(), prefix, { firstLevelTtlMs: 0, wrap: lateLockAnswers })
    const got = await a.issue('alice')
    assert.equal(got.cached, false, 'a gave up on the store and called STS itself')
    const locks = await keysUnder(admin, `${prefix}l:`)
    assert.equal(locks.length, 1, 'the SET NX did take the lock in Redis')
    assert.ok((await admin.pttl(locks[0]!)) > 2000, 'its TTL is seconds away: if it goes now, it was released')
    // Bounded well inside the lock's TTL (sts.timeoutMs + 1 s = 3 s), so expiry cannot pass for release.
    await until(async () => (await keysUnder(admin, `${prefix}l:`)).length === 0, 'the late lock was released', 1000)
    assert.match(JSON.stringify(a.logger.lines), /lock: no answer within 200 ms/)
    const b = cacheInstance(sts, await client(), prefix, { firstLevelTtlMs: 0 })
    await b.issue('alice')
    assert.equal(b.cache.stats().joined, 0, 'b found no lock to wait on')
    assert.equal(sts.calls.length, 2)
  })

  it('an absent invalidation mark (e.g. evicted under allkeys-lru) matches nothing: no key written before it was lost is served', async () => {
    const a = cacheInstance(sts, await client(), prefix, { firstLevelTtlMs: 0 })
    const before = await a.issue('alice')
    assert.equal(await a.cache.invalidate('alice'), true)
    const underMark = await a.issue('alice')
    assert.notEqual(underMark.key.tmpSecretId, before.key.tmpSecretId)
    const marks = await keysUnder(admin, `${prefix}m:`)
    assert.equal(marks.length, 1)
    await admin.del(marks[0]!) // the mark is lost; the entries stay
    assert.equal((await keysUnder(admin, `${prefix}k:`)).length, 1)
    const b = cacheInstance(sts, await client(), prefix, { firstLevelTtlMs: 0 })
    const after = await b.issue('alice')
    assert.equal(after.cached, false)
    assert.ok(![before.key.tmpSecretId, underMark.key.tmpSecretId].includes(after.key.tmpSecretId))
    assert.equal((await keysUnder(admin, `${prefix}m:`)).length, 1, 'a new mark was made for the new entry')
    assert.equal((await a.issue('alice')).key.tmpSecretId, after.key.tmpSecretId, 'and the new entry is shared')
    assert.equal(sts.calls.length, 3)
  })

  it('an instance that heard of an invalidation never serves a key from before it, even after Redis goes back to an older snapshot', async () => {
    const [a, b] = [cacheInstance(sts, await client(), prefix, { firstLevelTtlMs: 0 }), cacheInstance(sts, await client(), prefix, { firstLevelTtlMs: 0 })]
    await subscribed(admin, prefix, 2)
    const before = await a.issue('alice')
    const names = await keysUnder(admin, prefix)
    const snapshot = await Promise.all(names.map(async (name) => [name, await admin.get(name)] as const))
    assert.equal(await b.cache.invalidate('alice'), true)
    await until(() => !a.cache.isServable(a.scope('alice')), 'a heard the invalidation')
    for (const [name, value] of snapshot) await admin.set(name, value ?? '', 'PX', 600_000) // Redis rolled back
    for (const instance of [a, b]) {
      const after = await instance.issue('alice')
      assert.notEqual(after.key.tmpSecretId, before.key.tmpSecretId)
    }
    assert.equal(sts.calls.length, 2, 'one new key, then shared')
  })
})

describe('Redis cache store: the seal secret', () => {
  let admin: Redis
  let prefix: string
  const clients: Redis[] = []
  before(async function () {
    admin = await connectTestRedis(this)
  })
  after(() => admin?.disconnect())
  beforeEach(() => {
    prefix = uniquePrefix()
  })
  afterEach(async () => {
    for (const made of clients.splice(0)) made.disconnect()
    await deleteUnder(admin, prefix)
  })
  const base = { secretId: TEST_SECRET_ID, bucket: TEST_BUCKET, region: TEST_REGION, authorize: () => null, rateLimit: false as const }

  it('refuses a weak secretKey for sealing with a ConfigError naming secretKey and sealSecret', async () => {
    const client = await appRedisClient()
    clients.push(client)
    for (const [secretKey, why] of [
      ['placeholder', /fewer than 32/],
      ['x'.repeat(40), /kinds of character/],
      ['abAB12'.repeat(6), /distinct characters/],
    ] as const) {
      assert.throws(
        () => createStsRouter({ ...base, secretKey, cache: { store: createRedisCacheStore({ client, prefix }) } }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error))
          assert.match(error.message, /option `secretKey` is too weak to seal/)
          assert.match(error.message, why)
          assert.match(error.message, /sealSecret/)
          assert.ok(!error.message.includes(secretKey), 'the secret is never echoed')
          return true
        },
      )
    }
    // In process nothing is sealed, so nothing is refused.
    assert.doesNotThrow(() => createStsRouter({ ...base, secretKey: 'placeholder', cache: {} }))
  })

  it('refuses a weak sealSecret on the store', async () => {
    const client = await appRedisClient()
    clients.push(client)
    assert.throws(
      () => createRedisCacheStore({ client, prefix, sealSecret: 'short-secret' }),
      (error: unknown) => error instanceof ConfigError && /`redis\.sealSecret` is too weak/.test(error.message) && !error.message.includes('short-secret'),
    )
  })

  it("with a sealSecret, a placeholder secretKey is accepted and the store's values open only with the sealSecret", async () => {
    const placeholder = 'placeholder'
    const sealSecret = 'Seal-Secret-For-Tests-0123456789-abcdefXYZ'
    const sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: placeholder })
    try {
      const client = await appRedisClient()
      clients.push(client)
      const store = createRedisCacheStore({ client, prefix, sealSecret })
      assert.ok(!JSON.stringify(store).includes(sealSecret) && !Object.keys(store).includes('sealSecret'), 'the store does not show its secret')
      const cacheStore = cacheInstanceFor(sts, placeholder, store)
      await cacheStore.issue()
      const [entry] = await keysUnder(admin, `${prefix}k:`)
      assert.ok(entry)
      const value = (await admin.get(entry)) ?? ''
      const name = entry.slice(prefix.length)
      assert.ok(createSealer(sealSecret).open(value, name) !== undefined)
      assert.equal(createSealer(placeholder).open(value, name), undefined)
    } finally {
      await sts.close()
    }
  })
})

/** A router-less cache on `store` with the given permanent key, for the seal-secret case. */
function cacheInstanceFor(sts: LocalSts, secretKey: string, store: CacheStore) {
  const router = createStsRouter({
    secretId: TEST_SECRET_ID,
    secretKey,
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    rateLimit: false,
    authorize: () => ({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }),
    cache: { store },
    sts: { endpoint: sts.endpoint, protocol: sts.protocol },
  })
  return {
    issue: async () => {
      const { default: express } = await import('express')
      const { default: request } = await import('supertest')
      const app = express()
      app.use('/creds', router)
      await request(app).get('/creds').expect(200)
    },
  }
}
