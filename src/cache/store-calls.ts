// Every call to a shared cache store: bounded in time without counting event-loop delay, and a breaker that opens on repeated failures.
import { messageOf } from '../errors.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../types.js'

/** Bound on every store call: a default ioredis client queues commands ~10 s while reconnecting, and a request must not wait for that. */
export const STORE_TIMEOUT_MS = 200
/** Failures in a row that open the breaker: one late reply is a blip, not an outage. */
export const FAILURES_TO_OPEN = 3
/** While open, requests do not try the store; after this long one is let through to probe it. */
export const STORE_RETRY_AFTER_MS = 1000

/** A store call that failed or took too long; the request goes on without the store. */
export class StoreFailure extends Error {
  override readonly name = 'StoreFailure'
}

export interface StoreCalls {
  /** Runs one store call within STORE_TIMEOUT_MS; a late answer goes to `late` (e.g. to release a lock), never unhandled. */
  run<T>(operation: string, call: () => Promise<T>, late?: (value: T) => void): Promise<T>
  /** False while the breaker is open: go straight to what the process holds, or STS. */
  available(): boolean
  /** Counts a failure that happened outside `run` (e.g. an answer of the wrong shape). */
  failed(error: unknown): void
}

export interface StoreCallSettings {
  clock: Clock
  logger: Logger
  /** Counts every failed or late call. */
  onError(): void
  /** The store answered after failing: keys fetched meanwhile were never checked against it. */
  onRecovered(): void
}

export function createStoreCalls(settings: StoreCallSettings): StoreCalls {
  const { clock, logger } = settings
  let down = false
  let failuresInRow = 0
  let openUntil = 0
  /** Half open: the one request let through to probe the store is on its way. */
  let probing = false

  function failed(error: unknown): void {
    settings.onError()
    failuresInRow++
    probing = false
    if (failuresInRow >= FAILURES_TO_OPEN) openUntil = clock.now() + STORE_RETRY_AFTER_MS
    if (down) return // logged once per outage, not once per request
    down = true
    logger.error('express-cos-sts: the shared cache store failed; serving keys held in process, and calling STS for the rest, until it answers again', {
      message: messageOf(error),
    })
  }

  function answered(): void {
    failuresInRow = 0
    openUntil = 0
    probing = false
    if (!down) return
    down = false
    settings.onRecovered()
    logger.info?.('express-cos-sts: the shared cache store answers again')
  }

  return {
    available() {
      if (failuresInRow < FAILURES_TO_OPEN) return true // closed
      if (clock.now() < openUntil || probing) return false // open, or its probe is out
      probing = true
      return true
    },
    failed,
    async run(operation, call, late) {
      let pending: Promise<unknown>
      try {
        pending = Promise.resolve(call())
      } catch (error) {
        const failure = new StoreFailure(`${operation}: ${messageOf(error)}`)
        failed(failure)
        throw failure
      }
      let answeredInTime = false
      let gaveUp = false
      // Registered before the race, so it runs first: an answer in time is never treated as late.
      pending.then(
        (value) => {
          if (gaveUp) late?.(value as never)
          else answeredInTime = true
        },
        () => undefined,
      )
      let timer: unknown
      const deadline = new Promise<never>((_, reject) => {
        // When the timer fires, the loop may have been blocked while the answer sat in the socket: setImmediate runs
        // after the poll phase has read it, so only a store that really did not answer counts as late.
        timer = clock.setTimeout(
          () =>
            setImmediate(() => {
              if (!answeredInTime) reject(new StoreFailure(`${operation}: no answer within ${STORE_TIMEOUT_MS} ms`))
            }),
          STORE_TIMEOUT_MS,
        )
      })
      deadline.catch(() => undefined)
      try {
        const value = (await Promise.race([pending, deadline])) as Awaited<ReturnType<typeof call>>
        answered()
        return value
      } catch (error) {
        gaveUp = true
        const failure = error instanceof StoreFailure ? error : new StoreFailure(`${operation}: ${messageOf(error)}`)
        failed(failure)
        throw failure
      } finally {
        clock.clearTimeout(timer)
      }
    },
  }
}
