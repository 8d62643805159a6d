// Least-privilege guard: Tencent's four bad examples told as stories (wrong grant refused, right one served), the write rule, limits, warnings.
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import { actionSets, allConditions, contentTypes, isAllowed, maxBytes, sourceIps } from '../src/index.js'
import { encodedPolicyLength, GRANT_LIMITS } from '../src/grant/limits.js'
import { planGrant, reviewGrant, type PlanDefaults } from '../src/grant/plan.js'
import { holdsSubject } from '../src/grant/subject.js'
import { buildPolicy } from '../src/policy.js'
import type { CamPolicy, Grant } from '../src/types.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`
const DEFAULTS: PlanDefaults = { bucket: TEST_BUCKET, region: TEST_REGION, durationSeconds: 1800, assumeRole: false }

/** May the key STS issued for this answer do `action` on `key`? Judged by the simulator on the policy STS received. */
function keyAllows(fixture: Fixture, res: request.Response, action: string, key: string, context?: Record<string, string | number>): boolean {
  const issued = fixture.sts.findByToken(res.body.credentials.sessionToken)
  assert.ok(issued, 'the served key is one STS issued')
  return isAllowed(issued.policy as CamPolicy, { action, bucket: TEST_BUCKET, region: TEST_REGION, key, ...(context && { context }) })
}

/** A fixture whose authorize returns whatever `grantFor(user)` says; `x-user` names the signed-in user. */
async function storyFixture(grantFor: (user: string) => unknown): Promise<Fixture> {
  return startFixture({
    authorize: (req) => {
      const user = req.get('x-user')
      return user ? (grantFor(user) as Grant) : null
    },
  })
}

/** The refusal's full message (what onError got); the caller's answer is generic, with the same reference. */
async function expectRefused(fixture: Fixture, user: string, rule: string): Promise<string> {
  const before = fixture.sts.calls.length
  const res = await request(fixture.app).get('/creds').set('x-user', user).expect(500)
  assert.equal(res.body.error.code, 'InvalidGrant')
  assert.equal(fixture.sts.calls.length, before, 'STS must not be called for a refused grant')
  // The router's error handler tells onError and the logger the rule, its docs and the fix.
  const event = fixture.errors.at(-1)
  assert.equal(event?.code, 'InvalidGrant')
  assert.match(event.message, new RegExp(`\\(rule: ${rule}\\)`))
  assert.match(event.message, /Fix: \S/)
  assert.equal(event.rule, rule)
  assert.equal(event.docs, `docs/security.md#${rule}`)
  assert.match(event.ref ?? '', /^[A-Za-z0-9_-]{8}$/)
  assert.ok(
    fixture.logger.lines.some(
      (line) => line.level === 'error' && line.message.includes(`rule: ${rule}`) && (line.details as { ref?: string }).ref === event.ref,
    ),
  )
  // The caller sees neither the rule's message nor the bucket layout, only the reference to quote.
  assert.equal(res.body.error.message, `The server refused to issue this key: its grant breaks a least-privilege rule. (ref: ${event.ref})`)
  assert.doesNotMatch(JSON.stringify(res.body), /rule:|Fix:|uploads\/|app\/|forum\/|\/\*/)
  return event.message
}

