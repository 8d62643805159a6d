// The two rate-limit layers through real Express: exact limits, standard headers, the contract's 429, IPv6 subnets, trust proxy, store failures, configuration.
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { MemoryStore, type Store } from 'express-rate-limit'
import request from 'supertest'
import { createStsRouter, ConfigError } from '../src/index.js'
import { RATE_LIMIT_DEFAULTS } from '../src/rate-limit.js'
import type { CacheStore, StsRouterOptions } from '../src/types.js'
import { startFixture, type Fixture, type FixtureOptions } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

/** A fixture listening once, so hundreds of requests share one server. */
async function limited(options: FixtureOptions): Promise<Fixture & { server: Server; stop(): Promise<void> }> {
  const fixture = await startFixture(options)
  const server = fixture.app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    ...fixture,
    server,
    stop: async () => {
      server.close()
      await fixture.close()
    },
  }
}

async function expectTooMany(res: request.Response): Promise<void> {
  assert.equal(res.status, 429)
  assert.match(res.headers['content-type'] ?? '', /application\/json/)
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.deepEqual(res.body, { error: { code: 'TooManyRequests', message: res.body.error.message } })
  assert.ok(res.body.error.message.length > 0)
  const retryAfter = Number(res.headers['retry-after'])
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`)
}

describe('rate-limit: limits are exact at the boundary', () => {
  it(`[load] per IP by default: ${RATE_LIMIT_DEFAULTS.perIp.limit} requests a minute pass (even refused ones), the next is 429, and authorize is not called for it`, async () => {
    let authorizeCalls = 0
    const fixture = await limited({
      rateLimit: {},
      authorize: () => {
        authorizeCalls++
        return null
      },
    })
    try {
      for (let i = 0; i < RATE_LIMIT_DEFAULTS.perIp.limit; i++) await request(fixture.server).get('/creds').expect(401)
      await expectTooMany(await request(fixture.server).get('/creds'))
      assert.equal(authorizeCalls, RATE_LIMIT_DEFAULTS.perIp.limit)
      assert.deepEqual(fixture.errors.at(-1), { status: 429, code: 'TooManyRequests', message: fixture.errors.at(-1)!.message })
    } finally {
      await fixture.stop()
    }
  })

  it(`per subject by default: ${RATE_LIMIT_DEFAULTS.perSubject.limit} keys a minute, the next is 429 without an STS call; other subjects carry on`, async () => {
    const fixture = await limited({ rateLimit: {} })
    try {
      for (let i = 0; i < RATE_LIMIT_DEFAULTS.perSubject.limit; i++) await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'alice'))
      assert.equal(fixture.sts.calls.length, RATE_LIMIT_DEFAULTS.perSubject.limit)
      assert.equal(fixture.errors.at(-1)?.subject, 'alice')
      await request(fixture.server).get('/creds').set('x-user', 'bob').expect(200)
      assert.ok(!fixture.logger.lines.some((line) => line.level === 'error'), 'a 429 is not a server error')
    } finally {
      await fixture.stop()
    }
  })

  it('configured limits: per IP counts every request from the address, per subject only authorized ones', async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 6 }, perSubject: { limit: 3 } } })
    try {
      await request(fixture.server).get('/creds').expect(401) // counts for the IP, not for any subject
      for (let i = 0; i < 3; i++) await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'alice'))
      await request(fixture.server).get('/creds').set('x-user', 'bob').expect(200) // the IP's 6th
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'carol')) // the IP's 7th
      assert.equal(fixture.sts.calls.length, 4)
    } finally {
      await fixture.stop()
    }
  })

  it("the older name max sets the limit too, and an undefined option keeps the router's default", async () => {
    const fixture = await limited({ rateLimit: { perIp: { max: 2 }, perSubject: { limit: undefined } } })
    try {
      await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      const served = await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      assert.match(
        served.headers['ratelimit-policy'] ?? '',
        new RegExp(`^"per-ip"; q=2; w=60; pk=:[^:]+:, "per-subject"; q=${RATE_LIMIT_DEFAULTS.perSubject.limit}; w=60;`),
      )
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'alice'))
    } finally {
      await fixture.stop()
    }
  })

  it('per IP runs before the body parser: a flood of broken bodies is 429, not 400', async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 2 } } })
    try {
      for (let i = 0; i < 2; i++) await request(fixture.server).post('/creds').set('content-type', 'application/json').send('{oops').expect(400)
      await expectTooMany(await request(fixture.server).post('/creds').set('content-type', 'application/json').send('{oops'))
    } finally {
      await fixture.stop()
    }
  })

  it('a window that has passed lets the subject in again', async () => {
    const fixture = await limited({ rateLimit: { perSubject: { limit: 1, windowMs: 1000 } } })
    try {
      await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      const refused = await request(fixture.server).get('/creds').set('x-user', 'alice').expect(429)
      assert.equal(refused.headers['retry-after'], '1')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
    } finally {
      await fixture.stop()
    }
  })
})

describe('rate-limit: standard headers', () => {
  it('each layer adds its named RateLimit and RateLimit-Policy entry (IETF draft 8), counting down', async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 5 }, perSubject: { limit: 3 } } })
    try {
      const first = await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      assert.equal(first.headers['ratelimit'], '"per-ip"; r=4; t=60, "per-subject"; r=2; t=60')
      assert.match(first.headers['ratelimit-policy'] ?? '', /^"per-ip"; q=5; w=60; pk=:[A-Za-z0-9+/=]+:, "per-subject"; q=3; w=60; pk=:[A-Za-z0-9+/=]+:$/)
      const second = await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      assert.match(second.headers['ratelimit'] ?? '', /"per-ip"; r=3; t=\d+, "per-subject"; r=1; t=\d+/)
      assert.equal(second.headers['x-ratelimit-limit'], undefined, 'no legacy X-RateLimit headers')
      const refused = await request(fixture.server).get('/creds').expect(401)
      assert.match(refused.headers['ratelimit'] ?? '', /^"per-ip"; r=2; t=\d+$/, 'refused before authorize: only the per-IP entry')
    } finally {
      await fixture.stop()
    }
  })

  it('rateLimit: false turns both layers off; perIp: false only the first', async () => {
    const off = await limited({ rateLimit: false })
    const subjectOnly = await limited({ rateLimit: { perIp: false, perSubject: { limit: 1 } } })
    try {
      const res = await request(off.server).get('/creds').set('x-user', 'alice').expect(200)
      assert.equal(res.headers['ratelimit'], undefined)
      for (let i = 0; i < 3; i++) await request(subjectOnly.server).get('/creds').expect(401)
      const only = await request(subjectOnly.server).get('/creds').set('x-user', 'alice').expect(200)
      assert.match(only.headers['ratelimit'] ?? '', /^"per-subject"; r=0; t=\d+$/)
      await request(subjectOnly.server).get('/creds').set('x-user', 'alice').expect(429)
    } finally {
      await off.stop()
      await subjectOnly.stop()
    }
  })
})

describe('rate-limit: who is the client (IPv6 subnets, trust proxy)', () => {
  it('IPv6 clients are keyed by /56: addresses of one subnet share the limit, another subnet has its own', async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 2 }, perSubject: false } })
    fixture.app.set('trust proxy', 1)
    try {
      const from = (ip: string) => request(fixture.server).get('/creds').set('x-user', 'alice').set('x-forwarded-for', ip)
      await from('2001:db8:1:100::1').expect(200)
      await from('2001:db8:1:1ff:ffff::2').expect(200) // same /56 (2001:db8:1:100::/56)
      await expectTooMany(await from('2001:db8:1:1aa::3'))
      await from('2001:db8:1:200::1').expect(200) // the next /56
    } finally {
      await fixture.stop()
    }
  })

  it("without trust proxy every request is the proxy's address: X-Forwarded-For changes nothing, and the logger says why", async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 2 }, perSubject: false } })
    try {
      const from = (ip: string) => request(fixture.server).get('/creds').set('x-user', 'alice').set('x-forwarded-for', ip)
      await from('203.0.113.1').expect(200)
      await from('203.0.113.2').expect(200)
      await expectTooMany(await from('203.0.113.3'))
      assert.ok(
        fixture.logger.lines.some((line) => /ERR_ERL_UNEXPECTED_X_FORWARDED_FOR/.test(line.message)),
        JSON.stringify(fixture.logger.lines),
      )
    } finally {
      await fixture.stop()
    }
  })

  it("trust proxy 1 (one proxy in front) keys by the client's address as that proxy reports it", async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 1 }, perSubject: false } })
    fixture.app.set('trust proxy', 1)
    try {
      const from = (header: string) => request(fixture.server).get('/creds').set('x-user', 'alice').set('x-forwarded-for', header)
      await from('203.0.113.1').expect(200)
      await from('203.0.113.2').expect(200)
      await expectTooMany(await from('203.0.113.1'))
      // A client prepending a made-up address does not escape: the proxy appends the real one, and that is the one used.
      await expectTooMany(await from('198.51.100.7, 203.0.113.1'))
    } finally {
      await fixture.stop()
    }
  })

  it('trust proxy true believes the client-controlled header, so a spoofed address bypasses the limit; the logger warns', async () => {
    const fixture = await limited({ rateLimit: { perIp: { limit: 1 }, perSubject: false } })
    fixture.app.set('trust proxy', true)
    try {
      const from = (header: string) => request(fixture.server).get('/creds').set('x-user', 'alice').set('x-forwarded-for', header)
      await from('198.51.100.1, 203.0.113.1').expect(200)
      await from('198.51.100.2, 203.0.113.1').expect(200) // the same real client, a new made-up address: not limited
      assert.ok(
        fixture.logger.lines.some((line) => /ERR_ERL_PERMISSIVE_TRUST_PROXY/.test(line.message)),
        JSON.stringify(fixture.logger.lines),
      )
    } finally {
      await fixture.stop()
    }
  })
})

describe('rate-limit: the per-subject layer counts requests that need STS', () => {
  const step = (action: string, key: string) => ({ scope: [{ action: `name/cos:${action}`, prefix: key }] })

  it('cache hits are not counted: the steps of 3 files pass a limit of 3, the 4th file is 429 without an STS call', async () => {
    const fixture = await limited({
      cache: {},
      rateLimit: { perSubject: { limit: 3 } },
      authorize: (req) => {
        const subject = req.get('x-user') ?? 'alice'
        return {
          subject,
          actions: [
            'name/cos:PutObject',
            'name/cos:InitiateMultipartUpload',
            'name/cos:UploadPart',
            'name/cos:CompleteMultipartUpload',
            'name/cos:ListMultipartUploads',
          ],
          prefixes: [`uploads/${subject}/*`],
        }
      },
    })
    try {
      const ask = (body: unknown) =>
        request(fixture.server)
          .post('/creds')
          .set('x-user', 'alice')
          .send(body as object)
      for (const file of ['a', 'b', 'c']) {
        for (const action of ['ListMultipartUploads', 'InitiateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']) {
          await ask(step(action, `uploads/alice/${file}.bin`)).expect(200)
        }
      }
      assert.equal(fixture.sts.calls.length, 3, 'one STS call per file')
      await expectTooMany(await ask(step('ListMultipartUploads', 'uploads/alice/d.bin')))
      assert.equal(fixture.sts.calls.length, 3)
      // Still served from the cache: a held key costs nothing, so the spent budget does not stop it.
      await ask(step('CompleteMultipartUpload', 'uploads/alice/a.bin')).expect(200)
      await request(fixture.server).get('/creds').set('x-user', 'bob').expect(200) // another subject has its own count
    } finally {
      await fixture.stop()
    }
  })

  it('with a shared cache store the count of a cache hit is given back: still one counted request per file', async () => {
    // A store that lives "elsewhere" (no peek): this process never holds the keys, so no request is skipped up front.
    const values = new Map<string, string>()
    const store: CacheStore = {
      get: async (keys) => keys.map((key) => values.get(key)),
      set: async (key, value, _ttlMs, onlyIfAbsent) => {
        if (onlyIfAbsent && values.has(key)) return false
        values.set(key, value)
        return true
      },
      deleteIfValue: async (key, value) => {
        if (values.get(key) === value) values.delete(key)
      },
    }
    const fixture = await limited({
      cache: { store, firstLevelTtlMs: 0 },
      rateLimit: { perSubject: { limit: 2 } },
      authorize: () => ({
        subject: 'alice',
        actions: ['name/cos:PutObject', 'name/cos:UploadPart', 'name/cos:InitiateMultipartUpload'],
        prefixes: ['uploads/{subject}/*'],
      }),
    })
    try {
      const ask = (action: string, file: string) =>
        request(fixture.server)
          .post('/creds')
          .send(step(action, `uploads/alice/${file}`))
      for (const file of ['a.bin', 'b.bin']) {
        for (const action of ['InitiateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'UploadPart']) await ask(action, file).expect(200)
      }
      assert.equal(fixture.sts.calls.length, 2)
      assert.ok(fixture.router.cacheStats().hits >= 8, JSON.stringify(fixture.router.cacheStats()))
      await expectTooMany(await ask('InitiateMultipartUpload', 'c.bin'))
      assert.equal(fixture.sts.calls.length, 2)
    } finally {
      await fixture.stop()
    }
  })

  it("an app's own skip is asked as well", async () => {
    const fixture = await limited({ rateLimit: { perSubject: { limit: 1, skip: (req) => req.get('x-trusted') === 'yes' } } })
    try {
      await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      await request(fixture.server).get('/creds').set('x-user', 'alice').set('x-trusted', 'yes').expect(200)
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'alice'))
    } finally {
      await fixture.stop()
    }
  })
})

describe('rate-limit: the two layers never share a key', () => {
  /** Stores over one keyspace, each adding its `prefix` as rate-limit-redis does; no prefix is the worst case of "one shared store prefix". */
  function sharedKeyspace(): { counts: Map<string, number>; store: (prefix?: string) => Store } {
    const counts = new Map<string, number>()
    const store = (prefix = ''): Store => ({
      increment: (key) => {
        counts.set(prefix + key, (counts.get(prefix + key) ?? 0) + 1)
        return { totalHits: counts.get(prefix + key) as number, resetTime: new Date(Date.now() + 60_000) }
      },
      decrement: (key) => {
        counts.set(prefix + key, (counts.get(prefix + key) ?? 1) - 1)
      },
      resetKey: (key) => {
        counts.delete(prefix + key)
      },
      localKeys: false,
      ...(prefix === '' ? {} : { prefix }),
    })
    return { counts, store }
  }

  it("the issue's prefixes ('…rl:ip:' per IP, '…rl:' per subject): the user 'ip:127.0.0.1' and that address count apart", async () => {
    const { counts, store } = sharedKeyspace()
    const fixture = await limited({
      rateLimit: { perIp: { limit: 4, store: store('cos-sts:rl:ip:') }, perSubject: { limit: 100, store: store('cos-sts:rl:') } },
    })
    try {
      for (let i = 0; i < 4; i++) await request(fixture.server).get('/creds').set('x-user', 'ip:127.0.0.1').expect(200)
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'ip:127.0.0.1'))
      const keys = Object.fromEntries(counts)
      const ipKey = Object.keys(keys).find((key) => key.startsWith('cos-sts:rl:ip:ip:')) as string
      // Untagged, the subject's key would have been 'cos-sts:rl:' + 'ip:127.0.0.1', the very key of the address.
      assert.deepEqual(keys, { [ipKey]: 5, 'cos-sts:rl:subject:ip%3A127.0.0.1': 4 })
    } finally {
      await fixture.stop()
    }
  })

  it("a user whose subject is 'ip:127.0.0.1' does not spend 127.0.0.1's budget, with both layers in one keyspace", async () => {
    const { counts, store } = sharedKeyspace()
    const fixture = await limited({ rateLimit: { perIp: { limit: 4, store: store() }, perSubject: { limit: 100, store: store() } } })
    try {
      for (let i = 0; i < 4; i++) await request(fixture.server).get('/creds').set('x-user', 'ip:127.0.0.1').expect(200)
      await expectTooMany(await request(fixture.server).get('/creds').set('x-user', 'ip:127.0.0.1'))
      const keys = Object.fromEntries(counts)
      const ipKey = Object.keys(keys).find((key) => key.startsWith('ip:')) as string
      assert.match(ipKey, /^ip:(127\.0\.0\.1|::ffff:127\.0\.0\.1|::1)$/)
      // The IP's count is its 5 requests alone; the subject's 4 sit under their own tagged, escaped key.
      assert.deepEqual(keys, { [ipKey]: 5, 'subject:ip%3A127.0.0.1': 4 })
    } finally {
      await fixture.stop()
    }
  })

  it('a subject can never form an IP key: every subject key is the tag and the URI-encoded subject', async () => {
    const { counts, store } = sharedKeyspace()
    const fixture = await limited({ rateLimit: { perIp: { store: store() }, perSubject: { store: store() } } })
    try {
      for (const subject of ['127.0.0.1', 'ip:127.0.0.1', '::1', 'subject:x', 'a b%'])
        await request(fixture.server).get('/creds').set('x-user', subject).expect(200)
      const subjectKeys = [...counts.keys()].filter((key) => !key.startsWith('ip:')).sort()
      assert.deepEqual(subjectKeys, ['subject:%3A%3A1', 'subject:127.0.0.1', 'subject:a%20b%25', 'subject:ip%3A127.0.0.1', 'subject:subject%3Ax'])
      assert.ok(subjectKeys.every((key) => !key.slice('subject:'.length).includes(':')))
    } finally {
      await fixture.stop()
    }
  })
})

