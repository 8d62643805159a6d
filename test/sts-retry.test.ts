// Retries: which real SDK failures are retried, the jittered backoff, and through the router: recover, give up, stay in the deadline.
import assert from 'node:assert/strict'
import http from 'node:http'
import request from 'supertest'
import { sts as stsServices } from 'tencentcloud-sdk-nodejs-sts'
import { RouteError } from '../src/errors.js'
import { resolveOptions } from '../src/options.js'
import { createStsCaller } from '../src/sts.js'
import { BudgetExhausted } from '../src/sts-budget.js'
import { backoffMs, classifyStsFailure, RETRY_BASE_MS, withRetries } from '../src/sts-retry.js'
import { startLocalSts, type LocalSts, type LocalStsFault } from '../src/testing/index.js'
import { startFixture, type Fixture } from './support/app.js'
import { fakeClock, settledNow } from './support/fake-clock.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const POLICY = encodeURIComponent(
  JSON.stringify({
    version: '2.0',
    statement: [{ effect: 'allow', action: ['name/cos:PutObject'], resource: ['qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/uploads/a/*'] }],
  }),
)

describe('sts-retry: which failures are retried (errors from the real SDK)', () => {
  let sts: LocalSts
  before(async () => {
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(() => sts.close())

  /** The rejection the real SDK gives for one call, with the given key, fault, or parameters. */
  async function sdkError(options: { fault?: LocalStsFault; secretKey?: string; durationSeconds?: number } = {}): Promise<unknown> {
    const client = new stsServices.v20180813.Client({
      credential: { secretId: TEST_SECRET_ID, secretKey: options.secretKey ?? TEST_SECRET_KEY },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: sts.endpoint, protocol: 'http://', reqTimeout: 5, agent: new http.Agent() } },
    })
    if (options.fault) sts.fail(options.fault, 1)
    return client.GetFederationToken({ Name: 'retry-test', Policy: POLICY, DurationSeconds: options.durationSeconds ?? 1800 }).then(
      () => assert.fail('the call was meant to fail'),
      (error: unknown) => error,
    )
  }

  it('RequestLimitExceeded is throttled', async () => {
    assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'error', code: 'RequestLimitExceeded' } })), 'throttled')
    assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'error', code: 'RequestLimitExceeded.UinLimitExceeded' } })), 'throttled')
  })

  it('InternalError, HTTP 500 and a reset connection are transient', async () => {
    assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'error', code: 'InternalError' } })), 'transient')
    assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'http500' } })), 'transient')
    assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'reset' } })), 'transient')
  })

  it('authentication and parameter errors are final', async () => {
    assert.equal(classifyStsFailure(await sdkError({ secretKey: 'wrongFakeKeyForTests000000000000000000' })), 'final')
    assert.equal(classifyStsFailure(await sdkError({ durationSeconds: 999_999 })), 'final') // InvalidParameter.OverTimeError from the local STS's own checks
    for (const code of ['AuthFailure.SecretIdNotFound', 'InvalidParameter.PolicyTooLong', 'MissingParameter', 'UnauthorizedOperation', 'ResourceUnavailable']) {
      assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'error', code } })), 'final', code)
    }
  })

  it('a body that is not JSON is final: STS answered, a retry could issue a second key', async () => {
    assert.equal(classifyStsFailure(await sdkError({ fault: { kind: 'malformed' } })), 'final')
  })

  it("the router's own verdicts and things that are not errors are final", () => {
    assert.equal(classifyStsFailure(new RouteError(504, 'StsTimeout', 'late')), 'final')
    assert.equal(classifyStsFailure(new BudgetExhausted('queue-full', 1000)), 'final')
    assert.equal(classifyStsFailure(new TypeError('a bug in an injected client')), 'final')
    assert.equal(classifyStsFailure('RequestLimitExceeded'), 'final')
    assert.equal(classifyStsFailure(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'transient')
  })
})

