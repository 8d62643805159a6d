// A fake clock for code that takes a Clock: @sinonjs/fake-timers' standalone clock, moved by hand, never installed globally.
import FakeTimers from '@sinonjs/fake-timers'
import type { Clock } from '../../src/clock.js'

export interface FakeClock extends Clock {
  /** Moves time on by `ms`, running the timers due and the promise callbacks they start. */
  tickAsync(ms: number): Promise<void>
  /** Runs every timer, including ones scheduled meanwhile, until none is left. */
  runAllAsync(): Promise<void>
  /** Timers still scheduled. */
  countTimers(): number
}

export function fakeClock(start = 10_000): FakeClock {
  const clock = FakeTimers.createClock(start)
  return {
    now: () => clock.now,
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle as FakeTimers.TimerId),
    tickAsync: async (ms) => {
      await clock.tickAsync(ms)
    },
    runAllAsync: async () => {
      await clock.runAllAsync()
    },
    countTimers: () => clock.countTimers(),
  }
}

/** Whether `promise` has settled once every callback already queued has run (no timers involved). */
export async function settledNow(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  let state: 'resolved' | 'rejected' | 'pending' = 'pending'
  promise.then(
    () => {
      state = 'resolved'
    },
    () => {
      state = 'rejected'
    },
  )
  await new Promise((resolve) => setImmediate(resolve))
  return state
}
