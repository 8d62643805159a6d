// The grant memory: only grants JSON describes exactly are remembered, a refused grant never is, and answers carry no validator.
import assert from 'node:assert/strict'
import request from 'supertest'
import { createPlanner, exactJson } from '../src/grant-memo.js'
import { RouteError } from '../src/errors.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const defaults = { bucket: TEST_BUCKET, region: TEST_REGION, durationSeconds: 1800, assumeRole: false }
const grant = (subject = 'alice') => ({ subject, actions: ['name/cos:PutObject'], prefixes: [`uploads/${subject}/*`] })

describe('grant memo', () => {
  it('describes plain grants exactly', () => {
    assert.equal(exactJson(grant()), JSON.stringify(grant()))
    assert.equal(
      exactJson({ ...grant(), durationSeconds: 3600, condition: { numeric_less_than_equal: { 'cos:content-length': 5 } } }),
      JSON.stringify({ ...grant(), durationSeconds: 3600, condition: { numeric_less_than_equal: { 'cos:content-length': 5 } } }),
    )
  })

  const blurred: Array<[string, unknown]> = [
    ['an undefined field', { ...grant(), durationSeconds: undefined }],
    ['NaN', { ...grant(), durationSeconds: Number.NaN }],
    ['Infinity', { ...grant(), durationSeconds: Number.POSITIVE_INFINITY }],
    ['-0', { ...grant(), durationSeconds: -0 }],
    ['a function', { ...grant(), subject: () => 'alice' }],
    ['an array hole', { ...grant(), prefixes: [, 'uploads/alice/*'] }], // eslint-disable-line no-sparse-arrays
    ['a class instance', Object.assign(new (class Grant {})(), grant())],
    ['a toJSON', { ...grant(), toJSON: () => grant('bob') }],
    [
      'a hidden subject',
      Object.defineProperty({ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }, 'subject', { value: 'alice', enumerable: false }),
    ],
    ['a symbol key', { ...grant(), [Symbol('x')]: 1 }],
    ['a null-prototype object', Object.assign(Object.create(null) as object, grant())],
    [
      'a cycle',
      (() => {
        const g: Record<string, unknown> = grant()
        g['self'] = g
        return g
      })(),
    ],
    ['a BigInt', { ...grant(), durationSeconds: 1800n }],
    [
      'nesting deeper than any grant',
      (() => {
        let deep: unknown = 'x'
        for (let i = 0; i < 20; i++) deep = [deep]
        return { ...grant(), condition: deep }
      })(),
    ],
  ]
  for (const [name, value] of blurred) {
    it(`never remembers a grant with ${name}`, () => assert.equal(exactJson(value), undefined))
  }

  it('a grant refused once is refused again, and a remembered one is frozen', () => {
    const planFor = createPlanner(defaults)
    const bad = { ...grant(), prefixes: ['uploads/*'] }
    assert.throws(() => planFor(bad), RouteError)
    assert.throws(() => planFor(bad), RouteError)
    const plan = planFor(grant())
    assert.equal(planFor(grant()), plan, 'the same content gets the remembered plan')
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.statements[0]) && Object.isFrozen(plan.statements[0]!.prefixes))
    assert.notEqual(planFor(grant('bob')), plan)
    assert.equal(planFor(grant('bob')).subject, 'bob')
  })

  it('a grant JSON would blur is checked every time: NaN duration after an accepted grant is still refused', () => {
    const planFor = createPlanner(defaults)
    planFor({ ...grant(), durationSeconds: null } as never)
    assert.throws(() => planFor({ ...grant(), durationSeconds: Number.NaN }), /durationSeconds/)
  })

  describe('through the router', () => {
    let fixture: Fixture
    let next: unknown
    before(async () => {
      fixture = await startFixture({ authorize: () => next as never })
    })
    after(() => fixture.close())

    it('repeat grants get their own subject, refused variants stay refused, no ETag on any answer', async () => {
      for (const subject of ['alice', 'bob', 'alice']) {
        next = grant(subject)
        const res = await request(fixture.app).get('/creds').expect(200)
        assert.deepEqual(res.body.scope, [{ actions: ['name/cos:PutObject'], prefixes: [`uploads/${subject}/*`] }])
        assert.equal(
          fixture.sts.findByTmpSecretId(res.body.credentials.tmpSecretId)?.policy &&
            JSON.stringify(fixture.sts.findByTmpSecretId(res.body.credentials.tmpSecretId)?.policy).includes(`uploads/${subject}/*`),
          true,
        )
        assert.equal(res.headers['etag'], undefined)
        assert.equal(res.headers['cache-control'], 'no-store')
      }
      next = { ...grant('alice'), prefixes: ['uploads/*'] }
      const refused = await request(fixture.app).get('/creds').expect(500)
      assert.equal(refused.body.error.code, 'InvalidGrant')
      assert.equal(refused.headers['etag'], undefined)
    })
  })
})
