// Least privilege round 2 as stories through the router (real Express, local STS, real SDK): subject templates, anonymous-looking subjects, bucket and CI actions, merged conditions, condition keys.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import request from 'supertest'
import { actionSets, auditGrant, contentTypes, createStsRouter, GRANT_RULES, isAllowed, maxBytes } from '../src/index.js'
import { normalizeAction } from '../src/cos/actions.js'
import type { CamPolicy, Grant } from '../src/types.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`
const CI_RESOURCE = `qcs::ci:${TEST_REGION}:uid/1250000000:bucket/${TEST_BUCKET}/`

/** A fixture whose authorize returns `grantFor(user)`; `x-user` names the signed-in user. */
async function storyFixture(grantFor: (user: string) => unknown, options: Parameters<typeof startFixture>[0] = {}): Promise<Fixture> {
  return startFixture({
    authorize: (req) => {
      const user = req.get('x-user')
      return user ? (grantFor(user) as Grant) : null
    },
    ...options,
  })
}

/** GET as `user`: refused with InvalidGrant naming `rule` (in onError only), and STS never asked. Returns the full message. */
async function refused(fixture: Fixture, user: string, rule: string): Promise<string> {
  const before = fixture.sts.calls.length
  const res = await request(fixture.app).get('/creds').set('x-user', user).expect(500)
  const event = fixture.errors.at(-1)
  assert.equal(res.body.error.code, 'InvalidGrant')
  assert.equal(event?.rule, rule, event?.message)
  assert.equal(res.body.error.message, `The server refused to issue this key: its grant breaks a least-privilege rule. (ref: ${event.ref})`)
  assert.equal(fixture.sts.calls.length, before, 'no STS call for a refused grant')
  return event.message
}

function sentPolicy(fixture: Fixture): CamPolicy {
  return fixture.sts.calls.at(-1)?.policy as CamPolicy
}

describe('grant rules: subject templates', () => {
  let grant: (user: string) => unknown
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => grant(user))
  })
  after(() => fixture.close())
  beforeEach(() => {
    fixture.logger.lines.length = 0
  })

  it('the router puts the subject in a {subject} segment; no warning', async () => {
    grant = (user) => ({ subject: user, actions: [...actionSets.simpleUpload], prefixes: ['app/avatar/{subject}/*'] })
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(res.body.scope, [{ actions: [...actionSets.simpleUpload], prefixes: ['app/avatar/alice/*'] }])
    assert.deepEqual(sentPolicy(fixture).statement[0]!.resource, [`${RESOURCE}app/avatar/alice/*`])
    assert.equal(fixture.logger.lines.filter((line) => line.level === 'warn').length, 0)
  })

  it('a user named like a folder: a literal prefix that passes only by its segment is warned about once, naming the template', async () => {
    // The app wrote one fixed folder; for the user called 'avatar' the subject-segment rule lets it through.
    grant = (user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: [user === 'avatar' ? 'app/avatar/*' : `uploads/${user}/*`] })
    await request(fixture.app).get('/creds').set('x-user', 'avatar').expect(200)
    for (const user of ['alice', 'bob', 'alice', 'carol']) await request(fixture.app).get('/creds').set('x-user', user).expect(200)
    const warnings = fixture.logger.lines.filter((line) => line.level === 'warn')
    assert.deepEqual(
      warnings.map((line) => (line.details as { rule: string }).rule),
      ['literal-subject-prefix', 'literal-subject-prefix'],
    )
    assert.match(warnings[0]!.message, /write the prefix as the template 'app\/\{subject\}\/\*'.*See docs\/security\.md#literal-subject-prefix/)
    // alice, bob and carol share one template: one warning for all of them.
    assert.match(warnings[1]!.message, /'uploads\/\{subject\}\/\*'/)
  })

  it('requireSubjectTemplates refuses the literal form (uploads/bob/alice/* for alice) and serves the template', async () => {
    const strict = await storyFixture((user) => grant(user), { requireSubjectTemplates: true })
    try {
      grant = (user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: [`uploads/bob/${user}/*`] })
      const message = await refused(strict, 'alice', 'literal-subject-prefix')
      assert.match(message, /Fix: write the prefix as the template 'uploads\/bob\/\{subject\}\/\*'/)
      grant = (user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'] })
      await request(strict.app).get('/creds').set('x-user', 'alice').expect(200)
      // Reads need no template: the rule is about where a write may land.
      grant = (user) => ({ subject: user, actions: ['name/cos:GetObject'], prefixes: [`public/${user}/*`] })
      await request(strict.app).get('/creds').set('x-user', 'alice').expect(200)
    } finally {
      await strict.close()
    }
  })

  it('{subject} must be a whole segment; a subject with ? is refused', async () => {
    grant = (user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: ['uploads/u-{subject}/*'] })
    assert.match(await refused(fixture, 'alice', 'prefix-shape'), /must be a whole segment/)
    grant = (user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'] })
    assert.match(await refused(fixture, 'a?ice', 'subject'), /must not contain '\?'/)
  })

  it('requireSubjectTemplates must be a boolean', () => {
    assert.throws(
      () =>
        createStsRouter({
          secretId: TEST_SECRET_ID,
          secretKey: TEST_SECRET_KEY,
          bucket: TEST_BUCKET,
          region: TEST_REGION,
          authorize: () => null,
          requireSubjectTemplates: 'yes' as unknown as boolean,
        }),
      { code: 'ERR_COS_STS_REQUIRE_SUBJECT_TEMPLATES', message: /option `requireSubjectTemplates` must be true or false/ },
    )
  })

  it('the audit reads {subject} like the router, and the older ${subject} with a given subject', () => {
    const template = auditGrant(
      { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'] },
      { bucket: TEST_BUCKET, region: TEST_REGION },
    )
    assert.deepEqual(
      template.rows.map((row) => [row.prefix, row.findings]),
      [['uploads/alice/*', []]],
    )
    assert.equal(template.errors + template.warnings, 0)
    const older = auditGrant(
      { subject: 'x', actions: ['name/cos:PutObject'], prefixes: ['uploads/${subject}/*'] },
      { bucket: TEST_BUCKET, region: TEST_REGION, subject: 'bob' },
    )
    assert.deepEqual(
      older.rows.map((row) => row.prefix),
      ['uploads/bob/*'],
    )
    assert.equal(older.errors + older.warnings, 0)
  })
})

