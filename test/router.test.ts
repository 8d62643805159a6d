// The credential route end to end: real Express, real STS SDK, local STS that checks the SDK's TC3 signature.
import assert from 'node:assert/strict'
import request from 'supertest'
import { SLOW_CLOCK_ALLOWANCE_SECONDS } from '../src/response.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`

describe('router: 200 answer', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture()
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  it('answers GET with the contract shape and Cache-Control: no-store', async () => {
    const before = Math.floor(Date.now() / 1000)
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    const after = Math.floor(Date.now() / 1000)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.match(res.headers['content-type'] ?? '', /application\/json/)
    assert.deepEqual(Object.keys(res.body).sort(), [
      'bucket',
      'credentials',
      'expiration',
      'expiredTime',
      'region',
      'requestId',
      'scope',
      'serverTime',
      'startTime',
    ])
    assert.ok(
      Number.isInteger(res.body.serverTime) && res.body.serverTime >= before && res.body.serverTime <= after,
      'serverTime is the server clock in epoch seconds',
    )
    assert.deepEqual(Object.keys(res.body.credentials).sort(), ['sessionToken', 'tmpSecretId', 'tmpSecretKey'])
    for (const field of ['tmpSecretId', 'tmpSecretKey', 'sessionToken'] as const) {
      assert.equal(typeof res.body.credentials[field], 'string')
      assert.ok(res.body.credentials[field].length > 10)
    }
    // The signing window starts 15 minutes before the key was issued, so a device clock up to 15 minutes slow keeps it.
    assert.equal(res.body.expiredTime - res.body.startTime, 1800 + SLOW_CLOCK_ALLOWANCE_SECONDS)
    assert.equal(SLOW_CLOCK_ALLOWANCE_SECONDS, 900)
    assert.ok(Number.isInteger(res.body.startTime) && String(res.body.startTime).length === 10)
    assert.ok(Math.abs(res.body.expiredTime - (Date.now() / 1000 + 1800)) < 5)
    assert.equal(res.body.expiration, new Date(res.body.expiredTime * 1000).toISOString().replace('.000Z', 'Z'))
    assert.equal(typeof res.body.requestId, 'string')
    assert.ok(res.body.requestId.length > 0)
    assert.equal(res.body.bucket, TEST_BUCKET)
    assert.equal(res.body.region, TEST_REGION)
    assert.deepEqual(res.body.scope, [{ actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: ['uploads/alice/*'] }])
    // The key served is the key STS issued for this call.
    const issued = fixture.sts.findByTmpSecretId(res.body.credentials.tmpSecretId)
    assert.ok(issued)
    assert.equal(issued.token, res.body.credentials.sessionToken)
    assert.equal(res.body.startTime, issued.startTime - SLOW_CLOCK_ALLOWANCE_SECONDS)
  })

  it('answers POST without a scope like GET', async () => {
    const res = await request(fixture.app).post('/creds').set('x-user', 'alice').send({}).expect(200)
    assert.deepEqual(res.body.scope, [{ actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: ['uploads/alice/*'] }])
    await request(fixture.app).post('/creds').set('x-user', 'alice').expect(200)
  })

  it('sends STS exactly the least-privilege policy: full resource names, no principal', async () => {
    await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.equal(fixture.sts.calls.length, 1)
    const call = fixture.sts.calls[0]!
    assert.equal(call.action, 'GetFederationToken')
    assert.equal(call.outcome, 'ok')
    assert.equal(call.durationSeconds, 1800)
    assert.deepEqual(call.policy, {
      version: '2.0',
      statement: [{ effect: 'allow', action: ['name/cos:PutObject', 'name/cos:PostObject'], resource: [`${RESOURCE}uploads/alice/*`] }],
    })
    assert.ok(!JSON.stringify(call.policy).includes('principal'))
  })

  it('reports each issue to onIssue without the key', async () => {
    fixture.issues.length = 0
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.equal(fixture.issues.length, 1)
    const event = fixture.issues[0]!
    assert.equal(event.subject, 'alice')
    assert.equal(event.cached, false)
    assert.equal(event.requestId, res.body.requestId)
    assert.ok(!JSON.stringify(event).includes(res.body.credentials.tmpSecretKey))
    assert.ok(!JSON.stringify(event).includes(res.body.credentials.sessionToken))
  })
})