describe('sts-retry: backoff and the retry loop', () => {
  it('waits between half and all of BASE·2^(n-1) before retry n', () => {
    for (const retry of [1, 2, 3]) {
      const ceiling = RETRY_BASE_MS * 2 ** (retry - 1)
      assert.equal(
        backoffMs(retry, () => 0),
        ceiling / 2,
      )
      assert.equal(
        backoffMs(retry, () => 1),
        ceiling,
      )
    }
    const spread = new Set(Array.from({ length: 50 }, () => backoffMs(1)))
    assert.ok(spread.size > 10, 'jittered, so throttled callers do not retry in step')
  })

  const throttled = () => Object.assign(new Error('slow down'), { code: 'RequestLimitExceeded' })

  it('retries up to maxRetries, then throws the last error', async () => {
    const clock = fakeClock()
    let attempts = 0
    const retried = withRetries(
      async () => {
        attempts++
        throw throttled()
      },
      { maxRetries: 2, deadline: clock.now() + 5000, reserveMs: 0, random: () => 0, clock },
    )
    retried.catch(() => undefined) // asserted below, once time has moved
    await clock.tickAsync(RETRY_BASE_MS / 2 - 1)
    assert.equal(attempts, 1, 'retry 1 waits its backoff')
    await clock.tickAsync(1)
    assert.equal(attempts, 2)
    await clock.tickAsync(RETRY_BASE_MS)
    assert.equal(attempts, 3)
    await assert.rejects(retried, /slow down/)
    assert.equal(attempts, 3)
  })

  it('returns the first success', async () => {
    const clock = fakeClock()
    let attempts = 0
    const answered = withRetries(
      async () => {
        if (++attempts < 3) throw throttled()
        return 'key'
      },
      { maxRetries: 2, deadline: clock.now() + 5000, reserveMs: 0, random: () => 0, clock },
    )
    await clock.runAllAsync()
    const answer = await answered
    assert.equal(answer, 'key')
    assert.equal(attempts, 3)
  })

  it('never retries a final error', async () => {
    let attempts = 0
    await assert.rejects(
      withRetries(
        async () => {
          attempts++
          throw Object.assign(new Error('bad key'), { code: 'AuthFailure.SignatureFailure' })
        },
        { maxRetries: 5, deadline: Date.now() + 5000, reserveMs: 0 },
      ),
    )
    assert.equal(attempts, 1)
  })

  it('stops when the backoff and the reserve for one more attempt would pass the deadline', async () => {
    const clock = fakeClock()
    let attempts = 0
    const started = clock.now()
    // Retry 1 waits 100..200 ms; with 150 ms reserved for the attempt, 200 ms of deadline leaves no room.
    const retried = withRetries(
      async () => {
        attempts++
        throw throttled()
      },
      { maxRetries: 5, deadline: started + 200, reserveMs: 150, clock },
    )
    assert.equal(await settledNow(retried), 'rejected', 'gave up at once instead of sleeping into the deadline')
    await assert.rejects(retried)
    assert.equal(attempts, 1)
    assert.equal(clock.now() - started, 0)
    assert.equal(clock.countTimers(), 0, 'no backoff was scheduled')
  })
})