describe('guard: bad example 1, excessive resource (avatars)', () => {
  // Every user uploads a profile photo. The lazy grant names the whole avatar folder.
  let wrong = true
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => ({
      subject: user,
      actions: actionSets.simpleUpload,
      prefixes: [wrong ? 'app/avatar/*' : 'app/avatar/{subject}/*'],
    }))
  })
  after(() => fixture.close())

  it("app/avatar/* for every user is refused: it would let alice overwrite bob's avatar", async () => {
    wrong = true
    const lazy = buildPolicy(planGrant({ subject: 'alice', actions: [...actionSets.simpleUpload], prefixes: ['app/avatar/alice/*'] }, DEFAULTS))
    // What the lazy grant would have meant, checked with the simulator: bob's avatar is writable.
    const lazyPolicy: CamPolicy = { ...lazy, statement: lazy.statement.map((s) => ({ ...s, resource: [`${RESOURCE}app/avatar/*`] })) }
    assert.equal(isAllowed(lazyPolicy, { action: 'name/cos:PutObject', bucket: TEST_BUCKET, region: TEST_REGION, key: 'app/avatar/bob/avatar.jpg' }), true)

    const message = await expectRefused(fixture, 'alice', 'write-outside-subject')
    assert.match(message, /^grant lets 'alice' name\/cos:PutObject, name\/cos:PostObject on 'app\/avatar\/\*'/)
    assert.match(message, /Fix: .*'app\/avatar\/alice\/\*'/)
  })

  it("app/avatar/<user>/* is served, and the key cannot touch another user's avatar", async () => {
    wrong = false
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(fixture.sts.calls.at(-1)?.policy, {
      version: '2.0',
      statement: [{ effect: 'allow', action: ['name/cos:PutObject', 'name/cos:PostObject'], resource: [`${RESOURCE}app/avatar/alice/*`] }],
    })
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'app/avatar/alice/avatar_m.jpg'), true)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'app/avatar/bob/avatar_m.jpg'), false)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'app/avatar/alice2/avatar_m.jpg'), false)
  })

  it("exact keys named <user>_m.jpg are refused for writes: alice_m.jpg is also user alice_m's avatar", () => {
    const grant = { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['app/avatar/alice.jpg', 'app/avatar/alice_m.jpg'] }
    const { findings } = reviewGrant(grant, DEFAULTS)
    assert.deepEqual(
      findings.map((f) => [f.rule, f.prefix]),
      [
        ['write-outside-subject', 'app/avatar/alice.jpg'],
        ['write-outside-subject', 'app/avatar/alice_m.jpg'],
      ],
    )
    assert.match(findings[0]!.fix, /'app\/avatar\/alice\/avatar\.jpg'/)
    assert.match(findings[1]!.fix, /'app\/avatar\/alice\/m\.jpg'/)
    assert.doesNotThrow(() => planGrant({ ...grant, prefixes: ['app/avatar/alice/avatar.jpg', 'app/avatar/alice/m.jpg'] }, DEFAULTS))
  })
})

describe('guard: bad example 2, excessive action (photo wall)', () => {
  // A public photo wall lists and shows photos. The lazy grant allows every COS action.
  let actions: readonly string[] = []
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => ({ subject: user, actions, prefixes: ['app/photos/*'] }))
  })
  after(() => fixture.close())

  it('name/cos:* is refused: it would let a viewer upload and delete photos', async () => {
    actions = ['name/cos:*']
    const message = await expectRefused(fixture, 'alice', 'wildcard-action')
    assert.match(message, /grant\.actions\[0\] 'name\/cos:\*' is a wildcard/)
    for (const wildcard of ['cos:*', '*', 'name/cos:Get*']) {
      actions = [wildcard]
      await expectRefused(fixture, 'alice', 'wildcard-action')
    }
    actions = ['name/cos:GetObjects']
    await expectRefused(fixture, 'alice', 'unknown-action')
    actions = ['name/cos:getobject']
    await expectRefused(fixture, 'alice', 'unknown-action')
  })

  it('GetBucket + GetObject is served, and the key can read but not write or delete', async () => {
    actions = [...actionSets.list, ...actionSets.download]
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(res.body.scope, [{ actions: ['name/cos:GetBucket', 'name/cos:GetObject', 'name/cos:HeadObject'], prefixes: ['app/photos/*'] }])
    assert.equal(keyAllows(fixture, res, 'name/cos:GetObject', 'app/photos/bob/sunset.jpg'), true)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'app/photos/bob/sunset.jpg'), false)
    assert.equal(keyAllows(fixture, res, 'name/cos:DeleteObject', 'app/photos/bob/sunset.jpg'), false)
  })
})

