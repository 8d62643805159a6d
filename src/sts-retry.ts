// Which STS failures deserve another attempt, and the jittered backoff between attempts, all inside one deadline.
import { sleep, systemClock, type Clock } from './clock.js'

/** `throttled` and `transient` failures are retried; `final` ones never are. */
export type StsFailureKind = 'throttled' | 'transient' | 'final'

/** Base of the exponential backoff: retry n waits between half and all of BASE·2^(n-1) ms. */
export const RETRY_BASE_MS = 200

/** Errno codes of a connection that failed on the way; another attempt may well get through. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'])

/**
 * RequestLimitExceeded(.*) is `throttled`; InternalError(.*), an HTTP 5xx and a connection that failed
 * (the SDK rejects those with no code at all) are `transient`. Everything else is `final`: AuthFailure.*,
 * InvalidParameter*, UnauthorizedOperation… would fail the same way again, and a body that is not JSON
 * means STS answered, so a retry could issue a second key for nothing.
 */
export function classifyStsFailure(error: unknown): StsFailureKind {
  if (!(error instanceof Error)) return 'final'
  const { code, httpCode, type } = error as Error & { code?: unknown; httpCode?: unknown; type?: unknown }
  if (typeof code === 'string' && code !== '') {
    if (/^RequestLimitExceeded(?:\.|$)/.test(code)) return 'throttled'
    if (/^InternalError(?:\.|$)/.test(code)) return 'transient'
    return NETWORK_CODES.has(code) ? 'transient' : 'final'
  }
  if (typeof httpCode === 'number') return httpCode >= 500 ? 'transient' : 'final'
  if (type !== undefined && type !== 'system') return 'final'
  // Our own verdicts (deadline, budget) are named errors, not the SDK's plain `Error`.
  return error.name === 'Error' || error.name === 'FetchError' ? 'transient' : 'final'
}

/** Wait before retry `retry` (1, 2, …): "equal jitter", so throttled callers spread out yet never retry at once. */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  const ceiling = RETRY_BASE_MS * 2 ** (retry - 1)
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number
  /** ms timestamp after which no attempt may start or wait. */
  deadline: number
  /** An attempt is only worth starting with at least this long left. */
  reserveMs: number
  now?: () => number
  random?: () => number
  /** Wall clock and timers for the backoff (default the system's; `now` alone overrides only the time). */
  clock?: Clock
}

/** Runs `attempt` until it succeeds, fails for good, runs out of retries, or the next try would not fit before the deadline. */
export async function withRetries<T>(attempt: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const clock = policy.clock ?? systemClock
  const now = policy.now ?? (() => clock.now())
  for (let retry = 1; ; retry++) {
    try {
      return await attempt()
    } catch (error) {
      if (retry > policy.maxRetries || classifyStsFailure(error) === 'final') throw error
      const delay = backoffMs(retry, policy.random)
      if (now() + delay + policy.reserveMs > policy.deadline) throw error
      await sleep(clock, delay)
    }
  }
}