describe('sts: the deadline on an injected clock (real SDK, local STS)', () => {
  let sts: LocalSts
  before(async () => {
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(() => sts.close())

  const callerOn = (clock: ReturnType<typeof fakeClock>, extra: Record<string, unknown> = {}) =>
    createStsCaller(
      resolveOptions({
        secretId: TEST_SECRET_ID,
        secretKey: TEST_SECRET_KEY,
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        authorize: () => null,
        sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 3000, ...extra },
      }),
      clock,
    )
  const policy = {
    version: '2.0' as const,
    statement: [{ effect: 'allow' as const, action: ['name/cos:PutObject'], resource: [`qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/uploads/a/*`] }],
  }

  it('a hung STS call ends in 504 StsTimeout exactly at sts.timeoutMs by the clock, not before', async () => {
    const clock = fakeClock(Date.now())
    sts.fail({ kind: 'hang' }, 1)
    const call = callerOn(clock)({ subject: 'alice', policy, durationSeconds: 1800 })
    call.catch(() => undefined) // asserted below, once time has moved
    await clock.tickAsync(2999)
    assert.equal(await settledNow(call), 'pending')
    await clock.tickAsync(1)
    await assert.rejects(call, (error: unknown) => error instanceof RouteError && error.code === 'StsTimeout' && error.status === 504)
  })

  it('retries wait their backoff on the clock, inside the deadline', async () => {
    const clock = fakeClock(Date.now())
    sts.reset()
    sts.fail({ kind: 'error', code: 'RequestLimitExceeded' }, 1)
    const call = callerOn(clock)({ subject: 'alice', policy, durationSeconds: 1800 })
    await until(() => sts.calls.length === 1)
    await clock.tickAsync(RETRY_BASE_MS / 2 - 1)
    assert.equal(sts.calls.length, 1, 'no retry before the smallest backoff')
    await clock.tickAsync(RETRY_BASE_MS / 2 + 1)
    const key = await call
    assert.equal(sts.calls.length, 2)
    assert.deepEqual(
      sts.calls.map((made) => made.outcome),
      ['RequestLimitExceeded', 'ok'],
    )
    assert.equal(sts.findByTmpSecretId(key.tmpSecretId)?.token, key.sessionToken)
  })
})

async function until(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 2000; !condition();) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('sts-retry: through the router', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture()
  })
  after(() => fixture.close())
  beforeEach(() => {
    fixture.sts.reset()
    fixture.sts.setLatency(0)
    fixture.errors.length = 0
  })

  it('throttle, then recover: retried to 200 with the key of the successful call', async () => {
    fixture.sts.fail({ kind: 'error', code: 'RequestLimitExceeded' }, 2)
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(
      fixture.sts.calls.map((call) => call.outcome),
      ['RequestLimitExceeded', 'RequestLimitExceeded', 'ok'],
    )
    assert.equal(fixture.sts.findByTmpSecretId(res.body.credentials.tmpSecretId)?.token, res.body.credentials.sessionToken)
    assert.equal(fixture.errors.length, 0)
    // The retries waited: at least the smallest backoff of retry 1 and retry 2 apart.
    const [first, , last] = fixture.sts.calls
    assert.ok(last!.at - first!.at >= RETRY_BASE_MS / 2 + RETRY_BASE_MS, `${last!.at - first!.at} ms`)
  })

  for (const fault of [{ kind: 'error', code: 'InternalError' }, { kind: 'http500' }, { kind: 'reset' }] as const) {
    it(`${'code' in fault ? fault.code : fault.kind} once, then recover: 200`, async () => {
      fixture.sts.fail(fault, 1)
      await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
      assert.equal(fixture.sts.calls.length, 2)
    })
  }

  it('persistent throttle: 503 StsThrottled with Retry-After after maxRetries', async () => {
    const strict = await startFixture({ sts: { maxRetries: 1 } })
    try {
      strict.sts.fail({ kind: 'error', code: 'RequestLimitExceeded' })
      const res = await request(strict.app).get('/creds').set('x-user', 'alice').expect(503)
      assert.equal(res.body.error.code, 'StsThrottled')
      assert.ok(Number(res.headers['retry-after']) >= 1)
      assert.equal(strict.sts.calls.length, 2)
    } finally {
      await strict.close()
    }
  })

  it('a wrong permanent key is not retried', async () => {
    const wrong = await startFixture({ secretKey: 'wrongFakeKeyForTests000000000000000000' })
    try {
      await request(wrong.app).get('/creds').set('x-user', 'alice').expect(502)
      assert.equal(wrong.sts.calls.length, 1)
      assert.equal(wrong.sts.calls[0]!.outcome, 'AuthFailure.SignatureFailure')
    } finally {
      await wrong.close()
    }
  })

  it('a parameter error is not retried', async () => {
    fixture.sts.fail({ kind: 'error', code: 'InvalidParameter.PolicyTooLong' })
    await request(fixture.app).get('/creds').set('x-user', 'alice').expect(502)
    assert.equal(fixture.sts.calls.length, 1)
  })

  it('sts.maxRetries: 0 turns retries off', async () => {
    const once = await startFixture({ sts: { maxRetries: 0 } })
    try {
      once.sts.fail({ kind: 'error', code: 'InternalError' }, 1)
      await request(once.app).get('/creds').set('x-user', 'alice').expect(502)
      assert.equal(once.sts.calls.length, 1)
    } finally {
      await once.close()
    }
  })

  it('a request waiting for a slot gives up within its own deadline: 503 StsThrottled with Retry-After, STS never asked', async () => {
    const busy = await startFixture({ sts: { timeoutMs: 400, maxConcurrency: 1 } })
    try {
      busy.sts.fail({ kind: 'hang' })
      const started = Date.now()
      const [first, second] = await Promise.all([request(busy.app).get('/creds').set('x-user', 'alice'), request(busy.app).get('/creds').set('x-user', 'bob')])
      const statuses = [first.status, second.status].sort()
      assert.deepEqual(statuses, [503, 504])
      const waited = first.status === 503 ? first : second
      assert.equal(waited.body.error.code, 'StsThrottled')
      assert.ok(Number(waited.headers['retry-after']) >= 1)
      assert.ok(Date.now() - started < 400 + 400, `took ${Date.now() - started} ms for a 400 ms deadline`)
      assert.equal(busy.sts.calls.length, 1)
    } finally {
      await busy.close()
    }
  })

  it('attempts and backoff all fit in sts.timeoutMs', async () => {
    const slow = await startFixture({ sts: { timeoutMs: 600, maxRetries: 5 } })
    try {
      slow.sts.setLatency(150)
      slow.sts.fail({ kind: 'error', code: 'RequestLimitExceeded' })
      const started = Date.now()
      const res = await request(slow.app).get('/creds').set('x-user', 'alice')
      const took = Date.now() - started
      assert.ok([503, 504].includes(res.status), `status ${res.status}`)
      // Without the deadline, 5 retries would take over 3 s of backoff alone.
      assert.ok(took < 600 + 400, `took ${took} ms for a 600 ms deadline`)
      assert.ok(slow.sts.calls.length < 6, `${slow.sts.calls.length} attempts: the deadline, not maxRetries, ended them`)
    } finally {
      await slow.close()
    }
  })
})