describe('guard: bad example 3, actions and resources joined (file manager)', () => {
  // Users list and download everyone's files but upload and delete only their own.
  let joined = true
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => ({
      subject: user,
      statements: joined
        ? [
            {
              actions: ['name/cos:GetBucket', 'name/cos:GetObject', 'name/cos:PutObject', 'name/cos:DeleteObject'],
              prefixes: ['app/files/*', 'app/files/{subject}/*'],
            },
          ]
        : [
            { actions: ['name/cos:GetBucket', 'name/cos:GetObject'], prefixes: ['app/files/*'], shared: true },
            { actions: ['name/cos:PutObject', 'name/cos:DeleteObject'], prefixes: ['app/files/{subject}/*'] },
          ],
    }))
  })
  after(() => fixture.close())

  it("one merged statement is refused: it grants upload and delete on everyone's files; the fix says to split it", async () => {
    joined = true
    const message = await expectRefused(fixture, 'alice', 'write-outside-subject')
    assert.match(message, /^grant\.statements\[0\] lets 'alice' name\/cos:PutObject, name\/cos:DeleteObject on 'app\/files\/\*'/)
    assert.match(
      message,
      /Fix: do not join actions and resources in one statement: keep name\/cos:GetBucket, name\/cos:GetObject on 'app\/files\/\*' .* on 'app\/files\/alice\/\*'/,
    )
  })

  it('split statements are served, and the policy keeps them apart', async () => {
    joined = false
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    assert.deepEqual(fixture.sts.calls.at(-1)?.policy, {
      version: '2.0',
      statement: [
        { effect: 'allow', action: ['name/cos:GetBucket', 'name/cos:GetObject'], resource: [`${RESOURCE}app/files/*`] },
        { effect: 'allow', action: ['name/cos:PutObject', 'name/cos:DeleteObject'], resource: [`${RESOURCE}app/files/alice/*`] },
      ],
    })
    assert.equal(keyAllows(fixture, res, 'name/cos:GetObject', 'app/files/bob/report.pdf'), true)
    assert.equal(keyAllows(fixture, res, 'name/cos:DeleteObject', 'app/files/bob/report.pdf'), false)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'app/files/bob/report.pdf'), false)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'app/files/alice/report.pdf'), true)
  })

  it('identical action lists on different prefixes stay separate statements', () => {
    const plan = planGrant(
      {
        subject: 'alice',
        statements: [
          { actions: ['name/cos:PutObject'], prefixes: ['app/files/alice/*'], condition: maxBytes(1000) },
          { actions: ['name/cos:PutObject'], prefixes: ['app/photos/alice/*'] },
        ],
      },
      DEFAULTS,
    )
    const policy = buildPolicy(plan)
    assert.equal(policy.statement.length, 2)
    // Merging them would have carried the size limit to photos, or dropped it from files.
    assert.equal(
      isAllowed(policy, {
        action: 'name/cos:PutObject',
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        key: 'app/files/alice/big',
        context: { 'cos:content-length': 5000 },
      }),
      false,
    )
    assert.equal(
      isAllowed(policy, {
        action: 'name/cos:PutObject',
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        key: 'app/photos/alice/big',
        context: { 'cos:content-length': 5000 },
      }),
      true,
    )
  })
})

describe('guard: bad example 4, keys for requesters nobody checked (forum)', () => {
  // A forum lets signed-in members attach images. Sessions are a toy token → user map.
  const sessions = new Map([
    ['token-alice', 'alice'],
    ['token-bob', 'bob'],
  ])
  let checked = true
  let fixture: Fixture
  let app: express.Express
  before(async () => {
    fixture = await startFixture({
      authorize: (req) => {
        const user = (req as express.Request & { user?: string }).user
        if (checked) return user ? { subject: user, actions: [...actionSets.simpleUpload], prefixes: ['forum/attachments/{subject}/*'] } : null
        // The bug Tencent describes: a grant built without looking whether anyone signed in.
        return { subject: String(user), actions: [...actionSets.simpleUpload], prefixes: [`forum/attachments/${String(user)}/*`] }
      },
    })
    app = express()
    app.use((req, _res, next) => {
      const user = sessions.get(req.get('authorization')?.replace(/^Bearer /, '') ?? '')
      if (user !== undefined) Object.assign(req, { user })
      next()
    })
    app.use('/creds', fixture.router)
  })
  after(() => fixture.close())
  beforeEach(() => {
    checked = true
  })

  it('an anonymous request is a 401 and STS is never asked, before and after members got keys', async () => {
    const before = fixture.sts.calls.length
    for (const headers of [{}, { authorization: 'Bearer forged' }, { authorization: 'Bearer ' }]) {
      const res = await request(app).get('/creds').set(headers).expect(401)
      assert.equal(res.body.error.code, 'Unauthenticated')
      assert.equal(res.body.credentials, undefined)
    }
    assert.equal(fixture.sts.calls.length, before)

    const alice = await request(app).get('/creds').set('authorization', 'Bearer token-alice').expect(200)
    const bob = await request(app).get('/creds').set('authorization', 'Bearer token-bob').expect(200)
    assert.notEqual(alice.body.credentials.sessionToken, bob.body.credentials.sessionToken)
    assert.equal(keyAllows(fixture, alice, 'name/cos:PutObject', 'forum/attachments/bob/x.png'), false)
    const anonymous = await request(app)
      .post('/creds')
      .send({ scope: [{ action: 'name/cos:PutObject', prefix: 'forum/attachments/alice/x.png' }] })
      .expect(401)
    assert.equal(anonymous.body.credentials, undefined)
  })

  it('a grant built for nobody (subject "undefined") is refused, not issued', async () => {
    checked = false
    const before = fixture.sts.calls.length
    const res = await request(app).get('/creds').expect(500)
    assert.equal(res.body.error.code, 'InvalidGrant')
    assert.match(fixture.errors.at(-1)?.message ?? '', /grant\.subject is 'undefined'.*\(rule: anonymous-subject\)\. Fix: return null from authorize/)
    assert.doesNotMatch(res.body.error.message, /undefined|forum/)
    assert.equal(fixture.sts.calls.length, before)
    for (const subject of ['null', 'NaN', '[object Object]']) {
      assert.throws(() => planGrant({ subject, actions: ['name/cos:GetObject'], prefixes: ['public/*'] }, DEFAULTS), /rule: anonymous-subject/)
    }
  })
})