describe('rate-limit: when the store fails', () => {
  /** A store whose every count fails, as a store does when its database is unreachable. */
  const brokenStore = (): Store => ({
    increment: async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })
    },
    decrement: async () => undefined,
    resetKey: async () => undefined,
    localKeys: false,
  })

  it('fails open by default: the request goes on, the logger says the store failed', async () => {
    const fixture = await limited({ rateLimit: { perIp: { store: brokenStore() }, perSubject: { store: brokenStore() } } })
    try {
      await request(fixture.server).get('/creds').set('x-user', 'alice').expect(200)
      const errors = fixture.logger.lines.filter((line) => line.level === 'error')
      assert.equal(errors.length, 2, JSON.stringify(errors))
      assert.match(errors[0]!.message, /rate limit per-ip: .*error from store/)
      assert.match(errors[1]!.message, /rate limit per-subject: .*error from store/)
      assert.equal((errors[0]!.details as { code?: string }).code, 'ECONNREFUSED')
    } finally {
      await fixture.stop()
    }
  })

  it("passOnStoreError: false fails closed with the contract's JSON 500, never a stack trace", async () => {
    const fixture = await limited({ rateLimit: { perIp: { store: brokenStore(), passOnStoreError: false } } })
    try {
      const res = await request(fixture.server).get('/creds').set('x-user', 'alice').expect(500)
      assert.deepEqual(res.body, { error: { code: 'InternalError', message: 'Rate limiting is unavailable; try again shortly.' } })
      assert.equal(fixture.sts.calls.length, 0)
    } finally {
      await fixture.stop()
    }
  })
})

