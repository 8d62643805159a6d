// The STS call budget: sliding-window rate, concurrency, bounded queue, deadlines; and through the router, a 5,000-subject burst.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { BudgetExhausted, createCallBudget, type CallBudgetOptions, type Release } from '../src/sts-budget.js'
import { ConfigError, createStsRouter } from '../src/index.js'
import type { StsRouterOptions } from '../src/types.js'
import { startFixture, type Fixture } from './support/app.js'
import { fakeClock, settledNow } from './support/fake-clock.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const budgetOf = (options: Partial<CallBudgetOptions>) => createCallBudget({ maxCalls: 1000, windowMs: 1000, maxConcurrency: 1000, maxQueue: 1000, ...options })

const later = (ms: number) => Date.now() + ms
const settled = settledNow

/** Most timestamps inside any window [t, t + windowMs). */
export function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while ((sorted[last] ?? 0) - (sorted[first] ?? 0) >= windowMs) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

describe('sts-budget: the call budget', () => {
  it('busiestWindow counts a half-open window', () => {
    assert.equal(busiestWindow([0, 999, 1000, 1999], 1000), 2)
    assert.equal(busiestWindow([0, 500, 999, 1000], 1000), 3)
    assert.equal(busiestWindow([], 1000), 0)
  })

  it('starts maxCalls at once; the next waits until an ended call is windowMs old', async () => {
    const clock = fakeClock(10_000)
    const budget = budgetOf({ maxCalls: 3, windowMs: 100, clock })
    const releases: Release[] = []
    for (let i = 0; i < 3; i++) releases.push(await budget.acquire(clock.now() + 1000))
    const fourth = budget.acquire(clock.now() + 1000)
    assert.equal(await settled(fourth), 'pending')
    assert.equal(budget.queued, 1)
    releases[0]!() // ends at 10000: its slot is free at 10100
    assert.equal(await settled(fourth), 'pending')
    await clock.tickAsync(99) // 1 ms is still missing
    assert.equal(await settled(fourth), 'pending')
    await clock.tickAsync(1)
    assert.equal(await settled(fourth), 'resolved')
    assert.equal(budget.queued, 0)
  })

  it('a call in flight keeps its slot however long it takes', async () => {
    const clock = fakeClock(10_000)
    const budget = budgetOf({ maxCalls: 2, windowMs: 100, clock })
    const first = await budget.acquire(clock.now() + 5000)
    await budget.acquire(clock.now() + 5000)
    const third = budget.acquire(clock.now() + 5000)
    await clock.tickAsync(1000)
    assert.equal(await settled(third), 'pending', 'a slow call must still count: STS may not have seen it yet')
    first()
    await clock.tickAsync(99)
    assert.equal(await settled(third), 'pending', 'the ended call holds its slot for windowMs after its end')
    await clock.tickAsync(1)
    assert.equal(await settled(third), 'resolved')
  })

  it('never lets more than maxCalls run or end within any window, however many ask', async () => {
    const clock = fakeClock()
    const budget = budgetOf({ maxCalls: 5, windowMs: 100, clock })
    const starts: number[] = []
    const ends: number[] = []
    const all = Promise.all(
      Array.from({ length: 23 }, async (_, i) => {
        const release = await budget.acquire(clock.now() + 2000)
        starts.push(clock.now())
        await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), i % 3 === 0 ? 15 : 1))
        ends.push(clock.now())
        release()
      }),
    )
    await clock.runAllAsync()
    await all
    assert.equal(starts.length, 23)
    assert.equal(busiestWindow(starts, 100), 5)
    assert.ok(busiestWindow(ends, 100) <= 5)
  })

  it('holds at most maxConcurrency in flight; a release lets the next one in; a second release does nothing', async () => {
    const budget = budgetOf({ maxConcurrency: 2 })
    const first = await budget.acquire(later(1000))
    const second = await budget.acquire(later(1000))
    const third = budget.acquire(later(1000))
    const fourth = budget.acquire(later(1000))
    assert.equal(await settled(third), 'pending')
    assert.equal(budget.inFlight, 2)
    first()
    first()
    assert.equal(await settled(third), 'resolved')
    assert.equal(await settled(fourth), 'pending', 'a repeated release must not free a second slot')
    assert.equal(budget.inFlight, 2)
    second()
    assert.equal(await settled(fourth), 'resolved')
    ;(await third)()
    ;(await fourth)()
    assert.equal(budget.inFlight, 0)
  })

  it('serves waiters first come, first served', async () => {
    const budget = budgetOf({ maxConcurrency: 1 })
    const hold = await budget.acquire(later(1000))
    const order: number[] = []
    const waiting = [1, 2, 3].map((n) =>
      budget.acquire(later(1000)).then((release) => {
        order.push(n)
        release()
      }),
    )
    hold()
    await Promise.all(waiting)
    assert.deepEqual(order, [1, 2, 3])
  })

  it('refuses at once past maxQueue, with a retry estimate', async () => {
    const budget = budgetOf({ maxCalls: 2, windowMs: 1000, maxConcurrency: 1, maxQueue: 2 })
    const hold = await budget.acquire(later(100))
    const queued = [budget.acquire(later(100)), budget.acquire(later(100))]
    const refused = await budget.acquire(later(100)).then(
      () => undefined,
      (error: unknown) => error,
    )
    assert.ok(refused instanceof BudgetExhausted)
    assert.equal(refused.reason, 'queue-full')
    assert.ok(refused.retryAfterMs >= 2000, `estimate ${refused.retryAfterMs} ms for 3 waiting callers at 2 per second`)
    assert.equal(budget.queued, 2)
    hold()
    const outcomes = await Promise.allSettled(queued)
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') outcome.value()
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected'],
      'the second waiter needs the window to move: past its deadline',
    )
  })

  it('maxQueue 0 refuses at once whenever no slot is free', async () => {
    const budget = budgetOf({ maxConcurrency: 1, maxQueue: 0 })
    const hold = await budget.acquire(later(1000))
    await assert.rejects(budget.acquire(later(1000)), (error: unknown) => error instanceof BudgetExhausted && error.reason === 'queue-full')
    hold()
    ;(await budget.acquire(later(1000)))()
  })

  it('a waiter gives up at its deadline, leaves the queue, and never takes a slot afterwards', async () => {
    const clock = fakeClock()
    const budget = budgetOf({ maxConcurrency: 1, clock })
    const hold = await budget.acquire(clock.now() + 1000)
    const started = clock.now()
    const late = budget.acquire(started + 60)
    await clock.tickAsync(59)
    assert.equal(await settled(late), 'pending', 'gave up before its deadline')
    await clock.tickAsync(1)
    await assert.rejects(late, (error: unknown) => error instanceof BudgetExhausted && error.reason === 'deadline')
    assert.ok(clock.now() - started >= 55)
    assert.equal(budget.queued, 0)
    hold()
    assert.equal(budget.inFlight, 0, 'the slot went to nobody')
    const next = await budget.acquire(later(100))
    assert.equal(budget.inFlight, 1)
    next()
  })

  it('a past deadline is refused without waiting when no slot is free', async () => {
    const budget = budgetOf({ maxConcurrency: 1 })
    const hold: Release = await budget.acquire(later(1000))
    await assert.rejects(budget.acquire(Date.now()), (error: unknown) => error instanceof BudgetExhausted && error.reason === 'deadline')
    hold()
  })
})

