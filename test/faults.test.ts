// STS fault injection: every local-STS fault (and a wrong permanent key) gives the contract's answer in time, alone and 50 at once, and nothing is cached.
import assert from 'node:assert/strict'
import express, { type NextFunction, type Request, type Response } from 'express'
import { createStsRouter, type StsRouter } from '../src/index.js'
import { startLocalSts, type LocalSts, type LocalStsFault } from '../src/testing/index.js'
import type { ErrorEvent } from '../src/types.js'
import { capturingLogger } from './support/app.js'
import { credentialsAnswerProblems, credentialsOf, errorAnswerProblems } from './support/contract.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { scanForSecret } from './support/leak-watch.js'
import { rawRequest, serve, type RawResponse, type TestServer } from './support/raw-request.js'

const TIMEOUT_MS = 1000
/** The bound: every answer within sts.timeoutMs + 1 s. */
const ANSWER_BOUND_MS = TIMEOUT_MS + 1000
const CONCURRENCY = 50
const WRONG_SECRET_KEY = 'wrongFakePermanentKeyForTests000000000'

/** A router behind a switch (so a key rotation can be replayed), a local STS, and what the router told its observers. */
interface Harness {
  sts: LocalSts
  server: TestServer
  logger: ReturnType<typeof capturingLogger>
  errors: ErrorEvent[]
  useKey(secretKey: string): void
  close(): Promise<void>
}

async function startHarness(): Promise<Harness> {
  const sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  const logger = capturingLogger()
  const errors: ErrorEvent[] = []
  const routerWith = (secretKey: string): StsRouter =>
    createStsRouter({
      secretId: TEST_SECRET_ID,
      secretKey,
      bucket: TEST_BUCKET,
      region: TEST_REGION,
      authorize: (req) => {
        const subject = req.get('x-user')
        return subject ? { subject, actions: ['name/cos:PutObject'], prefixes: [`uploads/${subject}/*`] } : null
      },
      // 50 requests from one IP is the point here, not the rate limit's business.
      rateLimit: false,
      logger,
      onError: (event) => {
        errors.push(event)
        scanForSecret(
          'onError',
          JSON.stringify(event, (_key, value: unknown) => (value instanceof Error ? { ...value, message: value.message } : value)),
        )
      },
      sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: TIMEOUT_MS },
    })
  let current = routerWith(TEST_SECRET_KEY)
  const app = express()
  app.use('/creds', (req: Request, res: Response, next: NextFunction) => current(req, res, next))
  const server = await serve(app)
  return {
    sts,
    server,
    logger,
    errors,
    useKey: (secretKey) => {
      current = routerWith(secretKey)
    },
    close: async () => {
      await server.close()
      await sts.close()
    },
  }
}

interface FaultMode {
  name: string
  status: number
  code: string
  /** What the STS call that failed is recorded as by the local STS. */
  stsOutcome: string
  inject(harness: Harness): void
  recover(harness: Harness): void
}

const stsFault = (name: string, fault: LocalStsFault, status: number, code: string, stsOutcome: string): FaultMode => ({
  name,
  status,
  code,
  stsOutcome,
  inject: (harness) => harness.sts.fail(fault), // every call fails until recover()
  recover: (harness) => harness.sts.fail(null),
})

const MODES: FaultMode[] = [
  stsFault('hang', { kind: 'hang' }, 504, 'StsTimeout', 'hang'),
  stsFault('HTTP 500', { kind: 'http500' }, 502, 'StsError', 'http500'),
  stsFault('malformed body', { kind: 'malformed' }, 502, 'StsError', 'malformed'),
  stsFault('RequestLimitExceeded', { kind: 'error', code: 'RequestLimitExceeded' }, 503, 'StsThrottled', 'RequestLimitExceeded'),
  stsFault('InternalError', { kind: 'error', code: 'InternalError' }, 502, 'StsError', 'InternalError'),
  stsFault('connection reset', { kind: 'reset' }, 502, 'StsError', 'reset'),
  {
    name: 'wrong permanent key',
    status: 502,
    code: 'StsError',
    stsOutcome: 'AuthFailure.SignatureFailure',
    inject: (harness) => harness.useKey(WRONG_SECRET_KEY),
    recover: (harness) => harness.useKey(TEST_SECRET_KEY), // the operator deploys the right key
  },
]

const ask = (harness: Harness, subject: string): Promise<RawResponse> =>
  rawRequest(harness.server.url, { path: '/creds', headers: { 'x-user': subject }, deadlineMs: ANSWER_BOUND_MS + 5000 })

function assertFaultAnswer(res: RawResponse, mode: FaultMode): void {
  assert.equal(res.status, mode.status, `${mode.name}: ${res.text}`)
  assert.deepEqual(errorAnswerProblems(res), [])
  assert.equal((res.json as { error: { code: string } }).error.code, mode.code)
  assert.ok(res.elapsedMs <= ANSWER_BOUND_MS, `${mode.name}: answered after ${Math.round(res.elapsedMs)} ms (bound ${ANSWER_BOUND_MS} ms)`)
}