describe('router: grants become policies', () => {
  let fixture: Fixture
  let grant: unknown
  before(async () => {
    fixture = await startFixture({ authorize: () => grant as never })
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  async function policyFor(given: unknown): Promise<unknown> {
    grant = given
    await request(fixture.app).get('/creds').expect(200)
    return fixture.sts.calls.at(-1)?.policy
  }

  it('keeps statements apart: one statement per grant statement, never merged', async () => {
    const policy = await policyFor({
      subject: 'alice',
      statements: [
        { actions: ['name/cos:GetObject', 'name/cos:GetBucket'], prefixes: ['app/files/*'], shared: true },
        { actions: ['cos:PutObject', 'cos:DeleteObject'], prefixes: ['app/files/alice/*'] },
      ],
    })
    assert.deepEqual(policy, {
      version: '2.0',
      statement: [
        { effect: 'allow', action: ['name/cos:GetObject', 'name/cos:GetBucket'], resource: [`${RESOURCE}app/files/*`] },
        { effect: 'allow', action: ['name/cos:PutObject', 'name/cos:DeleteObject'], resource: [`${RESOURCE}app/files/alice/*`] },
      ],
    })
  })

  it('gives a statement without its own condition the grant condition', async () => {
    const policy = (await policyFor({
      subject: 'alice',
      condition: { numeric_less_than_equal: { 'cos:content-length': 5242880 } },
      statements: [
        { actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] },
        { actions: ['name/cos:GetObject'], prefixes: ['uploads/alice/*'], condition: { ip_equal: { 'qcs:ip': ['10.0.0.0/8'] } } },
      ],
    })) as { statement: Array<{ condition?: unknown }> }
    assert.deepEqual(policy.statement[0]!.condition, { numeric_less_than_equal: { 'cos:content-length': 5242880 } })
    // A statement's own condition adds to the grant's: both apply (the size limit is not dropped).
    assert.deepEqual(policy.statement[1]!.condition, { numeric_less_than_equal: { 'cos:content-length': 5242880 }, ip_equal: { 'qcs:ip': ['10.0.0.0/8'] } })
  })

  it('round-trips unicode keys through the policy URL encoding', async () => {
    const policy = (await policyFor({ subject: '爱丽丝', actions: ['name/cos:PutObject'], prefixes: ['uploads/爱丽丝/照片 1+1=2&%.jpg'] })) as {
      statement: Array<{ resource: string[] }>
    }
    assert.deepEqual(policy.statement[0]!.resource, [`${RESOURCE}uploads/爱丽丝/照片 1+1=2&%.jpg`])
  })

  it('uses the grant bucket, region and duration when it names them', async () => {
    const policy = (await policyFor({
      subject: 'alice',
      actions: ['name/cos:GetObject'],
      prefixes: ['a/alice/*'],
      bucket: 'other-1250000001',
      region: 'ap-shanghai',
      durationSeconds: 3600,
    })) as { statement: Array<{ resource: string[] }> }
    assert.deepEqual(policy.statement[0]!.resource, ['qcs::cos:ap-shanghai:uid/1250000001:other-1250000001/a/alice/*'])
    assert.equal(fixture.sts.calls.at(-1)?.durationSeconds, 3600)
  })
})

describe('router: errors', () => {
  let fixture: Fixture
  let outcome: () => unknown
  before(async () => {
    fixture = await startFixture({ authorize: async () => outcome() as never })
  })
  after(() => fixture.close())
  beforeEach(() => {
    fixture.sts.reset()
    fixture.errors.length = 0
    fixture.logger.lines.length = 0
    outcome = () => ({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] })
  })

  async function expectError(status: number, code: string, send = (r: request.Test) => r): Promise<request.Response> {
    const res = await send(request(fixture.app).get('/creds')).expect(status)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.deepEqual(Object.keys(res.body), ['error'])
    assert.equal(res.body.error.code, code)
    assert.equal(typeof res.body.error.message, 'string')
    assert.ok(res.body.error.message.length > 0)
    assert.ok(!/\n\s+at /.test(JSON.stringify(res.body)), 'no stack trace')
    return res
  }

  it('401 Unauthenticated when authorize returns null or undefined', async () => {
    outcome = () => null
    await expectError(401, 'Unauthenticated')
    outcome = () => undefined
    await expectError(401, 'Unauthenticated')
    assert.equal(fixture.sts.calls.length, 0)
  })

  it('403 AccessDenied when authorize returns false', async () => {
    outcome = () => false
    await expectError(403, 'AccessDenied')
    assert.equal(fixture.sts.calls.length, 0)
  })

  it('a 4xx thrown by authorize answers that status with its message and the matching code', async () => {
    for (const [status, code] of [
      [400, 'InvalidRequest'],
      [401, 'Unauthenticated'],
      [403, 'AccessDenied'],
      [429, 'TooManyRequests'],
      [404, 'RequestError'],
      [409, 'RequestError'],
    ] as const) {
      outcome = () => {
        throw Object.assign(new Error(`custom ${status}`), { status })
      }
      const res = await expectError(status, code)
      assert.equal(res.body.error.message, `custom ${status}`)
    }
    outcome = () => {
      throw Object.assign(new Error('via statusCode'), { statusCode: 403 })
    }
    assert.equal((await expectError(403, 'AccessDenied')).body.error.message, 'via statusCode')
  })

  it('any other throw is a generic 500 InternalError; details go to onError and the logger', async () => {
    outcome = () => {
      throw new Error('db password is hunter2')
    }
    let res = await expectError(500, 'InternalError')
    assert.ok(!res.body.error.message.includes('hunter2'))
    assert.equal(fixture.errors.length, 1)
    assert.equal((fixture.errors[0]!.cause as Error).message, 'db password is hunter2')
    assert.ok(fixture.logger.lines.some((line) => line.level === 'error' && line.message.includes('InternalError')))
    outcome = () => {
      throw Object.assign(new Error('upstream said 503'), { status: 503 })
    }
    res = await expectError(500, 'InternalError')
    assert.ok(!res.body.error.message.includes('upstream'))
  })

  it('500 InvalidGrant when authorize returns something that is not a grant', async () => {
    outcome = () => 'alice'
    await expectError(500, 'InvalidGrant')
    outcome = () => true
    await expectError(500, 'InvalidGrant')
  })

  const badGrants: Array<[string, unknown, RegExp]> = [
    ['missing subject', { actions: ['name/cos:PutObject'], prefixes: ['u/a/*'] }, /subject/],
    ['empty subject', { subject: '', actions: ['name/cos:PutObject'], prefixes: ['u/a/*'] }, /subject/],
    ['numeric subject', { subject: 7, actions: ['name/cos:PutObject'], prefixes: ['u/7/*'] }, /String\(user\.id\)/],
    ['subject over 128 chars', { subject: 'a'.repeat(129), actions: ['name/cos:PutObject'], prefixes: ['u/a/*'] }, /128/],
    ['subject with /', { subject: 'a/b', actions: ['name/cos:PutObject'], prefixes: ['u/a/*'] }, /'\/'/],
    ['subject with *', { subject: 'a*', actions: ['name/cos:PutObject'], prefixes: ['u/a/*'] }, /'\*'/],
    ['subject with a control character', { subject: 'a\u0007', actions: ['name/cos:PutObject'], prefixes: ['u/a/*'] }, /control/],
    ['wildcard action', { subject: 'alice', actions: ['name/cos:*'], prefixes: ['u/alice/*'] }, /wildcard/],
    ['partial wildcard action', { subject: 'alice', actions: ['name/cos:Put*'], prefixes: ['u/alice/*'] }, /wildcard/],
    ['bare * action', { subject: 'alice', actions: ['*'], prefixes: ['u/alice/*'] }, /wildcard/],
    ['no actions', { subject: 'alice', prefixes: ['u/alice/*'] }, /actions/],
    ['no prefixes', { subject: 'alice', actions: ['name/cos:PutObject'] }, /prefixes/],
    ['empty prefix', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: [''] }, /non-empty/],
    ['* prefix', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['*'] }, /whole bucket/],
    ['/* prefix', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['/*'] }, /whole bucket/],
    ['* in the middle', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['u/*/alice/*'] }, /only at its end/],
    ['.. segment', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['u/alice/../bob/*'] }, /'\.\.'/],
    ['leading /', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['/u/alice/*'] }, /leading slash/],
    ['control character in prefix', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['u/alice/\n*'] }, /control/],
    ['bad bucket', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['u/alice/*'], bucket: 'nope' }, /bucket/],
    ['bad duration', { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['u/alice/*'], durationSeconds: 10 }, /durationSeconds/],
    ['empty statements', { subject: 'alice', statements: [] }, /statements/],
  ]
  for (const [name, grant, rule] of badGrants) {
    it(`500 InvalidGrant naming the rule: ${name}`, async () => {
      outcome = () => grant
      const res = await expectError(500, 'InvalidGrant')
      // The rule's message goes to onError/logger; the caller gets a generic one with a reference.
      assert.match(fixture.errors.at(-1)?.message ?? '', rule)
      assert.match(res.body.error.message, new RegExp(`\\(ref: ${fixture.errors.at(-1)?.ref ?? 'missing'}\\)$`))
      assert.doesNotMatch(res.body.error.message, /rule:|u\/|\/\*/)
      assert.equal(fixture.sts.calls.length, 0, 'STS must not be called')
    })
  }

  it('400 InvalidRequest for invalid JSON, 413 for an oversized body, 400 for a non-JSON body', async () => {
    await expectError(400, 'InvalidRequest', () => request(fixture.app).post('/creds').set('content-type', 'application/json').send('{"scope": ['))
    await expectError(413, 'InvalidRequest', () =>
      request(fixture.app)
        .post('/creds')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ pad: 'x'.repeat(20_000) })),
    )
    await expectError(400, 'InvalidRequest', () => request(fixture.app).post('/creds').set('content-type', 'text/plain').send('scope=all'))
    await expectError(400, 'InvalidRequest', () => request(fixture.app).post('/creds').send('"just a string"').set('content-type', 'application/json'))
    assert.equal(fixture.sts.calls.length, 0)
  })

  it('405 with Allow for other methods, JSON all the same', async () => {
    for (const method of ['put', 'delete', 'patch'] as const) {
      const res = await expectError(405, 'InvalidRequest', () => request(fixture.app)[method]('/creds'))
      assert.equal(res.headers['allow'], 'GET, POST')
    }
    await request(fixture.app).head('/creds').expect(405)
    assert.equal(fixture.sts.calls.length, 0)
  })

  it('502 StsError with a generic message when STS refuses; the STS code goes to onError only', async () => {
    fixture.sts.fail({ kind: 'error', code: 'InvalidParameter.PolicyTooLong', message: 'policy too long, RequestId secret-ish' })
    const res = await expectError(502, 'StsError')
    assert.ok(!res.body.error.message.includes('PolicyTooLong'))
    assert.equal(fixture.errors[0]!.stsCode, 'InvalidParameter.PolicyTooLong')
    assert.equal(typeof fixture.errors[0]!.stsRequestId, 'string')
    assert.equal(fixture.errors[0]!.subject, 'alice')
  })

  it('503 StsThrottled with Retry-After when STS keeps answering RequestLimitExceeded through every retry', async () => {
    fixture.sts.fail({ kind: 'error', code: 'RequestLimitExceeded' })
    const res = await expectError(503, 'StsThrottled')
    assert.ok(Number(res.headers['retry-after']) >= 1)
    // The first attempt and the default 2 retries, each refused by STS.
    assert.deepEqual(
      fixture.sts.calls.map((call) => call.outcome),
      ['RequestLimitExceeded', 'RequestLimitExceeded', 'RequestLimitExceeded'],
    )
    assert.equal(fixture.errors[0]!.stsCode, 'RequestLimitExceeded')
  })

  it('502 StsError on HTTP 500, a malformed body or a reset connection', async () => {
    for (const kind of ['http500', 'malformed', 'reset'] as const) {
      fixture.sts.fail({ kind })
      await expectError(502, 'StsError')
    }
  })

  it('502 StsError when the permanent key is wrong (AuthFailure), message generic', async () => {
    const wrong = await startFixture({ secretKey: 'wrongFakeKeyForTests000000000000000000' })
    try {
      const res = await request(wrong.app).get('/creds').set('x-user', 'alice').expect(502)
      assert.equal(res.body.error.code, 'StsError')
      assert.equal(wrong.errors[0]!.stsCode, 'AuthFailure.SignatureFailure')
    } finally {
      await wrong.close()
    }
  })

  it('504 StsTimeout when STS does not answer within sts.timeoutMs', async () => {
    const slow = await startFixture({ sts: { timeoutMs: 300 } })
    try {
      slow.sts.fail({ kind: 'hang' })
      const res = await request(slow.app).get('/creds').set('x-user', 'alice').expect(504)
      assert.equal(res.body.error.code, 'StsTimeout')
      // The router's own deadline (300 ms) answered, not the SDK's reqTimeout (1.3 s), whose error would be the cause.
      assert.equal(slow.errors.at(-1)?.code, 'StsTimeout')
      assert.equal(slow.errors.at(-1)?.cause, undefined)
    } finally {
      await slow.close()
    }
  })

  it('recovers after a fault: the next request gets a key', async () => {
    fixture.sts.fail({ kind: 'error', code: 'UnauthorizedOperation' }, 1)
    await expectError(502, 'StsError')
    await request(fixture.app).get('/creds').expect(200)
  })
})

describe('router: logging levels', () => {
  it('a call the STS budget refuses is a warning; STS itself throttling is an error', async () => {
    const fixture = await startFixture({ sts: { maxConcurrency: 1, maxQueue: 0, timeoutMs: 2000 } }, { latencyMs: 200 })
    try {
      const answers = await Promise.all(['a1', 'a2'].map((user) => request(fixture.app).get('/creds').set('x-user', user)))
      assert.deepEqual(answers.map((res) => res.status).sort(), [200, 503])
      const refusal = fixture.logger.lines.filter((line) => line.message.includes('StsThrottled'))
      assert.deepEqual(
        refusal.map((line) => line.level),
        ['warn'],
      )
      fixture.logger.lines.length = 0
      fixture.sts.fail({ kind: 'error', code: 'RequestLimitExceeded' })
      await request(fixture.app).get('/creds').set('x-user', 'a3').expect(503)
      assert.deepEqual(
        fixture.logger.lines.filter((line) => line.message.includes('StsThrottled')).map((line) => line.level),
        ['error'],
      )
    } finally {
      await fixture.close()
    }
  })
})
