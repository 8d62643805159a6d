// The shared-store side of the key cache: sealed entries, per-subject invalidation marks, a short fill lock, and STS directly when the store fails.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Sealer } from './sealed.js'
import type { IssuedKey } from './sts.js'
import type { CacheStats, CacheStore, Logger } from './types.js'

/** Bound on every store call: a default ioredis client queues commands ~10 s while reconnecting, and a request must not wait for that. */
export const STORE_TIMEOUT_MS = 200
/** After a store failure, requests go straight to STS for this long before the store is tried again. */
export const STORE_RETRY_AFTER_MS = 1000
/** How often an instance waiting on another's fill lock looks for the key. */
const LOCK_POLL_MS = 20
/** Rounds of "lock taken by another instance, released without a key" before calling STS anyway. */
const MAX_LOCK_ROUNDS = 3
/** A mark outlives the longest key STS issues (129600 s), so an entry written under an older mark never matches again. */
const MARK_TTL_MS = (129_600 + 3_600) * 1000

export type CacheCounters = Omit<CacheStats, 'entries' | 'inFlight'>

/** One in-process call for a scope; `stale` once its subject was invalidated, so its key is not kept. */
export interface Flight {
  stale: boolean
}

export interface Outcome {
  key: IssuedKey
  fromSts: boolean
  /** The shared store holds it (or will not, by design): nothing to keep in process. */
  kept: boolean
}

export interface SharedCache {
  /**
   * The scope's key from the store, or from `fill` under the store's fill lock (shared afterwards). While the store
   * fails: the key this process kept (`kept`), else `fill` alone.
   */
  resolve(subjectId: string, scopeId: string, fill: () => Promise<IssuedKey>, flight: Flight, kept: () => IssuedKey | undefined): Promise<Outcome>
  /** Gives the subject a new mark, so no instance serves a key cached under the old one. */
  invalidate(subjectId: string): Promise<boolean>
}

export interface SharedCacheSettings {
  store: CacheStore
  sealer: Sealer
  /** Milliseconds a key may still be served (negative: no longer). */
  servableFor(key: IssuedKey): number
  counters: CacheCounters
  logger: Logger
  /** How long a fill lock lasts: longer than one STS call may take, so a crashed holder frees it. */
  lockTtlMs: number
  /** Called when the store answers again after failing. */
  onRecovered(): void
}

/** A store call that failed or took too long; the request goes on without the store. */
class StoreFailure extends Error {
  override readonly name = 'StoreFailure'
}

/** What the store holds for a scope right now. */
interface Sighting {
  key?: IssuedKey
  mark: string
  locked: boolean
}

