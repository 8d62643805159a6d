// The in-process key cache through the real route: one STS call per scope per key lifetime, single flight, bound, invalidate, options.
import assert from 'node:assert/strict'
import request from 'supertest'
import { createKeyCache, type ScopeRequest } from '../src/cache.js'
import { ConfigError, createStsRouter, type Grant, type StsRouterOptions } from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { createStsCaller } from '../src/sts.js'
import { startLocalSts } from '../src/testing/index.js'
import { capturingLogger, startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { SLOW_CLOCK_ALLOWANCE_SECONDS } from '../src/response.js'

type Body = {
  credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string }
  startTime: number
  expiredTime: number
  expiration: string
  requestId: string
}

const get = (fixture: Fixture, user: string) => request(fixture.app).get('/creds').set('x-user', user)

describe('cache: one STS call per scope per key lifetime', () => {
  let fixture: Fixture
  beforeEach(async () => {
    fixture = await startFixture({ cache: {} })
  })
  afterEach(() => fixture.close())

  it('serves the second request from the cache with the original key, startTime and expiredTime', async () => {
    const first = (await get(fixture, 'alice').expect(200)).body as Body
    const second = (await get(fixture, 'alice').expect(200)).body as Body
    assert.equal(fixture.sts.calls.length, 1)
    assert.deepEqual(second, first)
    assert.deepEqual(
      fixture.issues.map((event) => event.cached),
      [false, true],
    )
    assert.equal(fixture.issues[1]?.requestId, first.requestId)
    const stats = fixture.router.cacheStats()
    assert.deepEqual(
      { hits: stats.hits, misses: stats.misses, joined: stats.joined, stsCalls: stats.stsCalls, errors: stats.errors, entries: stats.entries },
      { hits: 1, misses: 1, joined: 0, stsCalls: 1, errors: 0, entries: 1 },
    )
  })

  it('gives each subject its own key, even for identical grants', async () => {
    await fixture.close()
    // The same shared statement for everyone: only the subject tells the two scopes apart.
    const sameForAll = (subject: string): Grant => ({ subject, statements: [{ actions: ['name/cos:PutObject'], prefixes: ['shared/inbox/*'], shared: true }] })
    fixture = await startFixture({ cache: {}, authorize: (req) => sameForAll(req.get('x-user') ?? '') })
    const alice = (await get(fixture, 'alice').expect(200)).body as Body
    const bob = (await get(fixture, 'bob').expect(200)).body as Body
    const aliceAgain = (await get(fixture, 'alice').expect(200)).body as Body
    assert.equal(fixture.sts.calls.length, 2)
    assert.deepEqual(
      fixture.sts.calls.map((call) => call.policy),
      [fixture.sts.calls[0]?.policy, fixture.sts.calls[0]?.policy],
    )
    assert.notEqual(alice.credentials.tmpSecretId, bob.credentials.tmpSecretId)
    assert.equal(aliceAgain.credentials.tmpSecretId, alice.credentials.tmpSecretId)
    // Each key was issued under its own subject's federation name.
    assert.equal(fixture.sts.calls.find((call) => call.name === 'bob') !== undefined, true)
  })

  it('treats a changed grant, a requested scope and a different duration each as a new scope', async () => {
    await fixture.close()
    let grant: Omit<Grant, 'subject'> = { actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }
    fixture = await startFixture({ cache: {}, authorize: (req) => ({ subject: req.get('x-user') ?? '', ...grant }) })
    await get(fixture, 'alice').expect(200)
    grant = { actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: ['uploads/alice/*'] }
    await get(fixture, 'alice').expect(200)
    assert.equal(fixture.sts.calls.length, 2, 'a wider grant must not be answered with the narrower key')
    const scope = { scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a.jpg' }] }
    await request(fixture.app).post('/creds').set('x-user', 'alice').send(scope).expect(200)
    await request(fixture.app).post('/creds').set('x-user', 'alice').send(scope).expect(200)
    assert.equal(fixture.sts.calls.length, 3, 'the same requested scope twice is one scope')
    grant = { ...grant, durationSeconds: 900 }
    const shorter = (await get(fixture, 'alice').expect(200)).body as Body
    assert.equal(shorter.expiredTime - shorter.startTime, 900 + SLOW_CLOCK_ALLOWANCE_SECONDS) // startTime answers 15 min early for slow device clocks
    assert.equal(fixture.sts.calls.length, 4)
    grant = { actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }
    await get(fixture, 'alice').expect(200)
    assert.equal(fixture.sts.calls.length, 4, 'the first grant is still cached')
  })

  it('never caches a failure: the next request calls STS again', async () => {
    fixture.sts.fail({ kind: 'error', code: 'UnauthorizedOperation' }, 1)
    const failed = await get(fixture, 'alice').expect(502)
    assert.equal(failed.body.error.code, 'StsError')
    await get(fixture, 'alice').expect(200)
    await get(fixture, 'alice').expect(200)
    assert.equal(fixture.sts.calls.length, 2)
    const stats = fixture.router.cacheStats()
    assert.equal(stats.errors, 1)
    assert.equal(stats.hits, 1)
  })

  it('cache: false calls STS for every request', async () => {
    await fixture.close()
    fixture = await startFixture({ cache: false })
    for (let i = 0; i < 3; i++) await get(fixture, 'alice').expect(200)
    assert.equal(fixture.sts.calls.length, 3)
    assert.deepEqual(
      fixture.issues.map((event) => event.cached),
      [false, false, false],
    )
    assert.equal(fixture.router.cacheStats().stsCalls, 3)
    assert.equal(fixture.router.cacheStats().hits, 0)
  })
})

describe('cache: minimum remaining lifetime', () => {
  // The local STS's clock runs 250 s behind (within the 300 s a signature may be off): its 1800 s keys reach us with ~1550 s left.
  const behind = { now: () => Date.now() - 250_000 }

  it('serves a cached key while it has at least minRemainingSeconds left', async () => {
    const fixture = await startFixture({ cache: { minRemainingSeconds: 1500 } }, behind)
    try {
      const first = (await get(fixture, 'alice').expect(200)).body as Body
      assert.ok(first.expiredTime - Date.now() / 1000 < 1560)
      await get(fixture, 'alice').expect(200)
      assert.equal(fixture.sts.calls.length, 1)
    } finally {
      await fixture.close()
    }
  })

  it('never serves a cached key with less than minRemainingSeconds left', async () => {
    const fixture = await startFixture({ cache: { minRemainingSeconds: 1600 } }, behind)
    try {
      const first = (await get(fixture, 'alice').expect(200)).body as Body
      const second = (await get(fixture, 'alice').expect(200)).body as Body
      assert.equal(fixture.sts.calls.length, 2)
      assert.notEqual(second.credentials.tmpSecretId, first.credentials.tmpSecretId)
      assert.equal(fixture.router.cacheStats().hits, 0)
      assert.equal(fixture.router.cacheStats().entries, 0, 'a key already inside the margin is not even stored')
    } finally {
      await fixture.close()
    }
  })

  it('drops a key once time brings it inside the margin (clock moved, real STS call)', async () => {
    const sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
    try {
      const resolved = resolveOptions({
        secretId: TEST_SECRET_ID,
        secretKey: TEST_SECRET_KEY,
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        authorize: () => null,
        sts: { endpoint: sts.endpoint, protocol: sts.protocol },
      })
      const callSts = createStsCaller(resolved)
      let clock = Date.now()
      const cache = createKeyCache({
        max: 10,
        minRemainingSeconds: 300,
        store: undefined,
        secretId: TEST_SECRET_ID,
        secretKey: TEST_SECRET_KEY,
        mode: 'GetFederationToken',
        fillTimeoutMs: 2000,
        logger: capturingLogger(),
        now: () => clock,
      })
      const policy = {
        version: '2.0' as const,
        statement: [
          { effect: 'allow' as const, action: ['name/cos:PutObject'], resource: [`qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/uploads/alice/*`] },
        ],
      }
      const scope: ScopeRequest = { subject: 'alice', bucket: TEST_BUCKET, region: TEST_REGION, policy, durationSeconds: 1800 }
      const fill = () => callSts({ subject: 'alice', policy, durationSeconds: 1800 })
      const first = await cache.issue(scope, fill)
      const lastServable = (first.key.expiredTime - 300) * 1000
      clock = lastServable - 1000
      assert.equal((await cache.issue(scope, fill)).cached, true)
      assert.equal(cache.isServable(scope), true, 'held in process')
      assert.equal(cache.isServable({ ...scope, subject: 'bob' }), false, 'another subject is not')
      const hitsBefore = cache.stats().hits
      assert.equal(cache.held(scope)?.tmpSecretId, first.key.tmpSecretId, 'held() serves the same key synchronously')
      assert.equal(cache.held({ ...scope, subject: 'bob' }), undefined)
      assert.equal(cache.stats().hits, hitsBefore + 1, 'held() counts the hit it serves, and only that one')
      clock = lastServable + 1
      assert.equal(cache.isServable(scope), false, 'inside the margin: the next request needs STS')
      assert.equal(cache.held(scope), undefined)
      const renewed = await cache.issue(scope, fill)
      assert.equal(renewed.cached, false)
      assert.equal(sts.calls.length, 2)
    } finally {
      await sts.close()
    }
  })
})

describe('cache: single flight', () => {
  let fixture: Fixture
  beforeEach(async () => {
    fixture = await startFixture({ cache: {} })
    fixture.sts.setLatency(300)
  })
  afterEach(() => fixture.close())

  it('makes one STS call for 20 concurrent misses of one scope, and every request gets its key', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(fixture, 'alice')))
    assert.equal(fixture.sts.calls.length, 1)
    assert.ok(answers.every((res) => res.status === 200))
    assert.equal(new Set(answers.map((res) => (res.body as Body).credentials.tmpSecretId)).size, 1)
    const stats = fixture.router.cacheStats()
    assert.equal(stats.misses, 1)
    assert.equal(stats.joined, 19)
    assert.equal(fixture.issues.filter((event) => !event.cached).length, 1)
    assert.equal(stats.inFlight, 0)
  })

  it('gives every waiter the error of the one failed call, then calls STS again', async () => {
    fixture.sts.fail({ kind: 'error', code: 'UnauthorizedOperation' }, 1)
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(fixture, 'alice')))
    assert.deepEqual([...new Set(answers.map((res) => `${res.status} ${res.body.error?.code}`))], ['502 StsError'])
    assert.equal(fixture.sts.calls.length, 1)
    assert.equal(fixture.router.cacheStats().errors, 1)
    await get(fixture, 'alice').expect(200)
    assert.equal(fixture.sts.calls.length, 2)
  })

  it('keeps scopes apart: concurrent misses of two subjects make two calls', async () => {
    const answers = await Promise.all(['alice', 'bob', 'alice', 'bob'].map((user) => get(fixture, user)))
    assert.equal(fixture.sts.calls.length, 2)
    const ids = answers.map((res) => (res.body as Body).credentials.tmpSecretId)
    assert.equal(ids[0], ids[2])
    assert.equal(ids[1], ids[3])
    assert.notEqual(ids[0], ids[1])
  })
})

