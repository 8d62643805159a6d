// auditGrant: the action × resource matrix ("3 actions and 2 resources are 6 scenarios"), every finding at once, the router's own verdict.
import assert from 'node:assert/strict'
import request from 'supertest'
import { auditGrant, isAllowed, type AuditOptions } from '../src/index.js'
import { planGrant } from '../src/grant/plan.js'
import { buildPolicy } from '../src/policy.js'
import type { Grant } from '../src/types.js'
import { startFixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const OPTIONS: AuditOptions = { bucket: TEST_BUCKET, region: TEST_REGION }
const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`

describe('audit', () => {
  it('3 actions on 2 resources are 6 rows, each with its own verdict', () => {
    const report = auditGrant(
      {
        subject: 'alice',
        statements: [{ actions: ['name/cos:GetBucket', 'name/cos:GetObject', 'name/cos:PutObject'], prefixes: ['app/files/*', 'app/files/{subject}/*'] }],
      },
      OPTIONS,
    )
    assert.equal(report.rows.length, 6)
    assert.deepEqual(
      report.rows.map((row) => [row.action, row.prefix, row.write, row.findings]),
      [
        ['name/cos:GetBucket', 'app/files/*', false, ['read-outside-subject']],
        ['name/cos:GetBucket', 'app/files/alice/*', false, []],
        ['name/cos:GetObject', 'app/files/*', false, ['read-outside-subject']],
        ['name/cos:GetObject', 'app/files/alice/*', false, []],
        ['name/cos:PutObject', 'app/files/*', true, ['write-outside-subject']],
        ['name/cos:PutObject', 'app/files/alice/*', true, []],
      ],
    )
    assert.ok(report.rows.every((row) => row.statement === 'grant.statements[0]' && row.resource === RESOURCE + row.prefix))
    assert.deepEqual(
      report.findings.map((f) => [f.severity, f.rule, f.statement, f.prefix, f.actions]),
      [
        ['error', 'write-outside-subject', 'grant.statements[0]', 'app/files/*', ['name/cos:PutObject']],
        ['warning', 'read-outside-subject', 'grant.statements[0]', 'app/files/*', ['name/cos:GetBucket', 'name/cos:GetObject']],
      ],
    )
    assert.equal(report.errors, 1)
    assert.equal(report.warnings, 1)
    assert.equal(report.policy, undefined, 'no policy for a grant the router refuses')
  })

  it('collects every violation instead of stopping at the first, and still shows the bad cells', () => {
    const report = auditGrant(
      {
        subject: 'alice',
        conditon: { numeric_less_than_equal: { 'cos:content-length': 10 } },
        durationSeconds: 10,
        statements: [
          { actions: ['name/cos:*', 'name/cos:PutObject'], prefixes: ['app/avatar/*', 'u/*/x'] },
          { actions: ['name/cos:GetObjects'], prefixes: ['uploads/alice/*'], condition: { numeric_lte: { 'cos:content-length': 1 } } },
        ],
      },
      OPTIONS,
    )
    assert.deepEqual(
      report.findings.map((f) => `${f.severity} ${f.rule} ${f.statement}`),
      [
        'error grant-shape grant',
        'error duration grant',
        'error wildcard-action grant.statements[0]',
        'error prefix-shape grant.statements[0]',
        'error condition grant.statements[1]',
        'error unknown-action grant.statements[1]',
        'error write-outside-subject grant.statements[0]',
      ],
    )
    assert.deepEqual(
      report.rows.map((row) => [row.action, row.prefix, row.findings]),
      [
        ['name/cos:*', 'app/avatar/*', ['wildcard-action']],
        ['name/cos:*', 'u/*/x', ['wildcard-action', 'prefix-shape']],
        ['name/cos:PutObject', 'app/avatar/*', ['write-outside-subject']],
        ['name/cos:PutObject', 'u/*/x', ['prefix-shape']],
        ['name/cos:GetObjects', 'uploads/alice/*', ['unknown-action']],
      ],
    )
    assert.equal(report.errors, 7)
    for (const finding of report.findings) {
      assert.ok(finding.message.length > 0 && finding.fix.length > 0, finding.rule)
    }
  })

  it('agrees with the router: the first audit error is the InvalidGrant message the router reports (the caller sees only a reference)', async () => {
    const grant: Grant = {
      subject: 'alice',
      statements: [
        { actions: ['name/cos:GetObject'], prefixes: ['public/*'] },
        { actions: ['name/cos:PutObject', 'name/cos:DeleteObject'], prefixes: ['uploads/*'] },
      ],
    }
    const report = auditGrant(grant, OPTIONS)
    const first = report.findings.find((f) => f.severity === 'error')
    assert.ok(first)
    const fixture = await startFixture({ authorize: () => grant })
    try {
      const res = await request(fixture.app).get('/creds').expect(500)
      assert.equal(fixture.errors.at(-1)?.message, `${first.message} (rule: ${first.rule}). Fix: ${first.fix}. See docs/security.md#${first.rule}`)
      assert.equal(fixture.errors.at(-1)?.rule, first.rule)
      assert.match(res.body.error.message, /^The server refused to issue this key: .* \(ref: [A-Za-z0-9_-]{8}\)$/)
      assert.doesNotMatch(res.body.error.message, /uploads|public/)
    } finally {
      await fixture.close()
    }
  })

  it('returns the exact policy the router sends for a clean grant, with its encoded length', async () => {
    const grant: Grant = {
      subject: 'alice',
      condition: { numeric_less_than_equal: { 'cos:content-length': 1000 } },
      statements: [
        { actions: ['name/cos:GetObject'], prefixes: ['public/*'], shared: true },
        { actions: ['cos:PutObject', 'name/cos:PutObject'], prefixes: ['uploads/{subject}/*', 'uploads/alice/*'] },
      ],
    }
    const report = auditGrant(grant, OPTIONS)
    assert.deepEqual(report.findings, [])
    assert.equal(report.errors + report.warnings, 0)
    // Duplicates collapse as in the router: one PutObject row.
    assert.equal(report.rows.length, 2)
    const fixture = await startFixture({ authorize: () => grant })
    try {
      await request(fixture.app).get('/creds').expect(200)
      assert.deepEqual(report.policy, fixture.sts.calls.at(-1)?.policy)
      assert.equal(report.policyLength, encodeURIComponent(JSON.stringify(fixture.sts.calls.at(-1)?.policy)).length)
    } finally {
      await fixture.close()
    }
    assert.ok(report.policy)
    assert.equal(
      isAllowed(report.policy, {
        action: 'name/cos:PutObject',
        bucket: TEST_BUCKET,
        region: TEST_REGION,
        key: 'uploads/alice/a',
        context: { 'cos:content-length': 1 },
      }),
      true,
    )
  })

  it("audits as a given subject: ${subject} placeholders filled, the grant's subject replaced", () => {
    const grant = { subject: 'template', actions: ['name/cos:PutObject'], prefixes: ['uploads/${subject}/*'] }
    const asAlice = auditGrant(grant, { ...OPTIONS, subject: 'alice' })
    assert.equal(asAlice.subject, 'alice')
    assert.deepEqual(
      asAlice.rows.map((row) => row.prefix),
      ['uploads/alice/*'],
    )
    assert.equal(asAlice.errors, 0)
    assert.deepEqual(
      asAlice.policy,
      buildPolicy(
        planGrant(
          { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] },
          { ...OPTIONS, durationSeconds: 1800, assumeRole: false },
        ),
      ),
    )
    // Without a subject the placeholder is a literal folder nobody owns.
    assert.deepEqual(
      auditGrant(grant, OPTIONS).findings.map((f) => f.rule),
      ['write-outside-subject'],
    )
  })

  it('warns about shared writes and long-lived keys without counting them as errors', () => {
    const report = auditGrant(
      {
        subject: 'alice',
        durationSeconds: 43200,
        statements: [{ actions: ['name/cos:PutObject'], prefixes: ['app/guestbook/*'], shared: true }],
      },
      OPTIONS,
    )
    assert.deepEqual(
      report.findings.map((f) => `${f.severity} ${f.rule}`),
      ['warning shared-write', 'warning long-duration'],
    )
    assert.equal(report.errors, 0)
    assert.ok(report.policy)
    assert.deepEqual(report.rows[0]!.findings, ['shared-write'])
  })

  it('never throws on input that is not a grant', () => {
    for (const input of [
      null,
      undefined,
      'alice',
      42,
      [],
      { statements: 'all' },
      { statements: [null, 7] },
      { subject: 'alice', actions: 'name/cos:PutObject', prefixes: 'x/*' },
    ]) {
      const report = auditGrant(input, OPTIONS)
      assert.ok(report.errors > 0, JSON.stringify(input))
      assert.equal(report.policy, undefined)
    }
  })
})
