// Request fuzzing: at least 10,000 generated hostile requests get only the contract's statuses, leak nothing, pollute no prototype and leave the heap bounded.
import assert from 'node:assert/strict'
import http from 'node:http'
import v8 from 'node:v8'
import vm from 'node:vm'
import express from 'express'
import fc from 'fast-check'
import { createStsRouter } from '../src/index.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import type { Grant, Logger, StsRouterOptions } from '../src/types.js'
import { credentialsAnswerProblems, credentialsOf, errorAnswerProblems } from './support/contract.js'
import { fuzzCaseArb, GRANT_MOUNT, GRANTED_ACTIONS, MOUNT, USER_HEADER, type FuzzCase } from './support/fuzz-cases.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { scanForSecret } from './support/leak-watch.js'
import { rawRequest, serve, type RawResponse, type TestServer } from './support/raw-request.js'

/** 50 requests in flight at once, 200 batches: 10,000 requests. FUZZ_RUNS scales it for a longer local run. */
const BATCH = 50
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 200)
const MIN_REQUESTS = 10_000
/** Heap growth allowed across the whole fuzz, measured after a full GC (the local STS alone keeps up to 10,000 issued keys). */
const HEAP_GROWTH_BOUND_MB = 32
const RESOURCE_BASE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`

/** A logger that keeps nothing (10,000 requests of lines would cloud the heap figure) but scans every line for the key. */
function scanningLogger(counter: { lines: number }): Logger {
  const log = (level: string) => (message: string, details?: Record<string, unknown>) => {
    counter.lines++
    scanForSecret(
      `logger.${level}`,
      message +
        JSON.stringify(details ?? {}, (_key, value: unknown) => (value instanceof Error ? { ...value, message: value.message, cause: value.cause } : value)),
    )
  }
  return { info: log('info'), warn: log('warn'), error: log('error') }
}

/** Reads the full GC'd heap: --expose-gc is switched on for this process only, to call gc() from a fresh context. */
function heapAfterGcMb(): number {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

const PROTOTYPES: object[] = [Object.prototype, Array.prototype, Function.prototype, String.prototype]

/** Every own property (with its descriptor) of the prototypes a pollution would touch. */
function prototypeSnapshot(): string {
  const snap = (proto: object) =>
    Object.getOwnPropertyNames(proto)
      .sort()
      .map((name) => {
        const descriptor = Object.getOwnPropertyDescriptor(proto, name)
        return `${name}:${typeof descriptor?.value}:${typeof descriptor?.get}:${typeof descriptor?.set}:${descriptor?.writable}:${descriptor?.enumerable}:${descriptor?.configurable}`
      })
      .join(',')
  return PROTOTYPES.map(snap).join('|')
}

/** Deletes properties a pollution added, so that the rest of the run (and of the suite) is not poisoned by it. */
function removeAddedProperties(original: Map<object, Set<string>>): string[] {
  const added: string[] = []
  for (const [proto, names] of original) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (names.has(name)) continue
      added.push(name)
      Reflect.deleteProperty(proto, name)
    }
  }
  return added
}

/** What a 200 issued on /creds must be: the subject's own key, covering exactly the expected prefixes when known. */
function credsOwnershipProblems(testCase: FuzzCase, res: RawResponse, sts: LocalSts): string[] {
  const problems = credentialsAnswerProblems(res)
  if (problems.length > 0 || testCase.subject === undefined)
    return [...problems, ...(testCase.subject === undefined ? ['a 200 for a request that named no subject'] : [])]
  const issued = sts.findByTmpSecretId(credentialsOf(res).tmpSecretId)
  if (issued === undefined) return ['the key served was not issued by the local STS']
  const ownPrefix = `uploads/${testCase.subject}/`
  const statements = (issued.policy as { statement: Array<{ action: string[]; resource: string[] }> }).statement
  const resources = statements.flatMap((statement) => statement.resource)
  if (!resources.every((resource) => resource.startsWith(RESOURCE_BASE + ownPrefix))) return [`key issued for ${resources.join(', ')}, not inside ${ownPrefix}`]
  if (!statements.every((statement) => statement.action.every((action) => (GRANTED_ACTIONS as readonly string[]).includes(action))))
    return [`actions ${statements.map((s) => s.action.join()).join('; ')} exceed the grant`]
  // Compared as sets: the same item asked for twice is one resource.
  const distinct = (list: string[]) => [...new Set(list)].sort().join('\n')
  if (testCase.prefixes !== undefined && distinct(resources) !== distinct(testCase.prefixes.map((prefix) => RESOURCE_BASE + prefix))) {
    return [`key covers ${resources.join(', ')}, expected exactly ${testCase.prefixes.join(', ')}`]
  }
  const scope = (res.json as { scope: Array<{ prefixes: string[] }> }).scope
  if (!scope.every((item) => item.prefixes.every((prefix) => prefix.startsWith(ownPrefix)))) return ["the answer's scope reaches outside the grant"]
  return []
}

/** What a 200 issued on /grant must be: whatever grant the app returned, STS only ever saw a least-privilege policy. */
function grantPolicyProblems(res: RawResponse, sts: LocalSts): string[] {
  const problems = credentialsAnswerProblems(res)
  if (problems.length > 0) return problems
  const issued = sts.findByTmpSecretId(credentialsOf(res).tmpSecretId)
  if (issued === undefined) return ['the key served was not issued by the local STS']
  const policy = issued.policy as { statement: Array<Record<string, unknown> & { action: string[]; resource: string[] }> }
  for (const statement of policy.statement) {
    if ('principal' in statement) problems.push('a statement has a principal')
    if (statement['effect'] !== 'allow') problems.push(`effect ${String(statement['effect'])}`)
    for (const action of statement.action) if (!/^name\/cos:[A-Za-z]+$/.test(action)) problems.push(`action ${action}`)
    for (const resource of statement.resource) {
      const key = /^qcs::cos:[a-z]+(?:-[a-z0-9]+)+:uid\/\d+:[a-z0-9-]+-\d+\/(.*)$/s.exec(resource)?.[1]
      if (key === undefined) problems.push(`resource ${resource} names no bucket object`)
      else if (
        key === '' ||
        key === '*' ||
        key.startsWith('/') ||
        key.slice(0, -1).includes('*') ||
        key.split('/').includes('..') ||
        /[\u0000-\u001f\u007f]/.test(key)
      ) {
        problems.push(`resource ${JSON.stringify(resource)} is wider or odder than least privilege allows`)
      }
    }
  }
  return problems
}

function judge(testCase: FuzzCase, res: RawResponse, sts: LocalSts): string[] {
  if (!testCase.allowed.includes(res.status)) return [`status ${res.status} not in [${testCase.allowed.join(', ')}]: ${res.text.slice(0, 200)}`]
  if (testCase.answeredBy !== undefined) return /\bat \S+ \(|node:internal/.test(res.text) ? ['a stack trace in the answer'] : []
  if (testCase.method === 'HEAD') return res.headers['cache-control'] === 'no-store' ? [] : ['HEAD answer without Cache-Control: no-store']
  if (res.status === 200) return testCase.path === GRANT_MOUNT ? grantPolicyProblems(res, sts) : credsOwnershipProblems(testCase, res, sts)
  const problems = errorAnswerProblems(res)
  const code = (res.json as { error?: { code?: string } } | undefined)?.error?.code
  if (res.status === 405 && res.headers['allow'] !== 'GET, POST') problems.push(`Allow is ${String(res.headers['allow'])}`)
  // A 500 is by design only: the app's authorize crashing (InternalError) or the app's grant breaking a rule (InvalidGrant).
  if (res.status === 500 && code !== (testCase.path === GRANT_MOUNT ? 'InvalidGrant' : 'InternalError')) problems.push(`500 with code ${String(code)}`)
  return problems
}

describe('fuzz: 10,000 generated hostile requests', function () {
  this.timeout(300_000)
  let sts: LocalSts
  let server: TestServer
  let agent: http.Agent
  const observed = { lines: 0, issues: 0, errors: 0 }
  const crashes: unknown[] = []
  const onCrash = (error: unknown) => {
    crashes.push(error)
  }

  before(async () => {
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
    const shared: Omit<StsRouterOptions, 'authorize'> = {
      secretId: TEST_SECRET_ID,
      secretKey: TEST_SECRET_KEY,
      bucket: TEST_BUCKET,
      region: TEST_REGION,
      rateLimit: false, // thousands of requests from one IP: the limiter would answer them all
      logger: scanningLogger(observed),
      onIssue: (event) => {
        observed.issues++
        scanForSecret('onIssue', JSON.stringify(event))
      },
      onError: (event) => {
        observed.errors++
        scanForSecret('onError', JSON.stringify({ ...event, cause: String(event.cause) }))
      },
      sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 10_000 },
    }
    const app = express()
    app.use(
      MOUNT,
      createStsRouter({
        ...shared,
        authorize: (req) => {
          const header = req.get(USER_HEADER)
          if (header === undefined || header === '') return null
          if (header === 'banned') return false
          const thrown = /^throw-(\d{3})$/.exec(header)
          if (thrown) throw Object.assign(new Error(`refused with ${thrown[1]}`), { status: Number(thrown[1]) })
          if (header === 'crash') throw new Error('the user store is down')
          const subject = decodeURIComponent(header)
          return { subject, actions: [...GRANTED_ACTIONS], prefixes: [`uploads/${subject}/*`] }
        },
      }),
    )
    // The app's side fuzzed too: authorize hands back whatever grant the body carries.
    app.use(GRANT_MOUNT, createStsRouter({ ...shared, authorize: (req) => (req.body as { grant?: Grant } | undefined)?.grant }))
    server = await serve(app)
    agent = new http.Agent({ keepAlive: true, maxSockets: BATCH })
    process.on('uncaughtException', onCrash)
    process.on('unhandledRejection', onCrash)
  })
  after(async () => {
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    agent.destroy()
    await server.close()
    await sts.close()
  })

  const send = (testCase: FuzzCase): Promise<RawResponse> =>
    rawRequest(server.url, {
      method: testCase.method,
      path: testCase.path,
      headers: testCase.headers,
      body: testCase.body,
      agent,
      deadlineMs: 20_000,
    })

  it(`answers ${RUNS * BATCH} requests with only the contract's statuses; no crash, no pollution, bounded heap`, async () => {
    const prototypesBefore = prototypeSnapshot()
    const originalNames = new Map(PROTOTYPES.map((proto) => [proto, new Set(Object.getOwnPropertyNames(proto))]))
    /** Set by the first batch that changed a prototype; later runs then pass at once, so shrinking ends instead of fuzzing a poisoned process. */
    let pollution: string | undefined
    // Warm up (module loading, JIT, sockets) before the heap baseline.
    await Promise.all(fc.sample(fuzzCaseArb, BATCH).map(send))
    const heapBefore = heapAfterGcMb()
    const tally = new Map<string, number>()
    let sent = 0
    const details = await fc.check(
      fc.asyncProperty(fc.array(fuzzCaseArb, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
        if (pollution !== undefined) return
        const answers = await Promise.all(cases.map(send))
        sent += cases.length
        if (prototypeSnapshot() !== prototypesBefore) {
          pollution = `added ${removeAddedProperties(originalNames).join(', ') || '(no new name: an existing property changed)'}; kinds in the batch: ${[...new Set(cases.map((c) => c.kind))].join(', ')}`
          throw new Error(`a prototype was changed: ${pollution}`)
        }
        sts.reset() // keep the call log from growing; issued keys stay findable (the local STS keeps the last 10,000)
        cases.forEach((testCase, i) => {
          const res = answers[i] as RawResponse
          const problems = judge(testCase, res, sts)
          if (problems.length > 0) {
            throw new Error(
              `${testCase.kind} ${testCase.method} ${testCase.path} ${JSON.stringify(testCase.headers).slice(0, 300)} body=${JSON.stringify(testCase.body?.toString('utf8').slice(0, 300))}\n  ${problems.join('\n  ')}`,
            )
          }
          for (const key of [`${res.status}`, `${testCase.kind} ${res.status}`]) tally.set(key, (tally.get(key) ?? 0) + 1)
        })
      }),
      { numRuns: RUNS, ...(process.env['FUZZ_SEED'] ? { seed: Number(process.env['FUZZ_SEED']) } : {}) },
    )
    // fast-check's own report prints whole counterexamples (a 64 KiB header among them); the shrunk failure says enough.
    if (details.failed) {
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)
      assert.fail(`fuzz failed (reproduce with FUZZ_SEED=${details.seed}) after ${details.numRuns} batches, shrunk ${details.numShrinks} times:\n${cause}`)
    }
    const heapAfter = heapAfterGcMb()

    assert.ok(sent >= Math.min(MIN_REQUESTS, RUNS * BATCH), `only ${sent} requests sent`)
    assert.deepEqual(crashes, [], 'an uncaught exception or unhandled rejection happened during the fuzz')
    assert.equal(pollution, undefined)
    assert.equal(prototypeSnapshot(), prototypesBefore, 'a prototype was changed')
    for (const name of ['polluted', 'isAdmin', 'scope', 'subject', 'actions']) {
      assert.equal(({} as Record<string, unknown>)[name], undefined, `Object.prototype.${name} appeared`)
    }
    assert.equal(server.inFlight(), 0, 'requests still open on the server')
    assert.ok(heapAfter - heapBefore < HEAP_GROWTH_BOUND_MB, `heap grew ${(heapAfter - heapBefore).toFixed(1)} MB (bound ${HEAP_GROWTH_BOUND_MB} MB)`)
    // The fuzz reached every part of the route, not just the early refusals.
    const reached = [
      '200',
      '400',
      '401',
      '403',
      '405',
      '413',
      '431',
      '500',
      'post:scope 200',
      'post:scope 403',
      'post:proto+scope 200',
      'post:deep 200',
      'post:encoding 200',
      'post:encoding 400',
      'post:invalid-json 400',
      'grant 200',
      'grant 500',
      'grant+proto 200',
    ]
    // (A short FUZZ_RUNS may miss the rarer ones; the default run reaches each dozens of times.)
    if (sent >= MIN_REQUESTS) for (const key of reached) assert.ok((tally.get(key) ?? 0) > 0, `no "${key}" answer was generated`)
    const statuses = [...tally].filter(([key]) => /^\d+$/.test(key)).sort()
    console.log(
      `      fuzz: ${sent} requests, statuses ${statuses.map(([s, n]) => `${s}×${n}`).join(' ')}; heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MB after GC; ${observed.issues} keys issued, ${observed.errors} errors observed, ${observed.lines} log lines scanned`,
    )
  })

  it("found: a corrupt gzip, deflate or br body is the client's 400, not a 500 (body-parser gives zlib's error no type)", async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await send({
        kind: 'encoding',
        method: 'POST',
        path: MOUNT,
        headers: { [USER_HEADER]: 'alice', 'content-type': 'application/json', 'content-encoding': encoding },
        body: Buffer.from('not compressed'),
        allowed: [400],
      })
      assert.equal(res.status, 400, `${encoding}: ${res.text}`)
      assert.deepEqual(errorAnswerProblems(res), [])
    }
  })

  it('is still up and serving after the fuzz', async () => {
    const res = await send({
      kind: 'sanity',
      method: 'GET',
      path: MOUNT,
      headers: { [USER_HEADER]: 'alice' },
      allowed: [200],
      subject: 'alice',
      prefixes: ['uploads/alice/*'],
    })
    assert.equal(res.status, 200)
    assert.deepEqual(
      credsOwnershipProblems(
        { kind: 'sanity', method: 'GET', path: MOUNT, headers: {}, allowed: [200], subject: 'alice', prefixes: ['uploads/alice/*'] },
        res,
        sts,
      ),
      [],
    )
  })
})
