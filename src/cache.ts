// The router's key cache as its options ask: none (`cache: false`), or the cache core over the in-process or a shared store.
import type { ResolvedOptions } from './options.js'
import type { IssuedKey } from './sts.js'
import type { CacheStats } from './types.js'
import { createKeyCache, type KeyCache } from './cache/core.js'

export { createKeyCache, FIRST_LEVEL_TTL_MS, type KeyCache, type KeyCacheSettings } from './cache/core.js'
export { MAX_CACHED_KEY_CHARS } from './cache/entry.js'
export type { ScopeRequest } from './cache/scope-id.js'

export function keyCacheFor(resolved: Pick<ResolvedOptions, 'cache' | 'secretId' | 'secretKey' | 'sts' | 'logger'>): KeyCache {
  if (resolved.cache === false) return uncachedIssuer()
  return createKeyCache({
    ...resolved.cache,
    secretId: resolved.secretId,
    secretKey: resolved.secretKey,
    mode: resolved.sts.roleArn === undefined ? 'GetFederationToken' : `AssumeRole ${resolved.sts.roleArn}`,
    fillTimeoutMs: resolved.sts.timeoutMs,
    logger: resolved.logger,
  })
}

/** `cache: false`: every request calls STS; the counters still count. */
function uncachedIssuer(): KeyCache {
  const counters: Omit<CacheStats, 'entries' | 'inFlight'> = { hits: 0, misses: 0, joined: 0, stsCalls: 0, errors: 0, storeErrors: 0 }
  let inFlight = 0
  return {
    isServable: () => false,
    held: () => undefined,
    async issue(_scope, fill: () => Promise<IssuedKey>) {
      counters.misses++
      counters.stsCalls++
      inFlight++
      try {
        return { key: await fill(), cached: false }
      } catch (error) {
        counters.errors++
        throw error
      } finally {
        inFlight--
      }
    },
    invalidate(subject) {
      if (typeof subject !== 'string' || subject === '')
        return Promise.reject(new TypeError('router.invalidate(subject) needs the subject string that authorize returned'))
      return Promise.resolve(true)
    },
    stats: () => ({ ...counters, entries: 0, inFlight }),
  }
}
