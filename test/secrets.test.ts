// The permanent key stays on the server: the leak watch is proven able to fail, and every failing path's answers, logs, events, store writes and config errors are searched for it.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import util from 'node:util'
import express from 'express'
import request from 'supertest'
import { ConfigError, createStsRouter, type StsRouter } from '../src/index.js'
import { startLocalSts, type LocalSts, type LocalStsFault } from '../src/testing/index.js'
import type { CacheStore, ErrorEvent, IssueEvent, StsRouterOptions } from '../src/types.js'
import { capturingLogger } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { containsSecret, encodedForms, leakReport } from './support/leak-watch.js'

/** Everything reachable from a value, hidden properties and causes included, as text to search. */
const deepText = (value: unknown): string => util.inspect(value, { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity })

/** A CacheStore that keeps every name and value written to it, for the scan. */
function recordingStore(): CacheStore & { written: string[] } {
  const entries = new Map<string, string>()
  const written: string[] = []
  return {
    written,
    get: async (keys) => keys.map((key) => entries.get(key) ?? null),
    set: async (key, value, _ttlMs, onlyIfAbsent) => {
      written.push(key, value)
      if (onlyIfAbsent && entries.has(key)) return false
      entries.set(key, value)
      return true
    },
    deleteIfValue: async (key, value) => {
      if (entries.get(key) === value) entries.delete(key)
    },
  }
}

