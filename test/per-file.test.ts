// One key per file: every upload step of one object key gets the same key (one STS call per file), through the route and the real cos-nodejs-sdk-v5 against the local COS.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import COS from 'cos-nodejs-sdk-v5'
import request from 'supertest'
import { grantFor, isUser } from '../example/grant.js'
import { startLocalCos, type LocalCos } from '../example/local-cos/index.js'
import type { CamPolicy, CredentialsResponse, Grant } from '../src/index.js'
import { UPLOAD_STEP_ACTIONS } from '../src/upload/file-scope.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`
const SIZE_LIMIT = { numeric_less_than_equal: { 'cos:content-length': 2 * 1024 * 1024 } }
// The example's multipart-capable grant, and one that splits the upload actions across two statements with a condition on one.
const GRANTS: Record<string, (user: string) => Grant> = {
  example: (user) => grantFor(isUser(user) ? user : 'alice'),
  split: (user) => ({
    subject: user,
    statements: [
      { actions: ['name/cos:PutObject', 'name/cos:UploadPart'], prefixes: [`uploads/${user}/*`], condition: SIZE_LIMIT },
      {
        actions: ['name/cos:InitiateMultipartUpload', 'name/cos:CompleteMultipartUpload', 'name/cos:ListMultipartUploads', 'name/cos:GetObject'],
        prefixes: [`uploads/${user}/*`],
      },
    ],
  }),
  simple: (user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: [`uploads/${user}/*`] }),
}
const EXAMPLE_UPLOAD_ACTIONS = UPLOAD_STEP_ACTIONS.filter((action) => action !== 'name/cos:PostObject')