/** Counts open TCP sockets of this process (clients and servers alike), to see that no connection is left hanging. */
const openSockets = (): number => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length

async function waitFor(condition: () => boolean, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs
  while (!condition()) {
    if (Date.now() > until) return false
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return true
}

/** After recovery: each subject gets a 200 whose key comes from a fresh, successful STS call made for it now. */
async function assertRecovered(harness: Harness, subjects: string[]): Promise<void> {
  const callsBefore = harness.sts.calls.length
  const answers = await Promise.all(subjects.map((subject) => ask(harness, subject)))
  const fresh = harness.sts.calls.slice(callsBefore).filter((call) => call.outcome === 'ok')
  answers.forEach((res, i) => {
    assert.equal(res.status, 200, `after recovery: ${res.text}`)
    assert.deepEqual(credentialsAnswerProblems(res), [])
    const issued = harness.sts.findByTmpSecretId(credentialsOf(res).tmpSecretId)
    assert.ok(issued, 'the key served is one the local STS issued')
    const resources = (issued.policy as { statement: Array<{ resource: string[] }> }).statement.flatMap((s) => s.resource)
    assert.ok(
      resources.every((resource) => resource.endsWith(`/uploads/${subjects[i]}/*`)),
      `issued for ${subjects[i]}: ${resources.join()}`,
    )
    assert.ok(
      fresh.some((call) => (call.policy as { statement: Array<{ resource: string[] }> }).statement[0]?.resource[0] === resources[0]),
      'the key comes from an STS call made after recovery, not from a cache filled before or during the fault',
    )
  })
  assert.equal(fresh.length, subjects.length, 'one fresh STS call per subject: no failure was cached, no key from before was reused')
}

describe('faults [load]: STS failures under one request and under 50 at once', function () {
  this.timeout(30_000)
  let harness: Harness
  before(async () => {
    harness = await startHarness()
  })
  after(() => harness.close())
  afterEach(() => {
    harness.sts.fail(null)
    harness.useKey(TEST_SECRET_KEY)
  })

  for (const mode of MODES) {
    const slug = mode.name.replace(/\W+/g, '-')

    it(`${mode.name}: one request gets ${mode.status} ${mode.code} within timeoutMs + 1 s; then recovery gets a fresh key`, async () => {
      const subject = `${slug}-single`
      mode.inject(harness)
      const callsBefore = harness.sts.calls.length
      assertFaultAnswer(await ask(harness, subject), mode)
      const failedCalls = harness.sts.calls.slice(callsBefore)
      assert.ok(failedCalls.length >= 1 && failedCalls.every((call) => call.outcome === mode.stsOutcome), `STS saw ${failedCalls.map((c) => c.outcome).join()}`)
      // Asked again while the fault lasts: still the fault's answer (the failure was not turned into anything else).
      assertFaultAnswer(await ask(harness, subject), mode)
      mode.recover(harness)
      await assertRecovered(harness, [subject])
    })

    it(`${mode.name}: ${CONCURRENCY} concurrent requests all get ${mode.status} in time, none is left hanging, all recover`, async () => {
      const subjects = Array.from({ length: CONCURRENCY }, (_, i) => `${slug}-c${i}`)
      const socketsBefore = openSockets()
      mode.inject(harness)
      const answers = await Promise.all(subjects.map((subject) => ask(harness, subject)))
      for (const res of answers) assertFaultAnswer(res, mode)
      assert.equal(harness.server.inFlight(), 0, 'the app still holds requests')
      if (mode.name === 'hang') {
        // Sockets to an STS that never answers are closed by the SDK's reqTimeout (timeoutMs + 1 s): none may outlive it.
        // (Other modes answer, so their sockets go back to the keep-alive pool, idle, which is not hanging.)
        assert.ok(
          await waitFor(() => openSockets() <= socketsBefore, TIMEOUT_MS + 2000),
          `${openSockets() - socketsBefore} more sockets open than before the burst`,
        )
      }
      mode.recover(harness)
      await assertRecovered(harness, subjects)
    })
  }

  it('each failure reached onError with the contract status, and STS code where STS answered one', () => {
    const byCode = new Map(harness.errors.map((event) => [event.code, event]))
    assert.deepEqual([...byCode.keys()].sort(), ['StsError', 'StsThrottled', 'StsTimeout'])
    assert.ok(harness.errors.some((event) => event.stsCode === 'AuthFailure.SignatureFailure'))
    assert.ok(harness.errors.some((event) => event.stsCode === 'RequestLimitExceeded'))
    assert.ok(harness.errors.every((event) => event.status >= 500))
  })
})