describe('rate-limit: configuration', () => {
  const base: StsRouterOptions = { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY, bucket: TEST_BUCKET, region: TEST_REGION, authorize: () => null }
  const throwsNaming = (rateLimit: unknown, option: string, fix: RegExp) =>
    assert.throws(
      () => createStsRouter({ ...base, rateLimit: rateLimit as StsRouterOptions['rateLimit'] }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`\`${option}\``) && fix.test(error.message),
    )

  it('names the option and the fix for each mistake', () => {
    throwsNaming('yes', 'rateLimit', /rateLimit: false/)
    throwsNaming({ perIP: {} }, 'rateLimit.perIP', /did you mean `rateLimit.perIp`/)
    throwsNaming({ perIp: 100 }, 'rateLimit.perIp', /false to turn this layer off/)
    throwsNaming({ perSubject: { limt: 5 } }, 'rateLimit.perSubject.limt', /did you mean `rateLimit.perSubject.limit`/)
    for (const limit of [0, -1, 1.5, '10']) throwsNaming({ perIp: { limit } }, 'rateLimit.perIp.limit', /e\.g\. 100/)
    throwsNaming({ perIp: { max: 0 } }, 'rateLimit.perIp.limit', /e\.g\. 100/)
    for (const windowMs of [0, 999, 1.5, 2 ** 31]) throwsNaming({ perIp: { windowMs } }, 'rateLimit.perIp.windowMs', /60000/)
    throwsNaming({ perSubject: { store: {} } }, 'rateLimit.perSubject.store', /RedisStore/)
    throwsNaming({ perIp: { passOnStoreError: 'yes' } }, 'rateLimit.perIp.passOnStoreError', /boolean/)
  })

  it('refuses one store instance for both layers', () => {
    const store = new MemoryStore()
    throwsNaming({ perIp: { store }, perSubject: { store } }, 'rateLimit.perSubject.store', /one store per layer/)
  })

  it('accepts a limit function and any express-rate-limit option', () => {
    createStsRouter({ ...base, rateLimit: { perIp: { limit: () => 10, skip: () => false, ipv6Subnet: 64 }, perSubject: { windowMs: 1000, message: 'x' } } })
  })
})