describe('grant rules: anonymous-looking subjects', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture({
      authorize: (req) => ({ subject: req.get('x-subject') as string, actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'] }),
    })
  })
  after(() => fixture.close())

  for (const subject of ['user:undefined', 'null-null', 'u_NaN', 'UNDEFINED', 'Null', 'user:[object Object]', '[OBJECT Array]']) {
    it(`refuses ${subject}`, async () => {
      const res = await request(fixture.app).get('/creds').set('x-subject', subject).expect(500)
      assert.equal(fixture.errors.at(-1)?.rule, 'anonymous-subject')
      assert.doesNotMatch(res.body.error.message, /undefined|null|NaN|object/i)
    })
  }
  for (const subject of ['nullable', 'annan', 'nancy', 'undefinedness', 'u_42']) {
    it(`serves ${subject} (the words are only refused as whole tokens)`, async () => {
      await request(fixture.app).get('/creds').set('x-subject', subject).expect(200)
    })
  }
})

describe('grant rules: bucket-level actions', () => {
  let grant: (user: string) => unknown
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => grant(user))
  })
  after(() => fixture.close())

  for (const action of [
    'name/cos:PutBucketPolicy',
    'name/cos:PutBucketACL',
    'cos:DeleteBucket',
    'name/cos:PutBucketCORS',
    'name/cos:PutBucketLifecycle',
    'name/cos:DeleteBucketPolicy',
    'name/cos:PutBucket',
    'name/cos:GetBucketPolicy',
    'name/cos:GetBucketACL',
    'name/cos:GetService',
    'name/ci:SetAuditingPicture',
    'ci:CreateCIBucket',
  ]) {
    it(`refuses ${action} even on the user's own prefix`, async () => {
      grant = (user) => ({ subject: user, actions: ['name/cos:PutObject', action], prefixes: ['uploads/{subject}/*'] })
      assert.match(await refused(fixture, 'alice', 'bucket-config'), /configuration/)
    })
  }

  it("listing is granted on the statement's prefixes; a cos:prefix condition must stay inside them", async () => {
    grant = (user) => ({
      subject: user,
      actions: ['name/cos:GetBucket', 'name/cos:GetObject'],
      prefixes: ['uploads/{subject}/*'],
      condition: { string_equal: { 'cos:prefix': `uploads/${user}/` } },
    })
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    const issued = fixture.sts.findByToken(res.body.credentials.sessionToken)?.policy as CamPolicy
    const list = (prefix: string): boolean =>
      isAllowed(issued, { action: 'name/cos:GetBucket', bucket: TEST_BUCKET, region: TEST_REGION, key: prefix, context: { 'cos:prefix': prefix } })
    assert.equal(list('uploads/alice/'), true)
    assert.equal(list('uploads/bob/'), false)
    grant = (user) => ({
      subject: user,
      actions: ['name/cos:GetBucket'],
      prefixes: ['uploads/{subject}/*'],
      condition: { string_equal: { 'cos:prefix': ['uploads/'] } },
    })
    assert.match(await refused(fixture, 'alice', 'bucket-listing'), /cos:prefix 'uploads\/', outside the statement's prefixes 'uploads\/alice\/\*'/)
    // The whole bucket stays refused as a prefix, whatever the condition says.
    grant = (user) => ({ subject: user, actions: ['name/cos:GetBucket'], prefixes: ['*'], condition: { string_equal: { 'cos:prefix': `uploads/${user}/` } } })
    await refused(fixture, 'alice', 'prefix-shape')
  })
})