describe('cache: bound and invalidate', () => {
  it('keeps at most cache.max scopes, dropping the least recently used', async () => {
    const fixture = await startFixture({ cache: { max: 3 } })
    try {
      for (const user of ['a1', 'a2', 'a3', 'a4', 'a5']) await get(fixture, user).expect(200)
      assert.equal(fixture.router.cacheStats().entries, 3)
      await get(fixture, 'a5').expect(200)
      assert.equal(fixture.sts.calls.length, 5, 'a recent scope is still cached')
      await get(fixture, 'a1').expect(200)
      assert.equal(fixture.sts.calls.length, 6, 'the oldest scope was dropped')
      assert.equal(fixture.router.cacheStats().entries, 3)
    } finally {
      await fixture.close()
    }
  })

  it("router.invalidate(subject) drops that subject's keys only", async () => {
    const fixture = await startFixture({ cache: {} })
    try {
      const alice = (await get(fixture, 'alice').expect(200)).body as Body
      const bob = (await get(fixture, 'bob').expect(200)).body as Body
      await request(fixture.app)
        .post('/creds')
        .set('x-user', 'alice')
        .send({ scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a.jpg' }] })
        .expect(200)
      assert.equal(fixture.router.cacheStats().entries, 3)
      assert.equal(await fixture.router.invalidate('alice'), true)
      assert.equal(fixture.router.cacheStats().entries, 1, "both of alice's scopes are gone")
      const aliceAfter = (await get(fixture, 'alice').expect(200)).body as Body
      const bobAfter = (await get(fixture, 'bob').expect(200)).body as Body
      assert.notEqual(aliceAfter.credentials.tmpSecretId, alice.credentials.tmpSecretId)
      assert.equal(bobAfter.credentials.tmpSecretId, bob.credentials.tmpSecretId)
      assert.equal(fixture.sts.calls.length, 4)
    } finally {
      await fixture.close()
    }
  })

  it('does not let a request after invalidate join, or later reuse, a call that started before it', async () => {
    const fixture = await startFixture({ cache: {} })
    try {
      // The call from before invalidate answers last, so it must not overwrite the newer key.
      fixture.sts.setLatency(600)
      const before = get(fixture, 'alice')
        .expect(200)
        .then((res) => res.body as Body)
      await waitFor(() => fixture.sts.calls.length === 1)
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(await fixture.router.invalidate('alice'), true)
      fixture.sts.setLatency(50)
      const after = (await get(fixture, 'alice').expect(200)).body as Body
      const beforeBody = await before
      assert.equal(fixture.sts.calls.length, 2)
      assert.notEqual(after.credentials.tmpSecretId, beforeBody.credentials.tmpSecretId)
      fixture.sts.setLatency(0)
      const later = (await get(fixture, 'alice').expect(200)).body as Body
      assert.equal(later.credentials.tmpSecretId, after.credentials.tmpSecretId, 'only the key issued after invalidate is kept')
      assert.equal(fixture.sts.calls.length, 2)
    } finally {
      await fixture.close()
    }
  })

  it('refuses a subject that is not a string', async () => {
    const fixture = await startFixture({ cache: {} })
    try {
      await assert.rejects(fixture.router.invalidate(42 as unknown as string), TypeError)
    } finally {
      await fixture.close()
    }
  })
})

describe('cache: options', () => {
  const valid: StsRouterOptions = { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY, bucket: TEST_BUCKET, region: TEST_REGION, authorize: () => null }
  const refuses = (cache: unknown, option: string, fix: RegExp, extra: Partial<StsRouterOptions> = {}) =>
    assert.throws(
      () => createStsRouter({ ...valid, ...extra, cache: cache as StsRouterOptions['cache'] }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error))
        assert.match(error.message, new RegExp(`option \`${option.replace(/\./g, '\\.')}\``))
        assert.match(error.message, fix)
        return true
      },
    )

  it('defaults to max 10000 and minRemainingSeconds 300', () => {
    const resolved = resolveOptions(valid)
    assert.deepEqual(resolved.cache, { max: 10_000, minRemainingSeconds: 300, store: undefined, firstLevelTtlMs: 2000 })
    assert.equal(resolveOptions({ ...valid, cache: false }).cache, false)
  })

  it('refuses a bad max, minRemainingSeconds, store or option name at start-up', () => {
    refuses('yes', 'cache', /cache: false/)
    refuses({ max: 0 }, 'cache.max', /10000/)
    refuses({ max: 2.5 }, 'cache.max', /10000/)
    refuses({ minRemainingSeconds: -1 }, 'cache.minRemainingSeconds', /300/)
    refuses({ minRemainingSeconds: 1800 }, 'cache.minRemainingSeconds', /below durationSeconds/)
    refuses({ minRemainingSeconds: 900 }, 'cache.minRemainingSeconds', /below durationSeconds/, { durationSeconds: 900 })
    refuses({ store: {} }, 'cache.store', /createRedisCacheStore/)
    refuses({ store: { get() {}, set() {} } }, 'cache.store', /deleteIfValue/)
    refuses({ maxx: 5 }, 'cache.maxx', /did you mean `cache\.max`/)
    refuses({ ttl: 5 }, 'cache.ttl', /max, minRemainingSeconds, store/)
    refuses({ firstLevelTtlMs: -1 }, 'cache.firstLevelTtlMs', /2000/)
    refuses({ firstLevelTtlMs: 60_001 }, 'cache.firstLevelTtlMs', /0 to ask the shared store on every request/)
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
