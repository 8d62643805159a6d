// 1,000 subjects asking at once, in waves: each gets only a key the local STS issued for its own prefix, never another subject's.
import assert from 'node:assert/strict'
import http from 'node:http'
import express from 'express'
import { createStsRouter } from '../src/index.js'
import { startLocalSts, type IssuedCredentials, type LocalSts } from '../src/testing/index.js'
import { capturingLogger } from './support/app.js'
import { credentialsAnswerProblems, credentialsOf } from './support/contract.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { rawRequest, serve, type RawResponse, type TestServer } from './support/raw-request.js'

const SUBJECTS = 1000
const RESOURCE_BASE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`

/**
 * Subjects built to collide wherever a careless implementation would merge them: as prefixes of each other
 * (user1/user10), by case, once sanitised to an STS Name (a b / a_b / a~b, and 32-char truncation), by Unicode
 * normalisation, and by script (爱丽丝 / 爱丽猫 both sanitise to ___). The rest are plain.
 */
function subjects(): string[] {
  const tricky = [
    'user1',
    'user10',
    'user100',
    'user1.',
    'Alice',
    'alice',
    'ALICE',
    'a b',
    'a_b',
    'a~b',
    'a+b',
    'a=b',
    'a,b',
    'a@b',
    `${'x'.repeat(32)}1`,
    `${'x'.repeat(32)}2`,
    `${'x'.repeat(127)}y`,
    `${'x'.repeat(127)}z`,
    'caf\u00e9',
    'cafe\u0301',
    '爱丽丝',
    '爱丽猫',
    '😀',
    '😁',
    'u_',
    'u__',
    '_',
    '__',
  ]
  const plain = Array.from({ length: SUBJECTS - tricky.length }, (_, i) => `subject-${i}`)
  return [...tricky, ...plain]
}

interface Served {
  subject: string
  res: RawResponse
}

describe("isolation [load]: 1,000 subjects at once never receive each other's keys", function () {
  this.timeout(120_000)
  let sts: LocalSts
  let server: TestServer
  let agent: http.Agent
  const all = subjects()
  /** Every temporary key served, and to whom. */
  const servedTo = new Map<string, string>()

  before(async () => {
    assert.equal(new Set(all).size, SUBJECTS)
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
    const app = express()
    app.use(
      '/creds',
      createStsRouter({
        secretId: TEST_SECRET_ID,
        secretKey: TEST_SECRET_KEY,
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        // Headers are Latin-1, so the app passes the subject URI-encoded; any auth scheme would do.
        authorize: (req) => {
          const header = req.get('x-user')
          if (!header) return null
          const subject = decodeURIComponent(header)
          return { subject, actions: ['name/cos:PutObject', 'name/cos:GetObject'], prefixes: [`uploads/${subject}/*`] }
        },
        rateLimit: false, // one IP asking for 1,000 users is this test's premise
        logger: capturingLogger(),
        // A thousand STS calls go through the router's STS budget; give them room to queue instead of timing out.
        sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 30_000 },
      }),
    )
    server = await serve(app)
    agent = new http.Agent({ keepAlive: true, maxSockets: SUBJECTS })
  })
  after(async () => {
    agent.destroy()
    await server.close()
    await sts.close()
  })

  /** Sends one request per subject, all at once. */
  function wave(request: (subject: string) => { method: string; path: string; body?: string; headers?: Record<string, string> }): Promise<Served[]> {
    return Promise.all(
      all.map(async (subject) => {
        const { method, path, body, headers = {} } = request(subject)
        const res = await rawRequest(server.url, {
          method,
          path,
          body,
          agent,
          deadlineMs: 60_000,
          headers: { 'x-user': encodeURIComponent(subject), ...headers },
        })
        return { subject, res }
      }),
    )
  }

  /** The issued key behind an answer, checked to be the subject's own and never served to anyone else. */
  function ownKey({ subject, res }: Served, expectedResources: string[]): IssuedCredentials {
    assert.equal(res.status, 200, `${subject}: ${res.text}`)
    assert.deepEqual(credentialsAnswerProblems(res), [], subject)
    const credentials = credentialsOf(res)
    const issued = sts.findByTmpSecretId(credentials.tmpSecretId)
    assert.ok(issued, `${subject}: the key was not issued by the local STS`)
    assert.equal(issued.tmpSecretKey, credentials.tmpSecretKey, `${subject}: tmpSecretKey of another key`)
    assert.equal(issued.token, credentials.sessionToken, `${subject}: sessionToken of another key`)
    const resources = (issued.policy as { statement: Array<{ resource: string[] }> }).statement.flatMap((statement) => statement.resource)
    assert.deepEqual(resources, expectedResources, `${subject} was served a key issued for ${resources.join(', ')}`)
    const owner = servedTo.get(credentials.tmpSecretId)
    assert.ok(owner === undefined || owner === subject, `the key served to ${subject} was also served to ${owner}`)
    servedTo.set(credentials.tmpSecretId, subject)
    return issued
  }

  it("wave 1: GET for all 1,000 at once; each key is the one STS issued for that subject's prefix", async () => {
    const served = await wave(() => ({ method: 'GET', path: '/creds' }))
    for (const answer of served) {
      ownKey(answer, [`${RESOURCE_BASE}uploads/${answer.subject}/*`])
      assert.deepEqual((answer.res.json as { scope: unknown }).scope, [
        { actions: ['name/cos:PutObject', 'name/cos:GetObject'], prefixes: [`uploads/${answer.subject}/*`] },
      ])
    }
    assert.equal(new Set(served.map(({ res }) => credentialsOf(res).tmpSecretId)).size, SUBJECTS, 'every subject holds a distinct key')
  })

  it('wave 2: POST asking for one own file, all at once; each key covers exactly that file', async () => {
    const fileOf = (subject: string) => `uploads/${subject}/photo.jpg`
    const served = await wave((subject) => ({
      method: 'POST',
      path: '/creds',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope: [{ action: 'name/cos:PutObject', prefix: fileOf(subject) }] }),
    }))
    for (const answer of served) ownKey(answer, [`${RESOURCE_BASE}${fileOf(answer.subject)}`])
  })

  it("wave 3: GET again for all at once (a cache may answer now); still each subject's own key", async () => {
    const served = await wave(() => ({ method: 'GET', path: '/creds' }))
    for (const answer of served) ownKey(answer, [`${RESOURCE_BASE}uploads/${answer.subject}/*`])
  })

  it("wave 4: each subject asks for another subject's file and is refused; nothing is issued", async () => {
    const callsBefore = sts.calls.length
    const victim = (subject: string) => all[(all.indexOf(subject) + 1) % all.length] ?? ''
    const served = await wave((subject) => ({
      method: 'POST',
      path: '/creds',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope: [{ action: 'name/cos:PutObject', prefix: `uploads/${victim(subject)}/photo.jpg` }] }),
    }))
    for (const { subject, res } of served) {
      assert.equal(res.status, 403, `${subject} asking for ${victim(subject)}'s file: ${res.text}`)
      assert.equal((res.json as { error: { code: string } }).error.code, 'ScopeNotAllowed')
    }
    assert.equal(sts.calls.length, callsBefore, 'STS was called for a refused scope')
  })
})
