// Store calls: the 200 ms bound on a fake clock, late answers handed on, and the breaker that opens on repeated failures only.
import assert from 'node:assert/strict'
import { createStoreCalls, FAILURES_TO_OPEN, STORE_RETRY_AFTER_MS, STORE_TIMEOUT_MS, StoreFailure } from '../src/cache/store-calls.js'
import { capturingLogger } from './support/app.js'
import { fakeClock, settledNow } from './support/fake-clock.js'

function callsOn(clock = fakeClock()) {
  const logger = capturingLogger()
  const counts = { errors: 0, recovered: 0 }
  const calls = createStoreCalls({
    clock,
    logger,
    onError: () => {
      counts.errors++
    },
    onRecovered: () => {
      counts.recovered++
    },
  })
  return { calls, clock, logger, counts }
}
const never = () => new Promise<never>(() => undefined)
const failing = () => Promise.reject(new Error('connection refused'))

describe('cache store calls: bound and breaker', () => {
  it(`gives up on a call after ${STORE_TIMEOUT_MS} ms by the clock, not before`, async () => {
    const { calls, clock, counts } = callsOn()
    const call = calls.run('get', never)
    call.catch(() => undefined)
    await clock.tickAsync(STORE_TIMEOUT_MS - 1)
    assert.equal(await settledNow(call), 'pending')
    await clock.tickAsync(1)
    await assert.rejects(call, (error: unknown) => error instanceof StoreFailure && /get: no answer within 200 ms/.test(error.message))
    assert.equal(counts.errors, 1)
  })

  it('hands an answer that comes after it gave up to `late` (a lock to release), and never one that came in time', async () => {
    const { calls, clock } = callsOn()
    let answer: (value: boolean) => void = () => undefined
    const late: boolean[] = []
    const call = calls.run(
      'lock',
      () =>
        new Promise<boolean>((resolve) => {
          answer = resolve
        }),
      (value) => late.push(value),
    )
    call.catch(() => undefined)
    await clock.tickAsync(STORE_TIMEOUT_MS)
    await assert.rejects(call, StoreFailure)
    answer(true)
    await settledNow(Promise.resolve())
    assert.deepEqual(late, [true])
    const inTime: boolean[] = []
    assert.equal(
      await calls.run(
        'lock',
        () => Promise.resolve(true),
        (value) => inTime.push(value),
      ),
      true,
    )
    assert.deepEqual(inTime, [])
  })

  it(`one late reply does not open the breaker; ${FAILURES_TO_OPEN} failures in a row do, for ${STORE_RETRY_AFTER_MS} ms, then one probe goes through`, async () => {
    const { calls, clock, logger, counts } = callsOn()
    await assert.rejects(calls.run('get', failing))
    assert.equal(calls.available(), true, 'one failure is a blip')
    assert.equal(await calls.run('get', () => Promise.resolve('ok')), 'ok')
    assert.equal(counts.recovered, 1, 'the store answered again after failing')
    for (let i = 0; i < FAILURES_TO_OPEN; i++) await assert.rejects(calls.run('get', failing))
    assert.equal(calls.available(), false, 'open')
    await clock.tickAsync(STORE_RETRY_AFTER_MS - 1)
    assert.equal(calls.available(), false)
    await clock.tickAsync(1)
    assert.equal(calls.available(), true, 'the probe')
    assert.equal(calls.available(), false, 'only one probe at a time')
    await assert.rejects(calls.run('get', failing))
    assert.equal(calls.available(), false, 'a failed probe opens it again')
    await clock.tickAsync(STORE_RETRY_AFTER_MS)
    assert.equal(calls.available(), true)
    assert.equal(await calls.run('get', () => Promise.resolve('back')), 'back')
    assert.equal(calls.available(), true, 'closed again')
    assert.equal(calls.available(), true)
    const errors = logger.lines.filter((line) => line.level === 'error')
    assert.equal(errors.length, 2, 'one error line per outage')
    assert.equal(logger.lines.filter((line) => line.level === 'info' && /store answers again/.test(line.message)).length, 2)
  })
})
