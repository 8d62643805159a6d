// The key cache's core: one path for every store — first level, single flight, counters, and the order of fallbacks.
import { LRUCache } from 'lru-cache'
import { systemClock, type Clock } from '../clock.js'
import { createSealer } from '../sealed.js'
import type { IssuedKey } from '../sts.js'
import type { CacheStats, CacheStore, Logger } from '../types.js'
import { keepable } from './entry.js'
import { recentInvalidations } from './marks.js'
import { createMemoryCacheStore } from './memory-store.js'
import { scopeIdOf, type ScopeRequest } from './scope-id.js'
import { checkSealSecret } from './seal-secret.js'
import { createStoreCalls, StoreFailure } from './store-calls.js'
import { createStoreLevel, type CacheCounters, type Flight, type Outcome } from './store-level.js'

export interface KeyCache {
  /** The scope's key: a cached one while it has `minRemainingSeconds` left, else `fill`'s, one call per scope at a time. */
  issue(scope: ScopeRequest, fill: () => Promise<IssuedKey>): Promise<{ key: IssuedKey; cached: boolean }>
  /**
   * True when a servable key for `scope` is held in this process (no network call): the request will not need STS.
   * For express-rate-limit's `skip`, so the per-subject limit counts only requests that call STS.
   */
  isServable(scope: ScopeRequest): boolean
  /** The key `issue` would answer from this process without a call, counted as a hit; undefined when it would not. */
  held(scope: ScopeRequest): IssuedKey | undefined
  /** Drops `subject`'s cached keys and calls in flight; false when the shared store could not be told (logged). */
  invalidate(subject: string): Promise<boolean>
  stats(): CacheStats
}

export interface KeyCacheSettings {
  max: number
  minRemainingSeconds: number
  /** Where keys live; default an in-process `createMemoryCacheStore({ max })`. */
  store: CacheStore | undefined
  secretId: string
  secretKey: string
  /** `GetFederationToken`, or `AssumeRole` and its role: a key of one mode never answers the other. */
  mode: string
  /** Longest one STS call may take: how long other instances wait on the shared fill lock. */
  fillTimeoutMs: number
  logger: Logger
  /** How long a key read from a shared store is served from the first level before the store is asked again (default FIRST_LEVEL_TTL_MS). */
  firstLevelTtlMs?: number
  /** Timers and wall clock; keys expire by it (default the system's). */
  clock?: Clock
  /** Wall clock only (older form of `clock`). */
  now?: () => number
}

/** Default first-level lifetime: how long a key can outlive `invalidate()` on another instance when pub/sub does not reach this one. */
export const FIRST_LEVEL_TTL_MS = 2000

/** An in-process copy of a key from a shared store. */
interface Held {
  subjectId: string
  key: IssuedKey
  /** Until then it is served without asking the store. */
  freshUntil: number
  /** Read from or written to the store; false for a key fetched while the store failed. */
  confirmed: boolean
}

