// The cache store conformance kit (express-cos-sts/testing) run against both stores we ship, and against broken stores it must catch.
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { createMemoryCacheStore, type CacheStore } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'
import { cacheStoreChecks, testCacheStore } from '../src/testing/index.js'
import { appRedisClient, connectTestRedis, deleteUnder, uniquePrefix } from './support/redis.js'

testCacheStore('createMemoryCacheStore', () => createMemoryCacheStore())

describe('cache store conformance: createRedisCacheStore on a real Redis', () => {
  let admin: Redis
  const prefixes: string[] = []
  const clients: Redis[] = []
  before(async function () {
    admin = await connectTestRedis(this)
  })
  after(async () => {
    for (const prefix of prefixes) await deleteUnder(admin, prefix)
    for (const client of clients) client.disconnect()
    admin?.disconnect()
  })
  const factory = async () => {
    const client = await appRedisClient()
    clients.push(client)
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    return createRedisCacheStore({ client, prefix })
  }
  for (const check of cacheStoreChecks(factory)) it(check.name, () => check.run())
})

describe('cache store conformance: the kit catches broken stores', () => {
  const failing = async (store: () => CacheStore, checkName: RegExp) => {
    const check = cacheStoreChecks(store).find((candidate) => checkName.test(candidate.name))
    assert.ok(check, `no check matches ${checkName}`)
    await assert.rejects(check.run(), assert.AssertionError)
  }

  it('a store whose onlyIfAbsent overwrites', async () => {
    await failing(() => {
      const store = createMemoryCacheStore()
      return { ...store, set: (key, value, ttlMs) => store.set(key, value, ttlMs) }
    }, /onlyIfAbsent stores only/)
  })

  it('a store that ignores ttlMs', async () => {
    await failing(() => {
      const store = createMemoryCacheStore()
      return { ...store, set: (key, value, _ttlMs, onlyIfAbsent) => store.set(key, value, 3_600_000, onlyIfAbsent) }
    }, /gone once its ttlMs/)
  })

  it('a store whose deleteIfValue deletes whatever the value', async () => {
    await failing(() => {
      const store = createMemoryCacheStore()
      return {
        ...store,
        deleteIfValue: async (key) => {
          const [value] = await store.get([key])
          if (value) await store.deleteIfValue(key, value)
        },
      }
    }, /deleteIfValue/)
  })

  it('a store that loses the order of keys', async () => {
    await failing(() => {
      const store = createMemoryCacheStore()
      return { ...store, get: async (keys) => (await store.get(keys)).filter((value) => value !== undefined) }
    }, /in order/)
  })

  it('testCacheStore refuses to run without describe/it', () => {
    assert.throws(() => testCacheStore('x', () => createMemoryCacheStore(), {} as never), /needs describe\/it/)
  })
})
