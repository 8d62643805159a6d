// Invalidation marks: each subject's current mark (stamped with its time) and this process's memory of recent invalidations.
import { randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'

/** A mark outlives the longest key STS issues (129600 s), so an entry written under an older mark never matches again. */
export const MARK_TTL_MS = (129_600 + 3_600) * 1000

/** `<ms>.<random>`: the time lets an instance tell a mark older than an invalidation it saw (a store rolled back). */
export function newMark(clock: Clock, notBefore = 0): string {
  return `${Math.max(clock.now(), notBefore)}.${randomBytes(12).toString('base64url')}`
}

/** The mark's time; 0 for a mark of another form (an older version's, or damaged). */
export function markTime(mark: string): number {
  const time = Number(mark.slice(0, mark.indexOf('.')))
  return Number.isSafeInteger(time) && time > 0 ? time : 0
}

/**
 * Invalidations this process made or heard of, by subject: the newest mark's time. A store that comes back from an
 * older snapshot (or a promoted lagging replica) holds an older mark again; `supersedes` says so, and the entries
 * under it are not served. Bounded: the last `max` subjects, each for the longest key lifetime.
 */
export interface RecentInvalidations {
  /** Records the invalidation; false when this process knew of it already (e.g. its own, heard back through pub/sub). */
  remember(subjectId: string, mark: string): boolean
  /** True when `mark` predates an invalidation of `subjectId` this process knows of. */
  supersedes(subjectId: string, mark: string): boolean
  /** A new mark must be at least this time, so it is never older than one this process knows. */
  floor(subjectId: string): number
}

export function recentInvalidations(clock: Clock, max: number): RecentInvalidations {
  const latest = new LRUCache<string, { time: number; mark: string }>({ max, ttl: MARK_TTL_MS, perf: { now: () => clock.now() } })
  return {
    remember(subjectId, mark) {
      const time = markTime(mark)
      const known = latest.get(subjectId)
      if (known !== undefined && (time < known.time || known.mark === mark)) return false
      latest.set(subjectId, { time, mark })
      return true
    },
    supersedes: (subjectId, mark) => markTime(mark) < (latest.get(subjectId)?.time ?? 0),
    floor: (subjectId) => (latest.get(subjectId)?.time ?? 0) + 1,
  }
}
