// The per-scope key cache: scope digest, in-process LRU, single flight and counters; keys go to the shared store when one is configured and answering.
import { hash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { ResolvedOptions } from './options.js'
import { createSealer } from './sealed.js'
import { createSharedCache, type CacheCounters, type Flight, type Outcome } from './shared-cache.js'
import type { IssuedKey } from './sts.js'
import type { CacheStats, CacheStore, CamPolicy, Logger } from './types.js'

/** Everything that makes two requests want the same key. */
export interface ScopeRequest {
  subject: string
  bucket: string
  region: string
  /** The exact policy STS will receive: a changed grant is a new scope. */
  policy: CamPolicy
  durationSeconds: number
}

export interface KeyCache {
  /** The scope's key: a cached one while it has `minRemainingSeconds` left, else `fill`'s, one call per scope at a time. */
  issue(scope: ScopeRequest, fill: () => Promise<IssuedKey>): Promise<{ key: IssuedKey; cached: boolean }>
  /**
   * True when a servable key for `scope` is held in this process (no network call): the request will not need STS.
   * For express-rate-limit's `skip`, so the per-subject limit counts only requests that call STS.
   */
  isServable(scope: ScopeRequest): boolean
  /** Drops `subject`'s cached keys and calls in flight; false when the shared store could not be told (logged). */
  invalidate(subject: string): Promise<boolean>
  stats(): CacheStats
}

export interface KeyCacheSettings {
  max: number
  minRemainingSeconds: number
  store: CacheStore | undefined
  secretId: string
  secretKey: string
  /** `GetFederationToken`, or `AssumeRole` and its role: a key of one mode never answers the other. */
  mode: string
  /** Longest one STS call may take: how long other instances wait on the shared fill lock. */
  fillTimeoutMs: number
  logger: Logger
  /** Wall clock in ms; keys expire by it. */
  now?: () => number
}

/**
 * A key with more text than STS documents (token ≤ 4096 bytes, id and key ≤ 1024 each) is served but not kept,
 * so `max` entries have a hard memory ceiling.
 */
export const MAX_CACHED_KEY_CHARS = 6400
const DIGEST_VERSION = 'scope v1'

/** The router's cache as its options ask: none, in process, or through a shared store. */
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

export function createKeyCache(settings: KeyCacheSettings): KeyCache {
  const now = settings.now ?? Date.now
  const sealer = createSealer(settings.secretKey)
  const counters: CacheCounters = { hits: 0, misses: 0, joined: 0, stsCalls: 0, errors: 0, storeErrors: 0 }
  const memory = new LRUCache<string, { subjectId: string; key: IssuedKey }>({ max: settings.max, perf: { now } })
  const flights = new Map<string, Flight & { subjectId: string; outcome: Promise<Outcome> }>()

  /** Milliseconds the key may still be served; negative once fewer than minRemainingSeconds are left (or it is too big to keep). */
  const servableFor = (key: IssuedKey): number => {
    const chars = key.tmpSecretId.length + key.tmpSecretKey.length + key.sessionToken.length + key.expiration.length + key.requestId.length
    return chars > MAX_CACHED_KEY_CHARS ? -1 : (key.expiredTime - settings.minRemainingSeconds) * 1000 - now()
  }
  const shared = settings.store === undefined
    ? undefined
    : createSharedCache({
      store: settings.store, sealer, servableFor, counters, logger: settings.logger, lockTtlMs: settings.fillTimeoutMs + 1000,
      // Keys kept in process while the store failed may predate an invalidate made elsewhere: from now on only the store's count.
      onRecovered: () => memory.clear(),
    })

  const subjectIdOf = (subject: string) => sealer.digest(`subject\n${subject}`)
  const servableEntry = (scopeId: string) => {
    const entry = memory.get(scopeId)
    return entry !== undefined && servableFor(entry.key) >= 0 ? entry : undefined
  }

  async function lead(scopeId: string, flight: Flight & { subjectId: string }, fill: () => Promise<IssuedKey>): Promise<Outcome> {
    let outcome: Outcome
    if (shared) {
      outcome = await shared.resolve(flight.subjectId, scopeId, fill, flight, () => servableEntry(scopeId)?.key)
    } else {
      counters.misses++
      outcome = { key: await fill(), fromSts: true, kept: false }
    }
    // Without a store, or while it fails, keys are kept in process (so an outage costs no more STS calls than no store).
    const keepMs = servableFor(outcome.key)
    if (!outcome.kept && outcome.fromSts && keepMs > 0 && !flight.stale) memory.set(scopeId, { subjectId: flight.subjectId, key: outcome.key }, { ttl: keepMs })
    return outcome
  }

  // A plain hash names the scope in process (the hit path's one digest); the store only ever sees a keyed digest of it.
  const scopeIdOf = (scope: ScopeRequest) => hash('sha256', JSON.stringify([
    DIGEST_VERSION, settings.secretId, settings.mode, scope.subject, scope.bucket, scope.region, scope.durationSeconds, scope.policy,
  ]), 'base64url')

  return {
    isServable: (scope) => servableEntry(scopeIdOf(scope)) !== undefined,

    async issue(scope, fill) {
      const scopeId = scopeIdOf(scope)
      const cachedEntry = shared === undefined ? servableEntry(scopeId) : undefined
      if (cachedEntry !== undefined) {
        counters.hits++
        return { key: cachedEntry.key, cached: true }
      }
      const inFlight = flights.get(scopeId)
      if (inFlight !== undefined) {
        counters.joined++
        return { key: (await inFlight.outcome).key, cached: true }
      }
      const countedFill = async (): Promise<IssuedKey> => {
        counters.stsCalls++
        try {
          return await fill()
        } catch (error) {
          counters.errors++ // never cached: the flight ends with it and every waiter receives it
          throw error
        }
      }
      const flight = { subjectId: subjectIdOf(scope.subject), stale: false } as Flight & { subjectId: string; outcome: Promise<Outcome> }
      flight.outcome = lead(scopeId, flight, countedFill)
      flights.set(scopeId, flight)
      try {
        const outcome = await flight.outcome
        return { key: outcome.key, cached: !outcome.fromSts }
      } finally {
        if (flights.get(scopeId) === flight) flights.delete(scopeId)
      }
    },

    async invalidate(subject) {
      if (typeof subject !== 'string' || subject === '') throw new TypeError('router.invalidate(subject) needs the subject string that authorize returned')
      const subjectId = subjectIdOf(subject)
      const dropped: string[] = []
      for (const [scopeId, entry] of memory.entries()) if (entry.subjectId === subjectId) dropped.push(scopeId)
      for (const scopeId of dropped) memory.delete(scopeId)
      // Requests already waiting keep their answer; later ones start a fresh call, and the stale one is not kept.
      for (const [scopeId, flight] of flights) {
        if (flight.subjectId !== subjectId) continue
        flight.stale = true
        flights.delete(scopeId)
      }
      return shared ? shared.invalidate(subjectId) : true
    },

    stats: () => ({ ...counters, entries: memory.size, inFlight: flights.size }),
  }
}

/** `cache: false`: every request calls STS; the counters still count. */
function uncachedIssuer(): KeyCache {
  const counters: CacheCounters = { hits: 0, misses: 0, joined: 0, stsCalls: 0, errors: 0, storeErrors: 0 }
  let inFlight = 0
  return {
    isServable: () => false,
    async issue(_scope, fill) {
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
      if (typeof subject !== 'string' || subject === '') return Promise.reject(new TypeError('router.invalidate(subject) needs the subject string that authorize returned'))
      return Promise.resolve(true)
    },
    stats: () => ({ ...counters, entries: 0, inFlight }),
  }
}
