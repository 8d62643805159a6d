// A key cache instance over a Redis cache store, with the real STS caller against the local STS: for the first-level, lock and rollback suites.
import type { Redis } from 'ioredis'
import { createKeyCache, type KeyCache, type ScopeRequest } from '../../src/cache.js'
import type { Clock } from '../../src/clock.js'
import { resolveOptions } from '../../src/options.js'
import { createRedisCacheStore } from '../../src/redis.js'
import { createStsCaller } from '../../src/sts.js'
import type { LocalSts } from '../../src/testing/index.js'
import type { CacheStore, CamPolicy } from '../../src/types.js'
import { capturingLogger } from './app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './keys.js'

export interface CacheInstance {
  cache: KeyCache
  store: CacheStore
  logger: ReturnType<typeof capturingLogger>
  scope(subject: string): ScopeRequest
  issue(subject: string): Promise<{ key: { tmpSecretId: string }; cached: boolean }>
}

export interface CacheInstanceOptions {
  clock?: Clock
  firstLevelTtlMs?: number
  /** Changes what the cache sees of the real store (e.g. no pub/sub). */
  wrap?: (store: CacheStore) => CacheStore
}

export function cacheInstance(sts: LocalSts, client: Redis, prefix: string, options: CacheInstanceOptions = {}): CacheInstance {
  const resolved = resolveOptions({
    secretId: TEST_SECRET_ID,
    secretKey: TEST_SECRET_KEY,
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    authorize: () => null,
    sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 2000 },
  })
  const callSts = createStsCaller(resolved)
  const logger = capturingLogger()
  const real = createRedisCacheStore({ client, prefix })
  const store = options.wrap ? options.wrap(real) : real
  const cache = createKeyCache({
    max: 1000,
    minRemainingSeconds: 300,
    store,
    secretId: TEST_SECRET_ID,
    secretKey: TEST_SECRET_KEY,
    mode: 'GetFederationToken',
    fillTimeoutMs: 2000,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.firstLevelTtlMs !== undefined ? { firstLevelTtlMs: options.firstLevelTtlMs } : {}),
  })
  const policyOf = (subject: string): CamPolicy => ({
    version: '2.0',
    statement: [{ effect: 'allow', action: ['name/cos:PutObject'], resource: [`qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/uploads/${subject}/*`] }],
  })
  const scope = (subject: string): ScopeRequest => ({ subject, bucket: TEST_BUCKET, region: TEST_REGION, policy: policyOf(subject), durationSeconds: 1800 })
  return {
    cache,
    store,
    logger,
    scope,
    issue: (subject) => cache.issue(scope(subject), () => callSts({ subject, policy: policyOf(subject), durationSeconds: 1800 })),
  }
}

/** The store without pub/sub: what a store that has none (or whose subscription was lost) gives the cache. */
export function withoutPubSub(store: CacheStore): CacheStore {
  return {
    get: (keys) => store.get(keys),
    set: (key, value, ttlMs, onlyIfAbsent) => store.set(key, value, ttlMs, onlyIfAbsent),
    deleteIfValue: (key, value) => store.deleteIfValue(key, value),
  }
}

/** Waits (bounded) until Redis counts `count` subscribers on the cache's events channel under `prefix`. */
export async function subscribed(admin: Redis, prefix: string, count: number): Promise<void> {
  await until(async () => {
    const answer = (await admin.call('PUBSUB', 'NUMSUB', `${prefix}events`)) as [string, number]
    return Number(answer[1]) >= count
  }, 'the instances subscribed')
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition());) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
