// The store side of the key cache: entries under each subject's mark, a fill lock, waits ended by pub/sub or backoff, invalidation marks.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { Sealer } from '../sealed.js'
import type { IssuedKey } from '../sts.js'
import type { CacheStats, CacheStore, Logger } from '../types.js'
import { decodeEntry, encodeEntry, keepable, type Entry } from './entry.js'
import { MARK_TTL_MS, newMark, type RecentInvalidations } from './marks.js'
import { messageOf } from '../errors.js'
import { StoreFailure, type StoreCalls } from './store-calls.js'

/** Rounds of "lock taken by another instance, released without a key" before calling STS anyway. */
const MAX_LOCK_ROUNDS = 3
/** A waiting instance looks again after 10, 20, 40, 80, then every 100 ms, unless pub/sub says the key landed first. */
const FIRST_POLL_MS = 10
const MAX_POLL_MS = 100
/** The pub/sub channel (the store adds its prefix): `i <mark> <subject id>` for an invalidation, `f <entry name>` for a fill. */
export const EVENTS_CHANNEL = 'events'

export type CacheCounters = Omit<CacheStats, 'entries' | 'inFlight'>

/** One in-process call for a scope; `stale` once its subject was invalidated, so its key is not kept. */
export interface Flight {
  subjectId: string
  stale: boolean
}

export interface Outcome {
  key: IssuedKey
  fromSts: boolean
  /** The store holds this key under its subject's current mark. */
  confirmed: boolean
}

export interface StoreLevel {
  /** The key the store holds for the scope, checked against its subject's mark, without a network call (in-process stores only). */
  peek(subjectId: string, scopeId: string): IssuedKey | undefined
  /**
   * The scope's key from the store, or from `fill` under the store's fill lock (shared afterwards), or another
   * instance's fill waited for. Rejects with StoreFailure when the store fails before a key is in hand.
   */
  resolve(subjectId: string, scopeId: string, fill: () => Promise<IssuedKey>, flight: Flight): Promise<Outcome>
  /** Gives the subject a new mark, so no instance serves a key cached under the old one, and tells every instance. */
  invalidate(subjectId: string): Promise<boolean>
  /** Subscribes to the store's events, when it has pub/sub. */
  listen(): void
}

export interface StoreLevelSettings {
  store: CacheStore
  /** Seals values and names keys for a store outside this process; undefined for an in-process store. */
  sealer: Sealer | undefined
  calls: StoreCalls
  clock: Clock
  counters: CacheCounters
  logger: Logger
  invalidations: RecentInvalidations
  /** Milliseconds a key may still be served (negative: no longer). */
  servableFor(key: IssuedKey): number
  /** How long a fill lock lasts: longer than one STS call may take, so a crashed holder frees it. */
  lockTtlMs: number
  /** Longest wait for another instance's fill: the request's own STS deadline. */
  waitLimitMs: number
  /** Another instance invalidated `subjectId`. */
  onInvalidated(subjectId: string): void
}

interface Names {
  entry: string
  mark: string
  lock: string
}

/** What the store holds for a scope right now. `mark` is undefined when it is absent or older than an invalidation seen here. */
interface Sighting {
  key?: IssuedKey
  mark: string | undefined
  /** A mark is there but predates an invalidation this process knows of (the store went back in time). */
  rolledBack: boolean
  locked: boolean
}

