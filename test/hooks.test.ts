// The app's hooks can fail without taking the server down: async onIssue/onError that reject, authorize that hangs.
import assert from 'node:assert/strict'
import request from 'supertest'
import { startFixture, type Fixture } from './support/app.js'

/** Collects unhandled rejections while a test runs (Node 20 would otherwise end the process on one). */
function watchUnhandled(): { rejections: unknown[]; stop(): void } {
  const rejections: unknown[] = []
  const record = (reason: unknown) => rejections.push(reason)
  process.on('unhandledRejection', record)
  return { rejections, stop: () => process.off('unhandledRejection', record) }
}

/** Lets pending promise callbacks and timers of 0 ms run, so a late rejection has had its chance to surface. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('hooks that fail', () => {
  let fixture: Fixture | undefined
  afterEach(async () => {
    await fixture?.close()
    fixture = undefined
  })

  it('an async onError that rejects (a metrics sink that is down) is logged; a 401 still answers and nothing is unhandled', async () => {
    const watch = watchUnhandled()
    try {
      fixture = await startFixture({ onError: () => Promise.reject(new Error('metrics sink down')) })
      const res = await request(fixture.app).get('/creds')
      assert.equal(res.status, 401)
      assert.equal(res.body.error.code, 'Unauthenticated')
      await settle()
      assert.deepEqual(watch.rejections, [])
      const line = fixture.logger.lines.find((entry) => entry.message.includes('onIssue/onError hook failed'))
      assert.ok(line, 'the rejection is logged')
      assert.equal(line.level, 'error')
      assert.deepEqual(line.details, { message: 'metrics sink down' })
    } finally {
      watch.stop()
    }
  })

  it('an async onIssue that rejects is logged; the key is still served', async () => {
    const watch = watchUnhandled()
    try {
      fixture = await startFixture({
        onIssue: async () => {
          throw new Error('audit log down')
        },
      })
      const res = await request(fixture.app).get('/creds').set('x-user', 'alice')
      assert.equal(res.status, 200)
      assert.ok(res.body.credentials.tmpSecretId)
      await settle()
      assert.deepEqual(watch.rejections, [])
      assert.ok(
        fixture.logger.lines.some(
          (entry) => entry.level === 'error' && entry.details !== undefined && (entry.details as { message?: string }).message === 'audit log down',
        ),
      )
    } finally {
      watch.stop()
    }
  })

  it('a synchronous onIssue that throws is logged the same way', async () => {
    fixture = await startFixture({
      onIssue: () => {
        throw new Error('boom')
      },
    })
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice')
    assert.equal(res.status, 200)
    assert.ok(fixture.logger.lines.some((entry) => entry.message.includes('hook failed') && (entry.details as { message?: string }).message === 'boom'))
  })
})

describe('authorizeTimeoutMs', () => {
  let fixture: Fixture | undefined
  afterEach(async () => {
    await fixture?.close()
    fixture = undefined
  })

  it('a hook that never settles answers 504 AuthorizeTimeout (no-store) and STS is never called', async () => {
    fixture = await startFixture({ authorizeTimeoutMs: 150, authorize: () => new Promise(() => undefined) })
    const res = await request(fixture.app).get('/creds')
    assert.equal(res.status, 504)
    assert.deepEqual(res.body, { error: { code: 'AuthorizeTimeout', message: 'Could not check who is asking in time; try again.' } })
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.equal(fixture.sts.calls.length, 0)
    assert.equal(fixture.errors.at(-1)?.code, 'AuthorizeTimeout')
    assert.equal(fixture.errors.at(-1)?.status, 504)
  })

  it('a hook that rejects after the deadline is ignored, never unhandled', async () => {
    const watch = watchUnhandled()
    try {
      fixture = await startFixture({
        authorizeTimeoutMs: 100,
        authorize: () => new Promise((_, reject) => setTimeout(() => reject(new Error('session store finally failed')), 200)),
      })
      const res = await request(fixture.app).get('/creds')
      assert.equal(res.status, 504)
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.deepEqual(watch.rejections, [])
    } finally {
      watch.stop()
    }
  })

  it('a slow hook within the bound still gets its key', async () => {
    fixture = await startFixture({
      authorizeTimeoutMs: 2000,
      authorize: () =>
        new Promise((resolve) => setTimeout(() => resolve({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }), 50)),
    })
    const res = await request(fixture.app).get('/creds')
    assert.equal(res.status, 200)
  })
})

describe('STS errors: a remedy for the operator, a generic answer for the user', () => {
  let fixture: Fixture | undefined
  afterEach(async () => {
    await fixture?.close()
    fixture = undefined
  })

  const cases: Array<[code: string, hint: RegExp]> = [
    ['AuthFailure.SignatureFailure', /SecretKey does not match the SecretId/],
    ['AuthFailure.SecretIdNotFound', /deleted or disabled/],
    ['InvalidParameter.GrantOtherResource', /APPID/],
    ['InvalidParameter.PolicyTooLong', /fewer, shorter prefixes/],
    ['UnauthorizedOperation', /sts:GetFederationToken/],
  ]
  for (const [code, hint] of cases) {
    it(`${code}: 502 StsError to the caller; onError and the log line carry the hint`, async () => {
      fixture = await startFixture({}, {})
      fixture.sts.fail({ kind: 'error', code })
      const res = await request(fixture.app).get('/creds').set('x-user', 'alice')
      assert.equal(res.status, 502)
      assert.deepEqual(res.body, { error: { code: 'StsError', message: 'STS refused to issue a key.' } })
      const event = fixture.errors.at(-1)
      assert.equal(event?.stsCode, code)
      assert.match(event?.hint ?? '', hint)
      const line = fixture.logger.lines.find((entry) => entry.level === 'error' && entry.message.includes(code))
      assert.ok(line, 'the error line names the STS code')
      assert.match(line.message, hint)
    })
  }

  it('an STS error with no known remedy has no hint', async () => {
    fixture = await startFixture()
    fixture.sts.fail({ kind: 'error', code: 'ResourceUnavailable' })
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice')
    assert.equal(res.status, 502)
    assert.equal(fixture.errors.at(-1)?.stsCode, 'ResourceUnavailable')
    assert.equal(fixture.errors.at(-1)?.hint, undefined)
  })
})
