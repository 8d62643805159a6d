// The clock that timing code reads and sets its timers by: the system's, or a fake one that tests move by hand.

/** Milliseconds and timers; `systemClock` in production, `@sinonjs/fake-timers`' `createClock()` (adapted) in tests. */
export interface Clock {
  /** Wall-clock time in ms. */
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** Resolves after `ms` by `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms)
  })
}