export function createStoreLevel(settings: StoreLevelSettings): StoreLevel {
  const { store, sealer, calls, clock, counters, logger, invalidations } = settings
  const fillWaiters = new Map<string, Set<() => void>>()

  // Hash tags keep a subject's names in one Redis Cluster slot; the digests say nothing without the seal secret.
  const namesOf = (subjectId: string, scopeId: string): Names => {
    const scopeName = sealer ? sealer.digest(`scope\n${scopeId}`) : scopeId
    return { entry: `k:{${subjectId}}:${scopeName}`, mark: `m:{${subjectId}}`, lock: `l:{${subjectId}}:${scopeName}` }
  }

  function openEntry(value: string, name: string): Entry | undefined {
    const text = sealer ? sealer.open(value, name) : value
    const entry = text === undefined ? undefined : decodeEntry(text)
    if (entry === undefined)
      logger.warn(
        'express-cos-sts: ignored a shared cache entry that failed authentication (altered, not written with this seal secret, or by an older version)',
      )
    return entry
  }

  function sighting(subjectId: string, names: Names, values: Array<string | null | undefined>): Sighting {
    const [value, storedMark, lock] = values
    const present = typeof storedMark === 'string' && storedMark !== ''
    const rolledBack = present && invalidations.supersedes(subjectId, storedMark)
    // An absent mark (evicted, expired, never set) matches nothing: entries written under a lost mark are never served.
    const mark = present && !rolledBack ? storedMark : undefined
    const locked = typeof lock === 'string'
    if (typeof value === 'string' && mark !== undefined) {
      const entry = openEntry(value, names.entry)
      if (entry !== undefined && entry.mark === mark && settings.servableFor(entry.key) >= 0) return { key: entry.key, mark, rolledBack, locked }
    }
    return { mark, rolledBack, locked }
  }

  async function look(subjectId: string, names: Names): Promise<Sighting> {
    const values = await calls.run('get', () => store.get([names.entry, names.mark, names.lock]))
    if (!Array.isArray(values)) {
      const failure = new StoreFailure('get: the store did not answer with a list')
      calls.failed(failure)
      throw failure
    }
    return sighting(subjectId, names, values)
  }

  function release(names: Names, token: string): void {
    calls.run('deleteIfValue', () => store.deleteIfValue(names.lock, token)).catch(() => undefined) // else it expires with its TTL
  }

  function publish(message: string): void {
    if (typeof store.publish !== 'function') return
    try {
      Promise.resolve(store.publish(EVENTS_CHANNEL, message)).catch(() => undefined)
    } catch {
      // a store that throws at once: subscribers fall back to polling and the first level's lifetime
    }
  }

  /** The mark to write a new entry under: the current one, or a fresh one when it is absent or was rolled back. */
  async function markForFill(subjectId: string, names: Names, seen: Sighting): Promise<string> {
    if (seen.mark !== undefined) return seen.mark
    const fresh = newMark(clock, invalidations.floor(subjectId))
    // A rolled-back mark is replaced; an absent one is created only if no other instance did meanwhile.
    if (await calls.run('mark', () => store.set(names.mark, fresh, MARK_TTL_MS, !seen.rolledBack))) return fresh
    const again = await look(subjectId, names)
    if (again.mark === undefined) throw new StoreFailure('mark: another instance set one that is not readable')
    return again.mark
  }

  /** Another instance holds the fill lock: look when pub/sub says the key landed, or with backoff, until the key appears, the lock goes, or `until`. */
  async function waitForFill(subjectId: string, names: Names, until: number): Promise<Sighting & { timedOut?: boolean }> {
    // Registered for the whole wait, so a message that arrives while we are looking is not lost.
    const signal = { heard: false, wake: () => undefined as void }
    const onFill = () => {
      signal.heard = true
      signal.wake()
    }
    let waiters = fillWaiters.get(names.entry)
    if (waiters === undefined) fillWaiters.set(names.entry, (waiters = new Set()))
    waiters.add(onFill)
    try {
      for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
        if (!signal.heard) {
          await new Promise<void>((resolve) => {
            const timer = clock.setTimeout(resolve, Math.max(1, Math.min(delay, until - clock.now())))
            signal.wake = () => {
              clock.clearTimeout(timer)
              resolve()
            }
          })
        }
        signal.heard = false
        const seen = await look(subjectId, names)
        if (seen.key !== undefined || !seen.locked) return seen
        if (clock.now() >= until) return { ...seen, timedOut: true }
      }
    } finally {
      waiters.delete(onFill)
      if (waiters.size === 0 && fillWaiters.get(names.entry) === waiters) fillWaiters.delete(names.entry)
    }
  }

  async function fillAndShare(names: Names, mark: string, fill: () => Promise<IssuedKey>, flight: Flight, lockToken?: string): Promise<Outcome> {
    counters.misses++
    try {
      const key = await fill()
      const keepMs = settings.servableFor(key)
      let confirmed = false
      if (keepMs > 0 && !flight.stale && keepable(key)) {
        const text = encodeEntry({ key, mark })
        const value = sealer ? sealer.seal(text, names.entry) : text
        confirmed = await calls
          .run('set', () => store.set(names.entry, value, keepMs))
          .then(
            () => true,
            () => false,
          )
        if (confirmed) publish(`f ${names.entry}`)
      }
      return { key, fromSts: true, confirmed }
    } finally {
      if (lockToken !== undefined) release(names, lockToken)
    }
  }

  async function takeLock(names: Names): Promise<string | undefined> {
    const token = randomBytes(16).toString('base64url')
    // A lock whose answer comes after we gave up on it is ours all the same: release it, or others wait out its TTL.
    const took = await calls.run(
      'lock',
      () => store.set(names.lock, token, settings.lockTtlMs, true),
      (lateTook) => {
        if (lateTook) release(names, token)
      },
    )
    return took ? token : undefined
  }

  return {
    peek(subjectId, scopeId) {
      if (typeof store.peek !== 'function') return undefined
      const names = namesOf(subjectId, scopeId)
      return sighting(subjectId, names, store.peek([names.entry, names.mark])).key // the lock matters only to a miss
    },

    async resolve(subjectId, scopeId, fill, flight) {
      const names = namesOf(subjectId, scopeId)
      let seen = await look(subjectId, names)
      if (seen.key !== undefined) {
        counters.hits++
        return { key: seen.key, fromSts: false, confirmed: true }
      }
      const waitUntil = clock.now() + settings.waitLimitMs
      for (let round = 0; round < MAX_LOCK_ROUNDS; round++) {
        const token = await takeLock(names)
        if (token !== undefined) {
          let mark: string
          try {
            // Another instance may have filled and released between our look and our lock.
            const again = await look(subjectId, names)
            if (again.key !== undefined) {
              release(names, token)
              counters.joined++
              return { key: again.key, fromSts: false, confirmed: true }
            }
            mark = await markForFill(subjectId, names, again)
          } catch (error) {
            release(names, token)
            throw error
          }
          return fillAndShare(names, mark, fill, flight, token)
        }
        const waited = await waitForFill(subjectId, names, waitUntil)
        if (waited.key !== undefined) {
          counters.joined++
          return { key: waited.key, fromSts: false, confirmed: true }
        }
        seen = waited
        if (waited.timedOut) break // the holder is slow or gone: call STS ourselves
      }
      return fillAndShare(names, await markForFill(subjectId, names, seen), fill, flight)
    },

    async invalidate(subjectId) {
      const mark = newMark(clock, invalidations.floor(subjectId))
      invalidations.remember(subjectId, mark)
      let stored = true
      try {
        await calls.run('set', () => store.set(`m:{${subjectId}}`, mark, MARK_TTL_MS))
      } catch (error) {
        stored = false
        logger.error(
          'express-cos-sts: could not invalidate a subject in the shared cache store; instances that hear of it stop serving its keys, others serve them until they expire',
          { message: messageOf(error) },
        )
      }
      // An in-process store frees the subject's entries now (they would never match again, but would hold memory until evicted).
      if (stored && typeof store.deletePrefix === 'function') await store.deletePrefix(`k:{${subjectId}}:`).catch(() => undefined)
      // After the new mark is in: an instance that drops its first level and looks again must not find the old entry valid.
      publish(`i ${mark} ${subjectId}`)
      return stored
    },

    listen() {
      if (typeof store.subscribe !== 'function') return
      const onMessage = (message: string) => {
        if (message.startsWith('f ')) {
          for (const wake of [...(fillWaiters.get(message.slice(2)) ?? [])]) wake()
        } else if (message.startsWith('i ')) {
          const space = message.indexOf(' ', 2)
          if (space < 0) return
          const mark = message.slice(2, space)
          const subjectId = message.slice(space + 1)
          // Its own invalidation heard back must not spoil a fill it started since (under the new mark).
          if (invalidations.remember(subjectId, mark)) settings.onInvalidated(subjectId)
        }
      }
      Promise.resolve()
        .then(() => store.subscribe?.(EVENTS_CHANNEL, onMessage))
        .catch((error: unknown) => {
          logger.warn(
            "express-cos-sts: could not subscribe to the cache store's events; other instances' invalidations reach this one within the first level's lifetime",
            { message: messageOf(error) },
          )
        })
    },
  }
}
