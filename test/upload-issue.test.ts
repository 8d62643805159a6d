// router.issue(grant, { scope?, upload? }): the route's rules, cache and STS budget without HTTP; the same 200 body, errors as RouteError.
import assert from 'node:assert/strict'
import request from 'supertest'
import { RouteError, type Grant } from '../src/index.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const grantOf = (user: string): Grant => ({
  subject: user,
  actions: [
    'name/cos:PutObject',
    'name/cos:InitiateMultipartUpload',
    'name/cos:UploadPart',
    'name/cos:CompleteMultipartUpload',
    'name/cos:ListMultipartUploads',
  ],
  prefixes: [`uploads/${user}/*`],
})

describe('router.issue()', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture({
      cache: {},
      authorize: (req) => (req.get('x-user') ? grantOf(req.get('x-user') as string) : null),
      uploadLimits: { maxBytes: 10_000 },
    })
  })
  after(() => fixture.close())
  beforeEach(() => {
    fixture.sts.reset()
    fixture.issues.length = 0
  })

  /** The body without what differs between two answers for the same key (the clock). */
  const stable = (body: Record<string, unknown>) => ({ ...body, serverTime: undefined })

  it("resolves to the route's body for the whole grant and shares its cache (one STS call for both)", async () => {
    const viaRoute = (await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)).body as Record<string, unknown>
    const viaIssue = await fixture.router.issue(grantOf('alice'))
    assert.deepEqual(stable(viaIssue as unknown as Record<string, unknown>), stable(viaRoute))
    assert.equal(fixture.sts.calls.length, 1)
    assert.equal(fixture.issues.length, 2, 'onIssue hears about both')
    assert.equal(fixture.issues[1]!.cached, true)
  })

  it('a requested scope: the per-file key, as the route gives it', async () => {
    const scope = [{ action: 'name/cos:UploadPart', bucket: TEST_BUCKET, region: TEST_REGION, prefix: 'uploads/alice/v.mp4' }]
    const viaIssue = await fixture.router.issue(grantOf('alice'), { scope })
    const viaRoute = (await request(fixture.app).post('/creds').set('x-user', 'alice').send({ scope }).expect(200)).body as Record<string, unknown>
    assert.deepEqual(stable(viaRoute), stable(viaIssue as unknown as Record<string, unknown>))
    assert.deepEqual(viaIssue.scope, [
      {
        actions: [
          'name/cos:PutObject',
          'name/cos:ListMultipartUploads',
          'name/cos:InitiateMultipartUpload',
          'name/cos:UploadPart',
          'name/cos:CompleteMultipartUpload',
        ],
        prefixes: ['uploads/alice/v.mp4'],
      },
    ])
    assert.equal(fixture.sts.calls.length, 1)
  })

  it('a server-chosen upload: a key inside the grant, credentials for exactly that object ("new post" answers)', async () => {
    const answer = await fixture.router.issue(grantOf('bob'), { upload: { name: 'cover.png', size: 2048 } })
    assert.match(answer.key ?? '', /^uploads\/bob\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{24}\.png$/)
    assert.ok(answer.scope.every((statement) => statement.prefixes.length === 1 && statement.prefixes[0] === answer.key))
    assert.equal(fixture.sts.findByTmpSecretId(answer.credentials.tmpSecretId)?.token, answer.credentials.sessionToken)
  })

  const refusals: Array<{ name: string; grant: unknown; request?: unknown; status: number; code: string }> = [
    { name: 'a grant that breaks a rule', grant: { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['*'] }, status: 500, code: 'InvalidGrant' },
    {
      name: 'a scope outside the grant',
      grant: grantOf('alice'),
      request: { scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/bob/a' }] },
      status: 403,
      code: 'ScopeNotAllowed',
    },
    { name: 'a malformed scope', grant: grantOf('alice'), request: { scope: 'all' }, status: 400, code: 'InvalidRequest' },
    { name: 'scope and upload together', grant: grantOf('alice'), request: { scope: [], upload: { name: 'a' } }, status: 400, code: 'InvalidRequest' },
    {
      name: 'a file over the size limit',
      grant: grantOf('alice'),
      request: { upload: { name: 'a.png', size: 10_001 } },
      status: 400,
      code: 'UploadNotAllowed',
    },
  ]
  for (const { name, grant, request: asked, status, code } of refusals) {
    it(`rejects ${name} with RouteError ${status} ${code}, before STS`, async () => {
      await assert.rejects(
        fixture.router.issue(grant as Grant, asked as never),
        (error: unknown) => error instanceof RouteError && error.status === status && error.code === code,
      )
      assert.equal(fixture.sts.calls.length, 0)
    })
  }

  it("rejects with the route's STS errors too (502 StsError)", async () => {
    fixture.sts.fail({ kind: 'error', code: 'InternalError' })
    try {
      await assert.rejects(
        fixture.router.issue(grantOf('carol')),
        (error: unknown) => error instanceof RouteError && error.status === 502 && error.code === 'StsError',
      )
    } finally {
      fixture.sts.fail(null)
    }
  })
})