export function createKeyCache(settings: KeyCacheSettings): KeyCache {
  const clock = settings.clock ?? (settings.now ? { ...systemClock, now: settings.now } : systemClock)
  const now = () => clock.now()
  const store = settings.store ?? createMemoryCacheStore({ max: settings.max, now })
  // An in-process store's values never leave the process: no sealing, and no first level in front of it.
  const inProcess = typeof store.peek === 'function'
  const sealer = inProcess ? undefined : createSealer(checkSealSecret(store, settings.secretKey))
  const firstLevelTtlMs = settings.firstLevelTtlMs ?? FIRST_LEVEL_TTL_MS
  const counters: CacheCounters = { hits: 0, misses: 0, joined: 0, stsCalls: 0, errors: 0, storeErrors: 0 }
  /** The first level's scopes by subject, so an invalidation drops them without a walk over the whole first level. */
  const scopesOf = new Map<string, Set<string>>()
  const firstLevel = inProcess
    ? undefined
    : new LRUCache<string, Held>({
        max: settings.max,
        perf: { now },
        // Runs for every way an entry leaves (evicted, expired, deleted, replaced), before a replacement is indexed again.
        dispose: (held, scopeId) => {
          const scopes = scopesOf.get(held.subjectId)
          scopes?.delete(scopeId)
          if (scopes?.size === 0) scopesOf.delete(held.subjectId)
        },
      })
  const flights = new Map<string, Flight & { outcome: Promise<Outcome> }>()

  /** Milliseconds the key may still be served; negative once fewer than minRemainingSeconds are left. */
  const servableFor = (key: IssuedKey): number => (key.expiredTime - settings.minRemainingSeconds) * 1000 - now()
  const subjectIdOf = (subject: string) => (sealer ? sealer.digest(`subject\n${subject}`) : subject)

  /** Forgets a subject's keys in process, and lets no call already in flight keep its key. */
  function dropSubject(subjectId: string): void {
    for (const scopeId of [...(scopesOf.get(subjectId) ?? [])]) firstLevel?.delete(scopeId)
    for (const [scopeId, flight] of flights) {
      if (flight.subjectId !== subjectId) continue
      flight.stale = true // requests already waiting keep their answer; later ones start a fresh call
      flights.delete(scopeId)
    }
  }

  const calls = createStoreCalls({
    clock,
    logger: settings.logger,
    onError: () => {
      counters.storeErrors++
    },
    // Keys fetched while the store failed may predate an invalidate made elsewhere: from now on only the store's count.
    onRecovered: () => {
      if (firstLevel) for (const [scopeId, held] of firstLevel.entries()) if (!held.confirmed) firstLevel.delete(scopeId)
    },
  })
  const level = createStoreLevel({
    store,
    sealer,
    calls,
    clock,
    counters,
    logger: settings.logger,
    servableFor,
    invalidations: recentInvalidations(clock, settings.max),
    lockTtlMs: settings.fillTimeoutMs + 1000,
    waitLimitMs: settings.fillTimeoutMs,
    onInvalidated: dropSubject,
  })
  level.listen()

  /** Keeps a key in the first level: fresh for firstLevelTtlMs, servable (while the store fails) until its own margin. */
  function keep(scopeId: string, flight: Flight, outcome: Outcome): void {
    const keepMs = servableFor(outcome.key)
    if (firstLevel === undefined || flight.stale || keepMs <= 0 || !keepable(outcome.key)) return
    firstLevel.set(
      scopeId,
      { subjectId: flight.subjectId, key: outcome.key, freshUntil: now() + firstLevelTtlMs, confirmed: outcome.confirmed },
      { ttl: keepMs },
    )
    const scopes = scopesOf.get(flight.subjectId)
    if (scopes === undefined) scopesOf.set(flight.subjectId, new Set([scopeId]))
    else scopes.add(scopeId)
  }

  /** The fallback order: the store (entry, fill lock, another instance's fill); if it fails, what this process holds; else STS alone. */
  async function lead(scopeId: string, flight: Flight, fill: () => Promise<IssuedKey>): Promise<Outcome> {
    if (calls.available()) {
      try {
        const outcome = await level.resolve(flight.subjectId, scopeId, fill, flight)
        keep(scopeId, flight, outcome)
        return outcome
      } catch (error) {
        if (!(error instanceof StoreFailure)) throw error // STS's own errors go to the caller
      }
    }
    const held = firstLevel?.get(scopeId)
    if (held !== undefined && servableFor(held.key) >= 0) {
      counters.hits++
      return { key: held.key, fromSts: false, confirmed: held.confirmed }
    }
    counters.misses++
    const outcome = { key: await fill(), fromSts: true, confirmed: false }
    keep(scopeId, flight, outcome)
    return outcome
  }

  /** A key this process can serve now without a network call, or undefined. */
  // A frozen scope (a remembered grant's, see issue.ts) is the same object on every request: hash it once.
  const scopeIds = new WeakMap<ScopeRequest, string>()
  function idOf(scope: ScopeRequest): string {
    const known = scopeIds.get(scope)
    if (known !== undefined) return known
    const scopeId = scopeIdOf(scope, settings.secretId, settings.mode)
    if (Object.isFrozen(scope)) scopeIds.set(scope, scopeId)
    return scopeId
  }

  function heldKey(scope: ScopeRequest, scopeId: string, freshOnly: boolean): IssuedKey | undefined {
    if (firstLevel === undefined) return level.peek(scope.subject, scopeId)
    const held = firstLevel.get(scopeId)
    if (held === undefined || servableFor(held.key) < 0) return undefined
    return !freshOnly || held.freshUntil > now() ? held.key : undefined
  }

  /** The key a request is served from this process now, counted as a hit; undefined when it must join a call or make one. */
  function hit(scope: ScopeRequest, scopeId: string): IssuedKey | undefined {
    const key = heldKey(scope, scopeId, true)
    if (key !== undefined) counters.hits++
    return key
  }

  return {
    isServable(scope) {
      return heldKey(scope, idOf(scope), false) !== undefined
    },

    held: (scope) => hit(scope, idOf(scope)),

    async issue(scope, fill) {
      const scopeId = idOf(scope)
      const held = hit(scope, scopeId)
      if (held !== undefined) return { key: held, cached: true }
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
      const flight = { subjectId: subjectIdOf(scope.subject), stale: false } as Flight & { outcome: Promise<Outcome> }
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
      dropSubject(subjectId)
      return level.invalidate(subjectId)
    },

    stats: () => ({ ...counters, entries: firstLevel ? firstLevel.size : storeSize(store), inFlight: flights.size }),
  }
}

/** Keys an in-process store holds (createMemoryCacheStore's `size`); 0 for a store that does not say. */
function storeSize(store: CacheStore): number {
  const size = (store as { size?: unknown }).size
  return typeof size === 'number' ? size : 0
}