describe('secrets: the leak watch itself', () => {
  it('finds the key raw, URL-encoded, hex, and base64/base64url at any position inside a longer encoding', () => {
    const prefixes = ['', 'a', 'ab', 'abc', '{"secretKey":"']
    for (const before of prefixes) {
      const inner = `${before}${TEST_SECRET_KEY}"}`
      for (const text of [
        inner,
        encodeURIComponent(inner),
        Buffer.from(inner).toString('hex'),
        Buffer.from(inner).toString('base64'),
        Buffer.from(inner).toString('base64url'),
      ]) {
        assert.ok(containsSecret(`log line: ${text} end`), `missed ${JSON.stringify(before)} in ${text}`)
      }
    }
  })

  it('finds nothing in text that merely resembles the key', () => {
    // One character changed mid-key. (Dropping the last one would still be a leak: 37 of its 38 characters.)
    const middle = Math.floor(TEST_SECRET_KEY.length / 2)
    const near = `${TEST_SECRET_KEY.slice(0, middle)}_${TEST_SECRET_KEY.slice(middle + 1)}`
    for (const text of [near, Buffer.from(near).toString('base64'), TEST_SECRET_KEY.toUpperCase(), TEST_SECRET_ID, 'fakePermanentKey', '']) {
      assert.equal(containsSecret(text), false, text)
    }
    // Each encoded form is long enough that a random match is out of the question.
    assert.ok(encodedForms(TEST_SECRET_KEY).every((form) => form.length >= 32))
  })

  it('sees every response this process serves', async () => {
    const before = leakReport().responsesScanned
    const app = express().get('/', (_req, res) => {
      res.json({ ok: true })
    })
    for (let i = 0; i < 5; i++) await request(app).get('/').expect(200)
    assert.ok(leakReport().responsesScanned - before >= 5, 'the tee on http.ServerResponse missed answers')
  })

  it('fails a whole mocha run when an answer leaks the key, even base64-encoded mid-string', function () {
    this.timeout(60_000)
    const root = path.resolve(__dirname, '..')
    const run = spawnSync(
      process.execPath,
      [
        require.resolve('mocha/bin/mocha.js'),
        '--no-config',
        '--require',
        'test/support/leak-watch.ts',
        '--node-option',
        'import=tsx',
        '--extension',
        'ts',
        '--reporter',
        'dot',
        '--timeout',
        '20000',
        '--exit',
        'test/fixtures/leaky-response.ts',
      ],
      { cwd: root, encoding: 'utf8', timeout: 55_000 },
    )
    const output = `${run.stdout}${run.stderr}`
    assert.notEqual(run.status, 0, `the leaking run passed:\n${output}`)
    assert.match(output, /the permanent secret key leaked 1 time\(s\)/)
    assert.match(output, /body of GET \//)
  })
})

interface LeakPath {
  name: string
  fault?: LocalStsFault
  options?: Partial<StsRouterOptions>
  authorize?: StsRouterOptions['authorize']
  status: number
}

const FAILING_PATHS: LeakPath[] = [
  { name: 'wrong permanent key (AuthFailure.SignatureFailure)', options: { secretKey: 'wrongFakePermanentKeyForTests000000000' }, status: 502 },
  { name: 'unknown SecretId', options: { secretId: 'AKIDunknownTestIdNotKnownToTheLocalSts0' }, status: 502 },
  { name: 'STS error answer', fault: { kind: 'error', code: 'InvalidParameter', message: 'The policy is invalid.' }, status: 502 },
  { name: 'HTTP 500', fault: { kind: 'http500' }, status: 502 },
  { name: 'malformed body', fault: { kind: 'malformed' }, status: 502 },
  { name: 'connection reset', fault: { kind: 'reset' }, status: 502 },
  { name: 'throttled', fault: { kind: 'error', code: 'RequestLimitExceeded' }, status: 503 },
  { name: 'STS InternalError', fault: { kind: 'error', code: 'InternalError' }, status: 502 },
  { name: 'hang (timeout)', fault: { kind: 'hang' }, status: 504 },
  {
    name: 'authorize throws',
    authorize: () => {
      throw new Error('user store down')
    },
    status: 500,
  },
  { name: 'invalid grant', authorize: () => ({ subject: 'alice', actions: ['name/cos:*'], prefixes: ['*'] }), status: 500 },
]

describe('secrets: every failing STS path keeps the permanent key out of answers, logs, events and the store', function () {
  this.timeout(30_000)
  let sts: LocalSts
  before(async () => {
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(() => sts.close())
  afterEach(() => sts.fail(null))

  for (const leakPath of FAILING_PATHS) {
    it(`${leakPath.name}: ${leakPath.status}, and nothing observed carries the key`, async () => {
      const logger = capturingLogger()
      const errors: ErrorEvent[] = []
      const store = recordingStore()
      const router: StsRouter = createStsRouter({
        secretId: TEST_SECRET_ID,
        secretKey: TEST_SECRET_KEY,
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        authorize: leakPath.authorize ?? (() => ({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] })),
        rateLimit: false,
        cache: { store },
        logger,
        onError: (event) => errors.push(event),
        sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 500 },
        ...leakPath.options,
      })
      if (leakPath.fault) sts.fail(leakPath.fault)
      const res = await request(express().use('/creds', router))
        .post('/creds')
        .send({ scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a.jpg' }] })
      assert.equal(res.status, leakPath.status, res.text)
      const answer = JSON.stringify(res.headers) + res.text
      assert.equal(containsSecret(answer), false, 'the answer carries the key')
      assert.doesNotMatch(answer, /TC3-HMAC-SHA256|Signature=|SecretKey/i, 'the answer carries signing material')
      assert.ok(logger.lines.length > 0, 'a 5xx was not logged')
      assert.ok(errors.length === 1 && errors[0]?.status === leakPath.status)
      assert.equal(containsSecret(deepText(logger.lines)), false, 'a log line, or an object it holds, carries the key')
      assert.equal(containsSecret(deepText(errors)), false, 'an onError event, or its cause, carries the key')
      assert.equal(containsSecret(store.written.join('\n')), false, 'the cache store was given the key')
      assert.equal(containsSecret(deepText(router.cacheStats())), false)
    })
  }

  it('the success path too: answer, onIssue event, store writes and counters', async () => {
    const logger = capturingLogger()
    const issues: IssueEvent[] = []
    const store = recordingStore()
    const router = createStsRouter({
      secretId: TEST_SECRET_ID,
      secretKey: TEST_SECRET_KEY,
      bucket: TEST_BUCKET,
      region: TEST_REGION,
      authorize: () => ({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }),
      rateLimit: false,
      cache: { store },
      logger,
      onIssue: (event) => issues.push(event),
      sts: { endpoint: sts.endpoint, protocol: sts.protocol },
    })
    const app = express().use('/creds', router)
    const first = await request(app).get('/creds').expect(200)
    await request(app).get('/creds').expect(200)
    assert.equal(issues.length, 2)
    assert.ok(store.written.length > 0, 'the store was never written: the scan below would prove nothing')
    for (const text of [
      JSON.stringify(first.headers) + first.text,
      deepText(issues),
      deepText(logger.lines),
      store.written.join('\n'),
      deepText(router.cacheStats()),
    ]) {
      assert.equal(containsSecret(text), false)
    }
    // The temporary key is not in the store in clear either: it is sealed.
    assert.ok(!store.written.join('\n').includes(first.body.credentials.tmpSecretKey), 'the store holds the temporary key in clear')
  })

  it('configuration errors never echo the key', () => {
    const base = { secretId: TEST_SECRET_ID, bucket: TEST_BUCKET, region: TEST_REGION, authorize: () => null }
    for (const secretKey of [`${TEST_SECRET_KEY} `, `${TEST_SECRET_KEY}\n`, `\t${TEST_SECRET_KEY}`]) {
      const error = (() => {
        try {
          createStsRouter({ ...base, secretKey })
          return undefined
        } catch (thrown) {
          return thrown
        }
      })()
      assert.ok(error instanceof ConfigError, 'a key with whitespace must be refused')
      assert.equal(containsSecret(deepText(error)), false, error.message)
    }
  })
})
