// Requested scope: a POSTed cos-js-sdk-v5 Scope narrows the key to exactly those items, or is refused before STS.
import assert from 'node:assert/strict'
import request from 'supertest'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`

describe('scope', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture({
      authorize: (req) => {
        const user = req.get('x-user')
        return user
          ? {
              subject: user,
              statements: [
                {
                  actions: ['name/cos:PutObject', 'name/cos:PostObject'],
                  prefixes: [`uploads/${user}/*`],
                  condition: { numeric_less_than_equal: { 'cos:content-length': 1000 } },
                },
                { actions: ['name/cos:GetObject'], prefixes: ['public/readme.txt', `uploads/${user}/*`] },
              ],
            }
          : null
      },
    })
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  const ask = (scope: unknown, user = 'alice') => request(fixture.app).post('/creds').set('x-user', user).send({ scope })

  it('issues a key for exactly the requested items, keeping the covering statement condition', async () => {
    const res = await ask([
      { action: 'name/cos:PutObject', bucket: TEST_BUCKET, region: TEST_REGION, prefix: 'uploads/alice/a.jpg' },
      { action: 'cos:PostObject', prefix: 'uploads/alice/a.jpg' },
      { action: 'name/cos:GetObject', prefix: 'public/readme.txt' },
    ]).expect(200)
    assert.deepEqual(res.body.scope, [
      { actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: ['uploads/alice/a.jpg'] },
      { actions: ['name/cos:GetObject'], prefixes: ['public/readme.txt'] },
    ])
    assert.deepEqual(fixture.sts.calls[0]!.policy, {
      version: '2.0',
      statement: [
        {
          effect: 'allow',
          action: ['name/cos:PutObject', 'name/cos:PostObject'],
          resource: [`${RESOURCE}uploads/alice/a.jpg`],
          condition: { numeric_less_than_equal: { 'cos:content-length': 1000 } },
        },
        { effect: 'allow', action: ['name/cos:GetObject'], resource: [`${RESOURCE}public/readme.txt`] },
      ],
    })
  })

  it('accepts a narrower prefix inside a granted prefix', async () => {
    const res = await ask([{ action: 'name/cos:PutObject', prefix: 'uploads/alice/photos/*' }]).expect(200)
    assert.deepEqual(res.body.scope, [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/photos/*'] }])
  })

  it('merges prefixes into one statement only when they share the covering statement and the actions', async () => {
    const res = await ask([
      { action: 'name/cos:PutObject', prefix: 'uploads/alice/a.jpg' },
      { action: 'name/cos:PutObject', prefix: 'uploads/alice/b.jpg' },
      { action: 'name/cos:PostObject', prefix: 'uploads/alice/b.jpg' },
      { action: 'name/cos:PutObject', prefix: 'uploads/alice/c.jpg' },
    ]).expect(200)
    assert.deepEqual(res.body.scope, [
      { actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/a.jpg', 'uploads/alice/c.jpg'] },
      { actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: ['uploads/alice/b.jpg'] },
    ])
  })

  it('30 items for one action make one statement that STS accepts', async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ action: 'name/cos:PutObject', prefix: `uploads/alice/photo-${i}.jpg` }))
    const res = await ask(items).expect(200)
    assert.equal(res.body.scope.length, 1)
    assert.equal(res.body.scope[0].prefixes.length, 30)
    assert.equal(fixture.sts.calls[0]!.outcome, 'ok')
  })

  it('400, not an STS error, when the narrowed policy would be too long for STS', async () => {
    const items = Array.from({ length: 50 }, (_, i) => ({
      action: i % 2 ? 'name/cos:PutObject' : 'name/cos:GetObject',
      prefix: `uploads/alice/${'long-folder-name/'.repeat(4)}photo-${i}.jpg`,
    }))
    const res = await ask(items).expect(400)
    assert.equal(res.body.error.code, 'InvalidRequest')
    assert.match(res.body.error.message, /too long/)
    assert.equal(fixture.sts.calls.length, 0)
  })

  const refused: Array<[string, unknown]> = [
    ['a sibling whose name starts with the subject (alice2)', { action: 'name/cos:PutObject', prefix: 'uploads/alice2/a.jpg' }],
    ['a sibling prefix (alice2/*)', { action: 'name/cos:PutObject', prefix: 'uploads/alice2/*' }],
    ['the parent folder', { action: 'name/cos:PutObject', prefix: 'uploads/*' }],
    ['alice* which covers alice2', { action: 'name/cos:PutObject', prefix: 'uploads/alice*' }],
    ["another user's folder", { action: 'name/cos:PutObject', prefix: 'uploads/bob/a.jpg' }],
    ['an action granted elsewhere but not on that prefix', { action: 'name/cos:PutObject', prefix: 'public/readme.txt' }],
    ['an action not granted at all', { action: 'name/cos:DeleteObject', prefix: 'uploads/alice/a.jpg' }],
    ['another bucket', { action: 'name/cos:PutObject', bucket: 'other-1250000000', prefix: 'uploads/alice/a.jpg' }],
    ['another region', { action: 'name/cos:PutObject', region: 'ap-shanghai', prefix: 'uploads/alice/a.jpg' }],
  ]
  for (const [name, item] of refused) {
    it(`403 ScopeNotAllowed and no STS call for ${name}`, async () => {
      const res = await ask([{ action: 'name/cos:GetObject', prefix: 'uploads/alice/ok.txt' }, item]).expect(403)
      assert.equal(res.body.error.code, 'ScopeNotAllowed')
      assert.match(res.body.error.message, /scope\[1\]/)
      assert.equal(fixture.sts.calls.length, 0)
    })
  }

  const malformed: Array<[string, unknown]> = [
    ['a string', 'uploads/alice/*'],
    ['an empty array', []],
    ['too many items', Array.from({ length: 51 }, () => ({ action: 'name/cos:PutObject', prefix: 'uploads/alice/a' }))],
    ['an item that is not an object', ['name/cos:PutObject']],
    ['a missing action', [{ prefix: 'uploads/alice/a' }]],
    ['an unknown action', [{ action: 'name/cos:FlyAway', prefix: 'uploads/alice/a' }]],
    ['a missing prefix', [{ action: 'name/cos:PutObject' }]],
    ["a '..' segment", [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/../bob/a' }]],
    ['a leading slash', [{ action: 'name/cos:PutObject', prefix: '/uploads/alice/a' }]],
    ['a wildcard in the middle', [{ action: 'name/cos:PutObject', prefix: 'uploads/*/a' }]],
    ['a number for bucket', [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a', bucket: 7 }]],
  ]
  for (const [name, scope] of malformed) {
    it(`400 InvalidRequest for a scope with ${name}`, async () => {
      const res = await ask(scope).expect(400)
      assert.equal(res.body.error.code, 'InvalidRequest')
      assert.equal(fixture.sts.calls.length, 0)
    })
  }

  it('400 for a body that is an array', async () => {
    const res = await request(fixture.app)
      .post('/creds')
      .set('x-user', 'alice')
      .send([{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a' }])
      .expect(400)
    assert.equal(res.body.error.code, 'InvalidRequest')
  })

  it('authenticates before reading the scope: no user, 401 whatever the scope says', async () => {
    await request(fixture.app).post('/creds').send({ scope: 'nonsense' }).expect(401)
  })
})
