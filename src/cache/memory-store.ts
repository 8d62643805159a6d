// The in-process cache store: the default `cache.store`, behind the same CacheStore interface as the Redis store.
import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import type { CacheStore } from '../types.js'

export interface MemoryCacheStoreOptions {
  /** Most cached keys held (values of 256 characters or more), least recently used dropped first (default 10000). */
  max?: number
  /** Wall clock in ms that TTLs run by (default Date.now). */
  now?: () => number
}

export interface MemoryCacheStore extends CacheStore {
  /** Cached keys held now (values of 256 characters or more). */
  readonly size: number
  peek(keys: string[]): Array<string | undefined>
  deletePrefix(prefix: string): Promise<void>
}

/** Values below this length are bookkeeping (invalidation marks, fill locks): they get their own bound and never evict a key. */
const LARGE_VALUE_CHARS = 256

/**
 * A CacheStore in this process's memory. It has `peek`, so the key cache treats its values as never leaving the
 * process: it neither seals them nor keeps a first level in front. Marks and locks have a bound of their own (also `max`).
 */
export function createMemoryCacheStore(options: MemoryCacheStoreOptions = {}): MemoryCacheStore {
  const max = options.max ?? 10_000
  if (!Number.isInteger(max) || max < 1) throw new TypeError('createMemoryCacheStore({ max }) needs a whole number >= 1')
  const now = options.now ?? Date.now
  const made = () => new LRUCache<string, string>({ max, ttlAutopurge: false, perf: { now } })
  const large = made()
  const small = made()
  const events = new EventEmitter()
  events.setMaxListeners(0)

  const read = (key: string): string | undefined => large.get(key) ?? small.get(key)
  const write = (key: string, value: string, ttlMs: number): void => {
    const [into, other] = value.length >= LARGE_VALUE_CHARS ? [large, small] : [small, large]
    other.delete(key)
    into.set(key, value, { ttl: Math.max(1, Math.ceil(ttlMs)) })
  }

  return {
    get size() {
      return large.size
    },
    peek: (keys) => keys.map(read),
    get: (keys) => Promise.resolve(keys.map(read)),
    set(key, value, ttlMs, onlyIfAbsent = false) {
      if (onlyIfAbsent && read(key) !== undefined) return Promise.resolve(false)
      write(key, value, ttlMs)
      return Promise.resolve(true)
    },
    deleteIfValue(key, value) {
      if (read(key) === value) {
        large.delete(key)
        small.delete(key)
      }
      return Promise.resolve()
    },
    deletePrefix(prefix) {
      for (const cache of [large, small]) for (const key of [...cache.keys()]) if (key.startsWith(prefix)) cache.delete(key)
      return Promise.resolve()
    },
    publish(channel, message) {
      queueMicrotask(() => events.emit(channel, message)) // delivered later, as over a network, never inside the publisher's call
      return Promise.resolve()
    },
    subscribe(channel, listener) {
      events.on(channel, listener)
      return Promise.resolve(() => {
        events.off(channel, listener)
      })
    },
  }
}