describe('sts-budget: options', () => {
  const base: StsRouterOptions = { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY, bucket: TEST_BUCKET, region: TEST_REGION, authorize: () => null }
  const throwsNaming = (sts: Record<string, unknown>, option: string, fix: RegExp) =>
    assert.throws(
      () => createStsRouter({ ...base, sts }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`\`${option}\``) && fix.test(error.message),
    )

  it('names the option and the fix', () => {
    for (const value of [0, 601, 1.5, '500']) throwsNaming({ maxCallsPerSecond: value }, 'sts.maxCallsPerSecond', /600 calls\/s per account.*500 \/ N/)
    for (const value of [0, 1001]) throwsNaming({ maxConcurrency: value }, 'sts.maxConcurrency', /e\.g\. 50/)
    for (const value of [-1, 0.5]) throwsNaming({ maxQueue: value }, 'sts.maxQueue', /use 0 to refuse at once/)
    for (const value of [-1, 6]) throwsNaming({ maxRetries: value }, 'sts.maxRetries', /use 0 to never retry/)
    throwsNaming({ maxCallPerSecond: 100 }, 'sts.maxCallPerSecond', /did you mean `sts.maxCallsPerSecond`/)
  })

  it('accepts the bounds', () => {
    createStsRouter({ ...base, sts: { maxCallsPerSecond: 600, maxConcurrency: 1, maxQueue: 0, maxRetries: 0 } })
    createStsRouter({ ...base, sts: { maxCallsPerSecond: 1, maxConcurrency: 1000, maxQueue: 100_000, maxRetries: 5 } })
  })
})