describe("grant rules: a statement's condition and the grant's both apply", () => {
  let grant: (user: string) => unknown
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => grant(user))
  })
  after(() => fixture.close())

  it('adding a type filter keeps the size limit: both reach STS and both hold', async () => {
    grant = (user) => ({
      subject: user,
      condition: maxBytes(1000),
      statements: [
        { actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'], condition: contentTypes(['image/*']) },
        { actions: ['name/cos:GetObject'], prefixes: ['uploads/{subject}/*'] },
      ],
    })
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(
      sentPolicy(fixture).statement.map((statement) => statement.condition),
      [
        { numeric_less_than_equal: { 'cos:content-length': 1000 }, string_like: { 'cos:content-type': 'image/*' } },
        { numeric_less_than_equal: { 'cos:content-length': 1000 } },
      ],
    )
    const issued = fixture.sts.findByToken(res.body.credentials.sessionToken)?.policy as CamPolicy
    const put = (context: Record<string, string | number>): boolean =>
      isAllowed(issued, { action: 'name/cos:PutObject', bucket: TEST_BUCKET, region: TEST_REGION, key: 'uploads/alice/a.png', context })
    assert.equal(put({ 'cos:content-length': 500, 'cos:content-type': 'image/png' }), true)
    assert.equal(put({ 'cos:content-length': 5000, 'cos:content-type': 'image/png' }), false, 'the size limit still applies')
    assert.equal(put({ 'cos:content-length': 500, 'cos:content-type': 'text/html' }), false)
  })

  it('the same bound twice is the tighter one; equality lists keep their common values; _not_ lists join', async () => {
    grant = (user) => ({
      subject: user,
      condition: {
        numeric_less_than_equal: { 'cos:content-length': 1000 },
        string_equal: { 'cos:x-cos-storage-class': ['STANDARD', 'STANDARD_IA'] },
        string_not_equal: { 'cos:x-cos-acl': 'public-read' },
      },
      statements: [
        {
          actions: ['name/cos:PutObject'],
          prefixes: ['uploads/{subject}/*'],
          condition: {
            numeric_less_than_equal: { 'cos:content-length': 10 },
            string_equal: { 'cos:x-cos-storage-class': ['STANDARD'] },
            string_not_equal: { 'cos:x-cos-acl': 'public-read-write' },
          },
        },
      ],
    })
    await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(sentPolicy(fixture).statement[0]!.condition, {
      numeric_less_than_equal: { 'cos:content-length': 10 },
      string_equal: { 'cos:x-cos-storage-class': ['STANDARD'] },
      string_not_equal: { 'cos:x-cos-acl': ['public-read', 'public-read-write'] },
    })
  })

  it('two that cannot be combined in one CAM block are refused, not silently narrowed or widened', async () => {
    grant = (user) => ({
      subject: user,
      condition: contentTypes(['image/*']),
      statements: [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'], condition: contentTypes(['video/*']) }],
    })
    assert.match(await refused(fixture, 'alice', 'condition-conflict'), /string_like on 'cos:content-type'/)
  })

  it("the audit shows each statement's effective condition", () => {
    const report = auditGrant(
      {
        subject: 'alice',
        condition: maxBytes(1000),
        statements: [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'], condition: contentTypes(['image/*']) }],
      },
      { bucket: TEST_BUCKET, region: TEST_REGION },
    )
    assert.deepEqual(report.conditions, [
      {
        statement: 'grant.statements[0]',
        condition: { numeric_less_than_equal: { 'cos:content-length': 1000 }, string_like: { 'cos:content-type': 'image/*' } },
      },
    ])
    assert.deepEqual(report.policy?.statement[0]!.condition, report.conditions[0]!.condition)
  })
})

describe('grant rules: 数据万象 (CI) moderation jobs', () => {
  let grant: (user: string) => unknown
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => grant(user))
  })
  after(() => fixture.close())

  it("actionSets.moderation on the user's uploads is served with CI resources in CI's own form", async () => {
    grant = (user) => ({
      subject: user,
      statements: [
        { actions: [...actionSets.simpleUpload], prefixes: ['uploads/{subject}/*'] },
        { actions: [...actionSets.moderation], prefixes: ['uploads/{subject}/*'] },
      ],
    })
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(sentPolicy(fixture).statement[1], { effect: 'allow', action: [...actionSets.moderation], resource: [`${CI_RESOURCE}uploads/alice/*`] })
    const issued = fixture.sts.findByToken(res.body.credentials.sessionToken)?.policy as CamPolicy
    const ci = (action: string, key: string): boolean => isAllowed(issued, { action, bucket: TEST_BUCKET, region: TEST_REGION, key })
    assert.equal(ci('ci:CreateAuditingPictureJob', 'uploads/alice/a.png'), true)
    assert.equal(ci('name/ci:CreateAuditingPictureJob', 'uploads/bob/a.png'), false)
    assert.equal(ci('name/ci:CreateMediaJobs', 'uploads/alice/a.png'), false, 'not granted')
    // A COS statement does not reach CI, nor a CI statement COS.
    assert.equal(ci('name/cos:GetObject', 'uploads/alice/a.png'), false)
  })

  it('job/* may be named for job reads; unknown CI names and CI configuration are refused', async () => {
    grant = (user) => ({ subject: user, actions: ['name/ci:DescribeAuditingTextJob'], prefixes: ['job/*'] })
    await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(sentPolicy(fixture).statement[0]!.resource, [`${CI_RESOURCE}job/*`])
    grant = (user) => ({ subject: user, actions: ['name/ci:CreateAuditingJob'], prefixes: ['uploads/{subject}/*'] })
    await refused(fixture, 'alice', 'unknown-action')
    grant = (user) => ({ subject: user, actions: ['name/ci:SetAuditingVideo'], prefixes: ['uploads/{subject}/*'] })
    await refused(fixture, 'alice', 'bucket-config')
  })

  it('the audit shows CI cells with CI resources', () => {
    const report = auditGrant(
      { subject: 'alice', actions: ['ci:CreateAuditingTextJob'], prefixes: ['uploads/{subject}/*'] },
      { bucket: TEST_BUCKET, region: TEST_REGION },
    )
    assert.deepEqual(
      report.rows.map((row) => [row.action, row.resource, row.write]),
      [['name/ci:CreateAuditingTextJob', `${CI_RESOURCE}uploads/alice/*`, false]],
    )
    assert.equal(normalizeAction('ci:createauditingtextjob'), undefined, 'names are case-sensitive')
  })
})

describe('grant rules: condition keys', () => {
  let fixture: Fixture
  let condition: unknown
  before(async () => {
    fixture = await storyFixture((user) => ({ subject: user, actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'], condition }))
  })
  after(() => fixture.close())

  it('a misspelt key is refused with the key it should be', async () => {
    for (const [bad, meant] of [
      ['cos:content_length', 'cos:content-length'],
      ['cos:Content-Type', 'cos:content-type'],
      ['qcs:ips', 'qcs:ip'],
      ['cos:x-cos-storage_class', 'cos:x-cos-storage-class'],
    ] as const) {
      condition = { numeric_less_than_equal: { [bad]: 10 } }
      assert.match(await refused(fixture, 'alice', 'condition'), new RegExp(`unknown condition key "${bad}"; did you mean '${meant}'`))
    }
    condition = { string_equal: { 'cos:something-else': 'x' } }
    assert.match(
      await refused(fixture, 'alice', 'condition'),
      /unknown condition key "cos:something-else" \(COS would refuse every request; the documented keys are qcs:ip, /,
    )
  })

  it('every documented key is accepted', async () => {
    condition = {
      string_equal: {
        'cos:x-cos-storage-class': 'STANDARD',
        'cos:x-cos-acl': 'private',
        'cos:versionid': 'v1',
        'cos:response-content-type': 'image/png',
        'vpc:requester_vpc': 'vpc-1',
        'qcs:vpc': 'vpc-1',
      },
      bool_equal: { 'cos:secure-transport': true },
      numeric_greater_than_equal: { 'cos:tls-version': 1.2 },
    }
    await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
  })
})

describe('grant rules: the table and its docs', () => {
  it('every rule has its heading in docs/security.md, where its messages link', () => {
    const headings = new Set(
      readFileSync('docs/security.md', 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('### '))
        .map((line) => line.slice(4).trim()),
    )
    const missing = Object.keys(GRANT_RULES).filter((rule) => !headings.has(rule))
    assert.deepEqual(missing, [])
    for (const [rule, info] of Object.entries(GRANT_RULES)) assert.ok(info.summary.length > 0 && info.fix.length > 0, rule)
  })
})