describe('guard: the write rule', () => {
  const writes = (subject: string, prefix: string, shared = false): string[] =>
    reviewGrant({ subject, statements: [{ actions: ['name/cos:PutObject'], prefixes: [prefix], shared }] }, DEFAULTS).findings.map(
      (f) => `${f.severity}:${f.rule}`,
    )

  const table: Array<[string, string, boolean]> = [
    ['alice', 'uploads/alice/*', true],
    ['alice', 'uploads/alice/photos/*', true],
    ['alice', 'alice/*', true],
    ['alice', 'uploads/alice/', true],
    ['alice', 'uploads/alice', true],
    ['alice', 'uploads/alice/avatar.jpg', true],
    ['alice', 'uploads/alice2/*', false],
    ['alice', 'uploads/alice-x/*', false],
    ['alice', 'uploads/malice/*', false],
    ['alice', 'uploads/Alice/*', false],
    ['alice', 'uploads/alice*', false],
    ['alice', 'uploads/*', false],
    ['alice', 'app/avatar/*', false],
    ['alice', 'avatars/alice.jpg', false],
    ['alice', 'uploads/alice.bak/*', false],
    ['爱丽丝', 'uploads/爱丽丝/*', true],
    ['爱丽丝', 'uploads/爱丽丝2/*', false],
    ['u.1', 'uploads/u.1/*', true],
    ['u.1', 'uploads/u.12/*', false],
  ]
  for (const [subject, prefix, ok] of table) {
    it(`${subject} writing ${prefix} → ${ok ? 'accepted' : 'refused'}`, () => {
      assert.equal(holdsSubject(prefix, subject), ok)
      // A literal prefix passes with a warning naming the template; the template itself passes clean.
      assert.deepEqual(writes(subject, prefix), ok ? ['warning:literal-subject-prefix'] : ['error:write-outside-subject'])
      if (ok)
        assert.deepEqual(
          writes(
            subject,
            prefix
              .split('/')
              .map((s) => (s === subject ? '{subject}' : s))
              .join('/'),
          ),
          [],
        )
    })
  }

  it('every write-type action counts (multipart, delete, ACL, tagging, append); reads go anywhere', () => {
    for (const action of [
      'name/cos:AppendObject',
      'name/cos:DeleteObject',
      'name/cos:InitiateMultipartUpload',
      'name/cos:UploadPart',
      'name/cos:CompleteMultipartUpload',
      'name/cos:AbortMultipartUpload',
      'name/cos:PutObjectACL',
      'name/cos:PutObjectTagging',
      'name/cos:DeleteMultipleObjects',
    ]) {
      assert.throws(() => planGrant({ subject: 'alice', actions: [action], prefixes: ['shared/*'] }, DEFAULTS), /rule: write-outside-subject/, action)
    }
    for (const action of [...actionSets.download, ...actionSets.list, 'name/cos:ListParts', 'name/cos:ListMultipartUploads']) {
      assert.doesNotThrow(() => planGrant({ subject: 'alice', actions: [action], prefixes: ['shared/*'] }, DEFAULTS), action)
    }
  })

  it('shared: true turns the refusal into a warning; a read-only shared statement has none', () => {
    assert.deepEqual(writes('alice', 'app/public/*', true), ['warning:shared-write'])
    assert.deepEqual(writes('alice', 'uploads/{subject}/*', true), [])
    assert.throws(
      () =>
        planGrant(
          { subject: 'alice', statements: [{ actions: ['name/cos:PutObject'], prefixes: ['app/public/*'], shared: 'yes' as unknown as boolean }] },
          DEFAULTS,
        ),
      /shared must be true or false.*rule: grant-shape/,
    )
  })

  it('a misspelt field is refused rather than silently dropping a restriction', () => {
    assert.throws(
      () =>
        planGrant({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'], conditon: maxBytes(10) } as unknown as Grant, DEFAULTS),
      /grant has an unknown field "conditon" \(rule: grant-shape\)\. Fix: the fields are subject, actions, prefixes, condition/,
    )
    assert.throws(
      () =>
        planGrant(
          { subject: 'alice', statements: [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'], sharde: true }] } as unknown as Grant,
          DEFAULTS,
        ),
      /grant\.statements\[0\] has an unknown field "sharde"/,
    )
  })
})

describe('guard: shared write prefixes warn once', () => {
  let fixture: Fixture
  before(async () => {
    // The shared statement comes first for alice and second for bob: same content, one warning.
    fixture = await storyFixture((user) => {
      const statements = [
        { actions: ['name/cos:PutObject'], prefixes: ['app/guestbook/*'], shared: true },
        { actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'] },
      ]
      return { subject: user, statements: user === 'alice' ? statements : statements.reverse() }
    })
  })
  after(() => fixture.close())

  it('logs one warning across many requests and users, and still serves every request', async () => {
    await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    for (let i = 0; i < 12; i++) {
      await request(fixture.app)
        .get('/creds')
        .set('x-user', i % 2 === 0 ? 'alice' : 'bob')
        .expect(200)
    }
    const warnings = fixture.logger.lines.filter((line) => line.level === 'warn')
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!.message, /grant\.statements\[0\] lets every user name\/cos:PutObject on 'app\/guestbook\/\*' \(shared: true\)/)
    assert.deepEqual(warnings[0]!.details, {
      rule: 'shared-write',
      statement: 'grant.statements[0]',
      actions: ['name/cos:PutObject'],
      prefix: 'app/guestbook/*',
    })
    // Logged once for every user, so it names none of them.
    assert.match(warnings[0]!.message, /e\.g\. 'app\/guestbook\/\{subject\}\/\*'/)
    assert.doesNotMatch(warnings[0]!.message, /alice|bob/)
    assert.equal(fixture.errors.length, 0)
  })

  it('a different shared prefix is its own warning; a router of its own warns afresh', async () => {
    const other = await storyFixture((user) => ({
      subject: user,
      statements: [{ actions: ['name/cos:PutObject'], prefixes: ['app/guestbook/*', 'app/wall/*'], shared: true }],
    }))
    try {
      for (let i = 0; i < 3; i++) await request(other.app).get('/creds').set('x-user', 'alice').expect(200)
      const prefixes = other.logger.lines.filter((line) => line.level === 'warn').map((line) => (line.details as { prefix: string }).prefix)
      assert.deepEqual(prefixes, ['app/guestbook/*', 'app/wall/*'])
    } finally {
      await other.close()
    }
  })
})

describe('guard: limits', () => {
  const statement = (i: number) => ({ actions: ['name/cos:GetObject'], prefixes: [`s${i}/alice/*`] })

  it(`at most ${GRANT_LIMITS.statements} statements`, () => {
    assert.doesNotThrow(() => planGrant({ subject: 'alice', statements: Array.from({ length: 20 }, (_, i) => statement(i)) }, DEFAULTS))
    assert.throws(
      () => planGrant({ subject: 'alice', statements: Array.from({ length: 21 }, (_, i) => statement(i)) }, DEFAULTS),
      /grant has 21 statements, over the limit of 20 \(rule: too-many-statements\)/,
    )
  })

  it(`at most ${GRANT_LIMITS.prefixesPerStatement} prefixes and ${GRANT_LIMITS.actionsPerStatement} actions per statement`, () => {
    const prefixes = (n: number) => Array.from({ length: n }, (_, i) => `p/alice/${i}`)
    assert.doesNotThrow(() => planGrant({ subject: 'alice', actions: ['name/cos:GetObject'], prefixes: prefixes(20) }, DEFAULTS))
    assert.throws(
      () => planGrant({ subject: 'alice', actions: ['name/cos:GetObject'], prefixes: prefixes(21) }, DEFAULTS),
      /grant has 21 prefixes, over the limit of 20 \(rule: too-many-prefixes\)/,
    )
    const actions = (n: number) => Array.from({ length: n }, () => 'name/cos:GetObject')
    assert.doesNotThrow(() => planGrant({ subject: 'alice', actions: actions(30), prefixes: ['p/alice/*'] }, DEFAULTS))
    assert.throws(
      () => planGrant({ subject: 'alice', statements: [{ actions: actions(31), prefixes: ['p/alice/*'] }] }, DEFAULTS),
      /grant\.statements\[0\] has 31 actions, over the limit of 30 \(rule: too-many-actions\)/,
    )
  })

  it(`the policy stays within ${GRANT_LIMITS.policyEncodedChars} URL-encoded characters, and the local STS accepts one at the cap`, async () => {
    // Pad one exact key so the encoded policy is exactly at the cap, then one character over.
    const grantOf = (padding: number): Grant => ({
      subject: 'alice',
      actions: ['name/cos:GetObject'],
      prefixes: Array.from({ length: 10 }, (_, i) => `p/alice/${i}-${'a'.repeat(i === 0 ? padding : 400)}`),
    })
    const base = encodedPolicyLength(buildPolicy(planGrant(grantOf(0), DEFAULTS)))
    const atCap = grantOf(GRANT_LIMITS.policyEncodedChars - base)
    assert.equal(encodedPolicyLength(buildPolicy(planGrant(atCap, DEFAULTS))), GRANT_LIMITS.policyEncodedChars)
    assert.throws(
      () => planGrant(grantOf(GRANT_LIMITS.policyEncodedChars - base + 1), DEFAULTS),
      /policy is 5121 characters URL-encoded, over the 5120 .* \(rule: policy-too-large\)/,
    )

    const fixture = await startFixture({ authorize: () => atCap })
    try {
      await request(fixture.app).get('/creds').expect(200)
      assert.equal(fixture.sts.calls.at(-1)?.outcome, 'ok')
    } finally {
      await fixture.close()
    }
  })

  it('a huge grant is refused at its count, before any item is looked at', () => {
    const huge = { subject: 'alice', actions: ['name/cos:GetObject'], prefixes: Array.from({ length: 100_000 }, () => '*') }
    assert.throws(() => planGrant(huge, DEFAULTS), /rule: too-many-prefixes/)
  })
})

describe('guard: conditions', () => {
  let condition: unknown
  let fixture: Fixture
  before(async () => {
    fixture = await storyFixture((user) => ({ subject: user, actions: [...actionSets.simpleUpload], prefixes: ['uploads/{subject}/*'], condition }))
  })
  after(() => fixture.close())

  it('the helpers build operator → key → value(s) blocks that reach STS as given', async () => {
    condition = allConditions(maxBytes(5 * 1024 * 1024), contentTypes(['image/*']), sourceIps(['203.0.113.0/24']))
    const res = await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
    const sent = fixture.sts.calls.at(-1)?.policy as CamPolicy
    assert.deepEqual(sent.statement[0]!.condition, {
      numeric_less_than_equal: { 'cos:content-length': 5242880 },
      string_like: { 'cos:content-type': 'image/*' },
      ip_equal: { 'qcs:ip': ['203.0.113.0/24'] },
    })
    const ok = { 'cos:content-length': 1000, 'cos:content-type': 'image/png', 'qcs:ip': '203.0.113.9' }
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'uploads/alice/a.png', ok), true)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'uploads/alice/a.png', { ...ok, 'cos:content-length': 6 * 1024 * 1024 }), false)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'uploads/alice/a.png', { ...ok, 'cos:content-type': 'text/html' }), false)
    assert.equal(keyAllows(fixture, res, 'name/cos:PutObject', 'uploads/alice/a.png', { ...ok, 'qcs:ip': '198.51.100.1' }), false)
  })

  it('a condition that is not operator → key → value(s) is refused', async () => {
    for (const bad of [
      { 'cos:content-length': 5 },
      { numeric_less_than_equal: 5 },
      { numeric_less_than_equal: { 'content-length': 5 } },
      { numeric_less_than_equal: { 'cos:content-length': 'big' } },
      { numeric_lte: { 'cos:content-length': 5 } },
    ]) {
      condition = bad
      await expectRefused(fixture, 'alice', 'condition')
    }
  })
})