describe('per-file keys: the upload steps of one object key', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture({
      cache: {},
      authorize: (req) => {
        const user = req.get('x-user')
        return user ? (GRANTS[req.get('x-grant') ?? 'example'] as (user: string) => Grant)(user) : null
      },
    })
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  const ask = (scope: unknown, grant = 'example', user = 'alice') =>
    request(fixture.app).post('/creds').set('x-user', user).set('x-grant', grant).send({ scope })
  const step = (action: string, key: string) => [{ action: `name/cos:${action}`, bucket: TEST_BUCKET, region: TEST_REGION, prefix: key }]

  it('each step cos-js-sdk-v5 asks for (its own Scope) gets the same key: one STS call for the file', async () => {
    const key = 'uploads/alice/per-file/one.bin'
    const answers: CredentialsResponse[] = []
    for (const action of ['ListMultipartUploads', 'InitiateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']) {
      answers.push((await ask(step(action, key)).expect(200)).body as CredentialsResponse)
    }
    assert.equal(fixture.sts.calls.length, 1, 'one STS call for the whole upload')
    assert.equal(new Set(answers.map((answer) => answer.credentials.tmpSecretId)).size, 1, 'every step was served the same key')
    for (const answer of answers) assert.deepEqual(answer.scope, [{ actions: EXAMPLE_UPLOAD_ACTIONS, prefixes: [key] }])
    assert.deepEqual(fixture.sts.calls[0]!.policy, {
      version: '2.0',
      statement: [{ effect: 'allow', action: EXAMPLE_UPLOAD_ACTIONS, resource: [RESOURCE + key] }],
    })
    // A second file is a second scope.
    await ask(step('ListMultipartUploads', 'uploads/alice/per-file/two.bin')).expect(200)
    assert.equal(fixture.sts.calls.length, 2)
  })

  it("covers only what the grant allows on the key, each action keeping its own statement's condition", async () => {
    const key = 'uploads/alice/split.bin'
    const res = await ask(step('UploadPart', key), 'split').expect(200)
    assert.deepEqual(res.body.scope, [
      { actions: ['name/cos:PutObject', 'name/cos:UploadPart'], prefixes: [key] },
      { actions: ['name/cos:ListMultipartUploads', 'name/cos:InitiateMultipartUpload', 'name/cos:CompleteMultipartUpload'], prefixes: [key] },
    ])
    assert.deepEqual((fixture.sts.calls[0]!.policy as CamPolicy).statement, [
      { effect: 'allow', action: ['name/cos:PutObject', 'name/cos:UploadPart'], resource: [RESOURCE + key], condition: SIZE_LIMIT },
      {
        effect: 'allow',
        action: ['name/cos:ListMultipartUploads', 'name/cos:InitiateMultipartUpload', 'name/cos:CompleteMultipartUpload'],
        resource: [RESOURCE + key],
      },
    ])
    // GetObject is granted on the key too, but it is not an upload step: never added.
    assert.ok(!JSON.stringify(res.body.scope).includes('GetObject'))
  })

  it('a simple-upload grant: PutObject alone; a multipart step it does not grant is still 403 before STS', async () => {
    const res = await ask(step('PutObject', 'uploads/alice/a.txt'), 'simple').expect(200)
    assert.deepEqual(res.body.scope, [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/a.txt'] }])
    const refused = await ask(step('ListMultipartUploads', 'uploads/alice/a.txt'), 'simple').expect(403)
    assert.equal(refused.body.error.code, 'ScopeNotAllowed')
    const outside = await ask(step('PutObject', 'uploads/bob/a.txt')).expect(403)
    assert.equal(outside.body.error.code, 'ScopeNotAllowed')
    assert.equal(fixture.sts.calls.length, 1)
  })

  const exact: Array<{ name: string; scope: unknown; expected: unknown }> = [
    {
      name: 'two files',
      scope: [...step('PutObject', 'uploads/alice/a.txt'), ...step('PutObject', 'uploads/alice/b.txt')],
      expected: [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/a.txt', 'uploads/alice/b.txt'] }],
    },
    {
      name: 'an upload step with a read of the same key',
      scope: [...step('PutObject', 'uploads/alice/a.txt'), ...step('GetObject', 'uploads/alice/a.txt')],
      expected: [
        { actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/a.txt'] },
        { actions: ['name/cos:GetObject'], prefixes: ['uploads/alice/a.txt'] },
      ],
    },
    {
      name: 'a prefix rather than one key',
      scope: step('PutObject', 'uploads/alice/photos/*'),
      expected: [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/photos/*'] }],
    },
  ]
  for (const { name, scope, expected } of exact) {
    it(`keeps today's exact narrowing for ${name}`, async () => {
      const res = await ask(scope).expect(200)
      assert.deepEqual(res.body.scope, expected)
    })
  }
})

describe('per-file keys with cos-nodejs-sdk-v5 and the local COS', () => {
  let fixture: Fixture
  let cos: LocalCos
  let dir: string
  before(async () => {
    fixture = await startFixture({ cache: {}, authorize: (req) => (isUser(req.get('x-user')) ? grantFor(req.get('x-user') as 'alice') : null) })
    cos = await startLocalCos({ credentials: fixture.sts, bucket: TEST_BUCKET, region: TEST_REGION })
    dir = await mkdtemp(join(tmpdir(), 'per-file-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 5 })
    await cos.close()
    await fixture.close()
  })

  /** The SDK asking the route for exactly its Scope at every step, as the README's front end does. */
  const answers: CredentialsResponse[] = []
  function scopedClient(routeAsks: unknown[][]): COS {
    return new COS({
      Ip: cos.endpoint,
      Protocol: 'http:',
      ConfCwd: dir,
      getAuthorization: (options, callback) => {
        routeAsks.push(options.Scope)
        request(fixture.app)
          .post('/creds')
          .set('x-user', 'alice')
          .send({ scope: options.Scope })
          .then(
            (res) => {
              const body = res.body as CredentialsResponse
              answers.push(body)
              callback({
                TmpSecretId: body.credentials.tmpSecretId,
                TmpSecretKey: body.credentials.tmpSecretKey,
                SecurityToken: body.credentials.sessionToken,
                StartTime: body.startTime,
                ExpiredTime: body.expiredTime,
                ScopeLimit: true,
              })
            },
            () => callback({} as never),
          )
      },
    })
  }

  it('sliceUploadFile of two 2.5 MB files: each file stored, one STS call per file, every other step a cache hit', async () => {
    fixture.sts.reset()
    const routeAsks: unknown[][] = []
    const sdk = scopedClient(routeAsks)
    // Every request is signed with the answered window, which began 15 minutes before STS issued the key: COS takes it.
    const signWindows = new Set<string>()
    sdk.on('before-send', (opt?: { headers: Record<string, string> }) => {
      const window = /q-sign-time=(\d+);(\d+)/.exec(opt?.headers['Authorization'] ?? '')
      if (window) signWindows.add(`${window[1]};${window[2]}`)
    })
    const files = ['first.bin', 'second.bin']
    for (const name of files) {
      const bytes = Buffer.alloc(2.5 * 1024 * 1024, name)
      await writeFile(join(dir, name), bytes)
      const done = await sdk.sliceUploadFile({
        Bucket: TEST_BUCKET,
        Region: TEST_REGION,
        Key: `uploads/alice/${name}`,
        FilePath: join(dir, name),
        ChunkSize: 1024 * 1024,
        SliceSize: 1024 * 1024,
      })
      assert.equal(done.statusCode, 200)
      assert.ok(cos.getObject(`uploads/alice/${name}`)?.body.equals(bytes), `${name} is stored whole`)
    }
    const actions = new Set(routeAsks.map((scope) => (scope[0] as { action: string }).action))
    assert.deepEqual(
      [...actions].sort(),
      ['name/cos:CompleteMultipartUpload', 'name/cos:InitiateMultipartUpload', 'name/cos:ListMultipartUploads', 'name/cos:UploadPart'],
      'the SDK asked once per step',
    )
    assert.ok(routeAsks.length >= 8, `the route was asked ${routeAsks.length} times`)
    assert.equal(fixture.sts.calls.length, files.length, 'one STS call per file')
    const issued = [...new Set(answers.map((answer) => answer.credentials.tmpSecretId))].map((id) => fixture.sts.findByTmpSecretId(id))
    assert.equal(issued.length, files.length)
    assert.deepEqual(
      [...signWindows].sort(),
      [...new Set(issued.map((key) => `${(key?.startTime ?? 0) - 900};${key?.expiredTime ?? 0}`))].sort(),
      'signed from 15 minutes before each key was issued to its expiry',
    )
    const stats = fixture.router.cacheStats()
    assert.equal(stats.stsCalls, files.length)
  })
})
