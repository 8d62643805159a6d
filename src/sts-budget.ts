// Call budget: at most N calls in any sliding window as the far side sees them, at most M in flight, and a bounded FIFO queue whose waiters give up at their deadline.
import { systemClock, type Clock } from './clock.js'

export interface CallBudgetOptions {
  /** Most calls that may reach the far side within any one window. */
  maxCalls: number
  /** Length of that window, in ms. */
  windowMs: number
  /** Most calls started and not yet released. */
  maxConcurrency: number
  /** Most callers waiting for a slot; one more is refused at once. 0: nobody waits. */
  maxQueue: number
  /** ms clock (default Date.now); `clock` replaces it with timers too. */
  now?: () => number
  /** Wall clock and timers the budget waits by (default the system's). */
  clock?: Clock
}

/** Why a caller got no slot, and a fair guess of when asking again makes sense. */
export class BudgetExhausted extends Error {
  override readonly name = 'BudgetExhausted'
  readonly reason: 'queue-full' | 'deadline'
  readonly retryAfterMs: number
  constructor(reason: 'queue-full' | 'deadline', retryAfterMs: number) {
    super(reason === 'queue-full' ? 'the call queue is full' : 'no call slot came free before the deadline')
    this.reason = reason
    this.retryAfterMs = retryAfterMs
  }
}

/** Ends the call: its slot frees `windowMs` later. Calling it again does nothing. */
export type Release = () => void

export interface CallBudget {
  /** Resolves with the call's release once the budget allows a call; rejects with BudgetExhausted. */
  acquire(deadline: number): Promise<Release>
  /** Calls started and not yet released. */
  readonly inFlight: number
  /** Callers waiting for a slot. */
  readonly queued: number
}

interface Waiter {
  resolve: (release: Release) => void
  timer: unknown
}

/**
 * A call holds its slot from start until `windowMs` after it ends. Counting starts instead would not do:
 * a busy event loop or network can send calls started a second apart within the same second, and the far
 * side counts arrivals. Every call arrives between its start and its end, so with at most `maxCalls` calls
 * either in flight or ended less than `windowMs` ago, no window at the far side can hold more than `maxCalls`.
 */
export function createCallBudget(options: CallBudgetOptions): CallBudget {
  const { maxCalls, windowMs, maxConcurrency, maxQueue } = options
  const clock: Clock = options.clock ?? (options.now ? { ...systemClock, now: options.now } : systemClock)
  const now = () => clock.now()
  let inFlight = 0
  /** End times of released calls still inside the window, oldest first. */
  const recentEnds: number[] = []
  const waiters: Waiter[] = []
  let wakeTimer: unknown

  /** ms until a call may start (0: now; Infinity: only a release can help). */
  const waitFor = (at: number): number => {
    while (recentEnds.length > 0 && (recentEnds[0] ?? 0) + windowMs <= at) recentEnds.shift()
    if (inFlight >= maxConcurrency) return Infinity
    if (inFlight + recentEnds.length < maxCalls) return 0
    return recentEnds.length > 0 ? (recentEnds[0] ?? 0) + windowMs - at : Infinity
  }

  const start = (): Release => {
    inFlight++
    let released = false
    return () => {
      if (released) return
      released = true
      inFlight--
      recentEnds.push(now())
      pump()
    }
  }

  /** Hands free slots to waiters in arrival order; sleeps until the oldest end leaves the window when only time can help. */
  function pump(): void {
    while (waiters.length > 0) {
      const wait = waitFor(now())
      if (wait === Infinity) return
      if (wait > 0) {
        if (wakeTimer === undefined) {
          wakeTimer = clock.setTimeout(() => {
            wakeTimer = undefined
            pump()
          }, wait)
        }
        return
      }
      const waiter = waiters.shift() as Waiter
      clock.clearTimeout(waiter.timer)
      waiter.resolve(start())
    }
  }

  /** For Retry-After: when the callers ahead and this one would have had a slot at the full rate. */
  const estimateMs = (at: number): number => {
    const wait = waitFor(at)
    return Math.max(Number.isFinite(wait) ? wait : 0, Math.ceil((waiters.length + 1) / maxCalls) * windowMs)
  }

  return {
    acquire(deadline) {
      const at = now()
      if (waiters.length === 0 && waitFor(at) === 0) return Promise.resolve(start())
      if (waiters.length >= maxQueue) return Promise.reject(new BudgetExhausted('queue-full', estimateMs(at)))
      if (deadline <= at) return Promise.reject(new BudgetExhausted('deadline', estimateMs(at)))
      return new Promise<Release>((resolve, reject) => {
        const waiter: Waiter = {
          resolve,
          timer: clock.setTimeout(() => {
            const index = waiters.indexOf(waiter)
            if (index >= 0) waiters.splice(index, 1)
            reject(new BudgetExhausted('deadline', estimateMs(now())))
          }, deadline - at),
        }
        waiters.push(waiter)
        pump()
      })
    },
    get inFlight() {
      return inFlight
    },
    get queued() {
      return waiters.length
    },
  }
}