export function createSharedCache(settings: SharedCacheSettings): SharedCache {
  const { store, sealer, counters, logger } = settings
  let down = false
  let skipUntil = 0

  /** Runs one store call within STORE_TIMEOUT_MS; a late answer or rejection is swallowed, never unhandled. */
  async function bounded<T>(operation: string, run: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    let call: Promise<T>
    try {
      call = Promise.resolve(run())
    } catch (error) {
      throw new StoreFailure(`${operation}: ${messageOf(error)}`)
    }
    call.catch(() => undefined)
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreFailure(`${operation}: no answer within ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS)
    })
    try {
      return await Promise.race([call, deadline])
    } catch (error) {
      throw error instanceof StoreFailure ? error : new StoreFailure(`${operation}: ${messageOf(error)}`)
    } finally {
      clearTimeout(timer)
    }
  }

  function storeFailed(error: unknown): void {
    counters.storeErrors++
    skipUntil = Date.now() + STORE_RETRY_AFTER_MS
    if (down) return // logged once per outage, not once per request
    down = true
    logger.error('express-cos-sts: the shared cache store failed; calling STS directly until it answers again', { message: messageOf(error) })
  }

  function storeAnswered(): void {
    if (!down) return
    down = false
    settings.onRecovered()
    logger.info?.('express-cos-sts: the shared cache store answers again')
  }

  function unseal(sealed: string, entryName: string): { key: IssuedKey; mark: string } | undefined {
    const plaintext = sealer.open(sealed, entryName)
    const entry = plaintext === undefined ? undefined : parseEntry(plaintext)
    if (entry === undefined) logger.warn('express-cos-sts: ignored a shared cache entry that failed authentication (altered, or not written by this key)')
    return entry
  }

  async function look(names: Names): Promise<Sighting> {
    const values = await bounded('get', () => store.get([names.entry, names.mark, names.lock]))
    if (!Array.isArray(values)) throw new StoreFailure('get: the store did not answer with a list')
    const [sealed, storedMark, lock] = values
    const mark = typeof storedMark === 'string' ? storedMark : ''
    const locked = typeof lock === 'string'
    if (typeof sealed === 'string') {
      const entry = unseal(sealed, names.entry)
      if (entry !== undefined && entry.mark === mark && settings.servableFor(entry.key) >= 0) return { key: entry.key, mark, locked }
    }
    return { mark, locked }
  }

  /** Another instance holds the fill lock: look until its key appears, the lock goes, or the lock's lifetime is over. */
  async function waitForFill(names: Names): Promise<Sighting & { timedOut?: boolean }> {
    const until = Date.now() + settings.lockTtlMs
    for (;;) {
      await sleep(LOCK_POLL_MS)
      const seen = await look(names)
      if (seen.key !== undefined || !seen.locked) return seen
      if (Date.now() >= until) return { ...seen, timedOut: true }
    }
  }

  async function fillAndShare(names: Names, mark: string, fill: () => Promise<IssuedKey>, flight: Flight, lockToken?: string): Promise<Outcome> {
    counters.misses++
    try {
      const key = await fill()
      const keepMs = settings.servableFor(key)
      let kept = true
      if (keepMs > 0 && !flight.stale) {
        const sealed = sealer.seal(JSON.stringify({ key, mark }), names.entry)
        kept = await bounded('set', () => store.set(names.entry, sealed, keepMs)).then(() => true, (error: unknown) => {
          storeFailed(error)
          return false
        })
      }
      return { key, fromSts: true, kept }
    } finally {
      if (lockToken !== undefined) void bounded('deleteIfValue', () => store.deleteIfValue(names.lock, lockToken)).catch(storeFailed)
    }
  }

  async function viaStore(names: Names, fill: () => Promise<IssuedKey>, flight: Flight): Promise<Outcome> {
    let seen = await look(names)
    storeAnswered()
    if (seen.key !== undefined) {
      counters.hits++
      return { key: seen.key, fromSts: false, kept: true }
    }
    for (let round = 0; round < MAX_LOCK_ROUNDS; round++) {
      const token = randomBytes(16).toString('base64url')
      if (await bounded('set', () => store.set(names.lock, token, settings.lockTtlMs, true))) {
        // Another instance may have filled and released between our look and our lock.
        const again = await look(names).catch((error: unknown) => {
          storeFailed(error)
          return seen
        })
        if (again.key !== undefined) {
          void bounded('deleteIfValue', () => store.deleteIfValue(names.lock, token)).catch(storeFailed)
          counters.joined++
          return { key: again.key, fromSts: false, kept: true }
        }
        return fillAndShare(names, again.mark, fill, flight, token)
      }
      const waited = await waitForFill(names)
      if (waited.key !== undefined) {
        counters.joined++
        return { key: waited.key, fromSts: false, kept: true }
      }
      if (waited.timedOut) break
      seen = waited // released without a key: that call failed; try to take the lock ourselves
    }
    return fillAndShare(names, seen.mark, fill, flight)
  }

  return {
    async resolve(subjectId, scopeId, fill, flight, keptInProcess) {
      // Hash tags keep a subject's names in one Redis Cluster slot; the digests say nothing without the permanent key.
      const scopeName = sealer.digest(`scope\n${scopeId}`)
      const names = { entry: `k:{${subjectId}}:${scopeName}`, mark: `m:{${subjectId}}`, lock: `l:{${subjectId}}:${scopeName}` }
      if (Date.now() >= skipUntil) {
        try {
          return await viaStore(names, fill, flight)
        } catch (error) {
          if (!(error instanceof StoreFailure)) throw error // STS's own errors go to the caller
          storeFailed(error)
        }
      }
      const local = keptInProcess()
      if (local !== undefined) {
        counters.hits++
        return { key: local, fromSts: false, kept: true }
      }
      counters.misses++
      return { key: await fill(), fromSts: true, kept: false }
    },

    async invalidate(subjectId) {
      try {
        await bounded('set', () => store.set(`m:{${subjectId}}`, randomBytes(16).toString('base64url'), MARK_TTL_MS))
        storeAnswered()
        return true
      } catch (error) {
        storeFailed(error)
        logger.error('express-cos-sts: could not invalidate a subject in the shared cache store; its keys there stay served until they expire', { message: messageOf(error) })
        return false
      }
    },
  }
}

interface Names {
  entry: string
  mark: string
  lock: string
}

function parseEntry(plaintext: string): { key: IssuedKey; mark: string } | undefined {
  try {
    const { key, mark } = JSON.parse(plaintext) as { key?: Partial<IssuedKey>; mark?: unknown }
    if (typeof mark !== 'string' || key === undefined || key === null) return undefined
    const { tmpSecretId, tmpSecretKey, sessionToken, startTime, expiredTime, expiration, requestId } = key
    if (typeof tmpSecretId !== 'string' || typeof tmpSecretKey !== 'string' || typeof sessionToken !== 'string') return undefined
    if (typeof startTime !== 'number' || typeof expiredTime !== 'number' || typeof expiration !== 'string' || typeof requestId !== 'string') return undefined
    return { key: { tmpSecretId, tmpSecretKey, sessionToken, startTime, expiredTime, expiration, requestId }, mark }
  } catch {
    return undefined
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
