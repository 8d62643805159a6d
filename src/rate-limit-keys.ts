// Rate-limit keys that the two layers can never share, whatever prefixes their stores add: each layer's tag goes inside the key, and subjects are escaped.
import { MemoryStore, type Options as RateLimitMiddlewareOptions, type Store } from 'express-rate-limit'

/**
 * Each layer's tag. A per-IP key is `ip:` + express-rate-limit's IP key; a per-subject key is `subject:` + the
 * subject URI-encoded, so it never holds a ':' after its tag. Then no pair of store prefixes makes the two meet:
 * wherever the other layer's key lines up with `subject:`, it goes on with `ip:`, which an escaped subject cannot
 * contain, and an IP key never contains `subject:` (so a user named `ip:127.0.0.1` never spends that address's budget).
 */
export const KEY_TAGS = { perIp: 'ip:', perSubject: 'subject:' } as const

/** The per-subject key for a subject (before the tag). */
export function subjectKey(subject: string): string {
  return encodeURIComponent(subject)
}

type LegacyStore = {
  incr: (key: string, callback: (error: Error | undefined, totalHits: number, resetTime: Date | undefined) => void) => void
  decrement: (key: string) => void
  resetKey: (key: string) => void
  resetAll?: () => void
}

/**
 * The layer's store (its own, or a fresh MemoryStore as express-rate-limit would make) with every key tagged.
 * Wrapping the store, not the key generator, keeps express-rate-limit's own IP key generator and its trust-proxy checks.
 */
export function taggedStore(store: Store | LegacyStore | undefined, tag: string): Store | LegacyStore {
  const inner = store ?? new MemoryStore()
  if ('incr' in inner && typeof inner.incr === 'function') {
    const legacy = inner
    return {
      incr: (key, callback) => legacy.incr(tag + key, callback),
      decrement: (key) => legacy.decrement(tag + key),
      resetKey: (key) => legacy.resetKey(tag + key),
      ...(legacy.resetAll ? { resetAll: () => legacy.resetAll?.() } : {}),
    }
  }
  const modern = inner as Store
  const tagged: Store = {
    increment: (key) => modern.increment(tag + key),
    decrement: (key) => modern.decrement(tag + key),
    resetKey: (key) => modern.resetKey(tag + key),
    // express-rate-limit's double-count check reads prefix + key: keep it exact.
    prefix: (modern.prefix ?? '') + tag,
  }
  if (modern.localKeys !== undefined) tagged.localKeys = modern.localKeys
  if (modern.init) tagged.init = (options: RateLimitMiddlewareOptions) => modern.init?.(options)
  if (modern.get) tagged.get = (key) => modern.get?.(tag + key)
  if (modern.resetAll) tagged.resetAll = () => modern.resetAll?.()
  if (modern.shutdown) tagged.shutdown = () => modern.shutdown?.()
  return tagged
}