describe('sts-budget: through the router', () => {
  it('refuses with 503 StsThrottled and Retry-After once the budget and the queue are spent; STS never sees more', async () => {
    const fixture = await startFixture({ sts: { maxCallsPerSecond: 2, maxQueue: 0 } })
    try {
      const server = fixture.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      const { port } = server.address() as AddressInfo
      const answers = await Promise.all(['a', 'b', 'c', 'd'].map((user) => get(port, user)))
      server.close()
      const statuses = answers.map((answer) => answer.status).sort()
      assert.deepEqual(statuses, [200, 200, 503, 503])
      for (const answer of answers.filter((a) => a.status === 503)) {
        assert.equal(answer.code, 'StsThrottled')
        assert.ok(Number(answer.retryAfter) >= 1)
      }
      assert.equal(fixture.sts.calls.length, 2)
    } finally {
      await fixture.close()
    }
  })

  describe('[load] a burst of 5,000 distinct subjects', () => {
    const BUDGET = 50
    let fixture: Fixture
    let answers: Answer[]
    before(async function () {
      this.timeout(30_000)
      // Small budget, bounded queue and a 2 s deadline: the burst is over in seconds.
      fixture = await startFixture({ rateLimit: { perIp: false }, sts: { maxCallsPerSecond: BUDGET, maxQueue: 100, timeoutMs: 2000 } })
      const server = fixture.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      const { port } = server.address() as AddressInfo
      const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
      try {
        answers = await Promise.all(Array.from({ length: 5000 }, (_, i) => get(port, `burst-${i}`, agent)))
      } finally {
        agent.destroy()
        server.close()
      }
    })
    after(() => fixture?.close())

    it('STS never sees more than the budget in any one-second window, and the budget is used to the full', () => {
      const arrivals = fixture.sts.calls.map((call) => call.at)
      assert.ok(arrivals.length >= BUDGET, `${arrivals.length} calls`)
      assert.equal(busiestWindow(arrivals, 1000), BUDGET)
    })

    it('answers every request: 200 with a key, or 503 StsThrottled with Retry-After; nothing else', () => {
      assert.equal(answers.length, 5000)
      const ok = answers.filter((answer) => answer.status === 200)
      const throttled = answers.filter((answer) => answer.status === 503)
      assert.equal(ok.length + throttled.length, 5000, JSON.stringify([...new Set(answers.map((a) => `${a.status} ${a.code}`))]))
      assert.ok(throttled.every((answer) => answer.code === 'StsThrottled' && Number(answer.retryAfter) >= 1))
      // One STS call per key served: the budget refused before STS, never after.
      assert.equal(fixture.sts.calls.length, ok.length)
      assert.ok(fixture.sts.calls.every((call) => call.outcome === 'ok'))
    })
  })
})

interface Answer {
  status: number
  code: string | undefined
  retryAfter: string | undefined
}

function get(port: number, user: string, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/creds', headers: { 'x-user': user }, agent: agent ?? false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => {
        const parsed = JSON.parse(body) as { error?: { code?: string } }
        const retryAfter = res.headers['retry-after']
        resolve({ status: res.statusCode ?? 0, code: parsed.error?.code, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter })
      })
    })
    req.on('error', reject)
  })
}
