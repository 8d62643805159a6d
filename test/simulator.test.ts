// CAM policy simulator: resource/action/condition truth tables, deny precedence and prefix coverage.
import assert from 'node:assert/strict'
import { contentTypes, maxBytes } from '../src/conditions.js'
import { findCoveringStatement, isAllowed, isPrefixAllowed } from '../src/simulator.js'
import type { CamCondition, CamPolicy, CamStatement } from '../src/types.js'

const BUCKET = 'examplebucket-1250000000'
const REGION = 'ap-guangzhou'
const BASE = `qcs::cos:${REGION}:uid/1250000000:${BUCKET}/`

type Effect = 'allow' | 'deny'
function statement(
  resource: string | string[],
  action: string | string[] = 'name/cos:PutObject',
  condition?: CamCondition,
  effect: Effect = 'allow',
): CamStatement {
  const resources = (Array.isArray(resource) ? resource : [resource]).map((r) => (r === '*' || r.startsWith('qcs::') ? r : BASE + r))
  return { effect, action: Array.isArray(action) ? action : [action], resource: resources, ...(condition && { condition }) } as unknown as CamStatement
}
const deny = (resource: string | string[], action: string | string[] = 'name/cos:PutObject', condition?: CamCondition): CamStatement =>
  statement(resource, action, condition, 'deny')
const policy = (...statements: CamStatement[]): CamPolicy => ({ version: '2.0', statement: statements })

const put = (p: CamPolicy, key: string, context?: Record<string, string | number>, action = 'name/cos:PutObject'): boolean =>
  isAllowed(p, { action, bucket: BUCKET, region: REGION, key, ...(context && { context }) })
const prefixOk = (p: CamPolicy, prefix: string, action = 'name/cos:PutObject'): boolean =>
  isPrefixAllowed(p, { action, bucket: BUCKET, region: REGION, prefix })

describe('simulator', () => {
  describe('isAllowed: resources', () => {
    const tables: Array<[string, Array<[string, boolean]>]> = [
      [
        'uploads/alice/*',
        [
          ['uploads/alice/x.jpg', true],
          ['uploads/alice/a/b/c.jpg', true],
          ['uploads/alice/', true],
          ['uploads/alice/*', true],
          ['uploads/alice', false],
          ['uploads/alice2/x.jpg', false],
          ['uploads/alicex', false],
          ['uploads/Alice/x.jpg', false],
          ['Uploads/alice/x.jpg', false],
          ['uploads/bob/x.jpg', false],
          ['/uploads/alice/x.jpg', false],
          ['xuploads/alice/x.jpg', false],
        ],
      ],
      [
        'uploads/alice',
        [
          ['uploads/alice', true],
          ['uploads/alice/', false],
          ['uploads/alice/x', false],
          ['uploads/alicex', false],
          ['uploads/alic', false],
        ],
      ],
      [
        'uploads/alice/',
        [
          ['uploads/alice/', true],
          ['uploads/alice', false],
          ['uploads/alice/x', false],
        ],
      ],
      [
        'uploads/*/avatar.png',
        [
          ['uploads/alice/avatar.png', true],
          ['uploads/a/b/avatar.png', true],
          ['uploads//avatar.png', true],
          ['uploads/avatar.png', false],
          ['uploads/alice/avatar.png.bak', false],
          ['uploads/alice/avatar.jpg', false],
        ],
      ],
      [
        'uploads/*.jpg',
        [
          ['uploads/a.jpg', true],
          ['uploads/a/b.jpg', true],
          ['uploads/.jpg', true],
          ['uploads/a.png', false],
          ['uploads/a.jpg/b', false],
        ],
      ],
      [
        'a*b*c',
        [
          ['abc', true],
          ['aXbYc', true],
          ['abbbc', true],
          ['acb', false],
          ['abcd', false],
        ],
      ],
      [
        'uploads/alice/?.jpg',
        [
          ['uploads/alice/?.jpg', true],
          ['uploads/alice/a.jpg', false],
        ],
      ],
      [
        'uploads/爱丽丝/*',
        [
          ['uploads/爱丽丝/照片.jpg', true],
          ['uploads/爱丽丝/相册/照片.jpg', true],
          ['uploads/爱丽丝2/照片.jpg', false],
          ['uploads/爱丽/照片.jpg', false],
        ],
      ],
      [
        'uploads/café/*',
        [
          ['uploads/caf\u00e9/x', true],
          ['uploads/cafe\u0301/x', false],
        ],
      ],
      [
        'uploads/😀/*',
        [
          ['uploads/😀/x', true],
          ['uploads/😁/x', false],
        ],
      ],
      [
        '*',
        [
          ['anything', true],
          ['uploads/alice/x', true],
        ],
      ],
    ]
    for (const [resource, rows] of tables) {
      describe(`resource ${resource}`, () => {
        const p = policy(statement(resource))
        for (const [key, expected] of rows) {
          it(`${key} → ${expected}`, () => assert.equal(put(p, key), expected))
        }
      })
    }

    it('bucket-wide, account-wide and "*" resources match any key of the bucket', () => {
      for (const resource of [`${BASE}*`, `qcs::cos:${REGION}:uid/1250000000:*`, '*']) {
        assert.equal(put(policy(statement(resource)), 'any/key.bin'), true, resource)
      }
    })

    it('refuses another bucket, region or APPID', () => {
      const p = policy(statement('uploads/*'))
      const ask = (bucket: string, region: string): boolean => isAllowed(p, { action: 'name/cos:PutObject', bucket, region, key: 'uploads/x' })
      assert.equal(ask(BUCKET, REGION), true)
      assert.equal(ask('otherbucket-1250000000', REGION), false)
      assert.equal(ask(BUCKET, 'ap-beijing'), false)
      assert.equal(ask('examplebucket-1250000001', REGION), false)
      // A grant that names the right bucket under the wrong APPID does not match either.
      const wrongUid = policy(statement(`qcs::cos:${REGION}:uid/1250000001:${BUCKET}/*`))
      assert.equal(put(wrongUid, 'uploads/x'), false)
      const wrongRegion = policy(statement(`qcs::cos:ap-shanghai:uid/1250000000:${BUCKET}/*`))
      assert.equal(put(wrongRegion, 'uploads/x'), false)
    })

    it('refuses malformed bucket, region and key instead of building a forged resource', () => {
      const p = policy(statement('uploads/*'))
      const ask = (bucket: string, region: string, key: string): boolean => isAllowed(p, { action: 'name/cos:PutObject', bucket, region, key })
      assert.equal(ask('examplebucket', REGION, 'uploads/x'), false)
      assert.equal(ask(`${BUCKET}/uploads`, REGION, 'x'), false)
      assert.equal(ask('Examplebucket-1250000000', REGION, 'uploads/x'), false)
      assert.equal(ask(BUCKET, `${REGION}:uid/1250000000:${BUCKET}/uploads/x`, ''), false)
      assert.equal(ask(BUCKET, 'AP-GUANGZHOU', 'uploads/x'), false)
      assert.equal(ask(BUCKET, REGION, ''), false)
      assert.equal(ask(BUCKET, REGION, 'uploads/\uD800x'), false)
      assert.equal(ask(BUCKET, REGION, `uploads/${'a'.repeat(5000)}`), false)
      assert.equal(ask(BUCKET, REGION, 42 as unknown as string), false)
    })
  })

  describe('isAllowed: actions', () => {
    it('compares normalised names; both request forms accepted', () => {
      const p = policy(statement('uploads/*', 'name/cos:PutObject'))
      assert.equal(put(p, 'uploads/x', undefined, 'name/cos:PutObject'), true)
      assert.equal(put(p, 'uploads/x', undefined, 'cos:PutObject'), true)
      for (const action of [
        'name/cos:putobject',
        'name/cos:GetObject',
        'name/cos:PutObjectACL',
        '*',
        'name/cos:*',
        'name/cos:Put*',
        'PutObject',
        'name/cvm:PutObject',
      ]) {
        assert.equal(put(p, 'uploads/x', undefined, action), false, action)
      }
    })
    it('accepts the short cos:X form inside a policy', () => {
      assert.equal(put(policy(statement('uploads/*', 'cos:PutObject')), 'uploads/x'), true)
    })
    it('honours CAM action wildcards in a policy', () => {
      const p = policy(statement('uploads/*', 'name/cos:Put*'))
      assert.equal(put(p, 'uploads/x', undefined, 'name/cos:PutObject'), true)
      assert.equal(put(p, 'uploads/x', undefined, 'name/cos:PutObjectACL'), true)
      assert.equal(put(p, 'uploads/x', undefined, 'name/cos:GetObject'), false)
      assert.equal(put(policy(statement('uploads/*', '*')), 'uploads/x', undefined, 'name/cos:DeleteObject'), true)
      assert.equal(put(policy(statement('uploads/*', 'name/cos:*')), 'uploads/x', undefined, 'name/cos:DeleteObject'), true)
    })
    it('ignores other services and wrong-case names in a policy', () => {
      for (const action of ['name/cvm:PutObject', 'name/cos:putobject', 'qcs:PutObject', 'name/cos:PutObjects']) {
        assert.equal(put(policy(statement('uploads/*', action)), 'uploads/x'), false, action)
      }
    })
  })

  describe('isAllowed: 数据万象 (CI) actions', () => {
    const CI_BASE = `qcs::ci:${REGION}:uid/1250000000:bucket/${BUCKET}/`
    const ci = policy(statement(`${CI_BASE}uploads/alice/*`, ['name/ci:CreateAuditingPictureJob']), statement(`${CI_BASE}job/*`, 'ci:DescribeAuditingTextJob'))

    it("matches a CI action against CI's own resource form, either action spelling", () => {
      assert.equal(put(ci, 'uploads/alice/a.png', undefined, 'ci:CreateAuditingPictureJob'), true)
      assert.equal(put(ci, 'uploads/alice/a.png', undefined, 'name/ci:CreateAuditingPictureJob'), true)
      assert.equal(put(ci, 'job/st123', undefined, 'name/ci:DescribeAuditingTextJob'), true)
      assert.equal(put(ci, 'uploads/bob/a.png', undefined, 'name/ci:CreateAuditingPictureJob'), false)
      assert.equal(put(ci, 'job/st123', undefined, 'name/ci:CreateAuditingPictureJob'), false)
    })

    it('never lets a COS statement reach CI or a CI statement reach COS', () => {
      assert.equal(put(ci, 'uploads/alice/a.png', undefined, 'name/cos:PutObject'), false)
      // A COS resource never matches a CI request, even for a statement naming the CI action.
      const crossed = policy(statement(`${BASE}uploads/alice/*`, ['name/ci:CreateAuditingPictureJob', 'name/cos:GetObject']))
      assert.equal(put(crossed, 'uploads/alice/a.png', undefined, 'name/ci:CreateAuditingPictureJob'), false)
      assert.equal(put(crossed, 'uploads/alice/a.png', undefined, 'name/cos:GetObject'), true)
      // cos:* does not name CI actions.
      assert.equal(put(policy(statement(`${CI_BASE}*`, 'name/cos:*')), 'uploads/alice/a.png', undefined, 'name/ci:CreateAuditingPictureJob'), false)
      assert.equal(put(policy(statement(`${CI_BASE}*`, 'name/ci:CreateAuditing*')), 'uploads/alice/a.png', undefined, 'name/ci:CreateAuditingPictureJob'), true)
    })

    it('covers a requested CI prefix only with a CI statement', () => {
      assert.equal(prefixOk(ci, 'uploads/alice/*', 'name/ci:CreateAuditingPictureJob'), true)
      assert.equal(prefixOk(ci, 'uploads/*', 'name/ci:CreateAuditingPictureJob'), false)
      assert.equal(prefixOk(ci, 'uploads/alice/*', 'name/ci:CreateAuditingJobs'), false)
    })
  })

  describe('isAllowed: deny', () => {
    const allowAll = statement('uploads/*')
    it('a matching deny wins, whatever the order', () => {
      for (const p of [policy(allowAll, deny('uploads/secret/*')), policy(deny('uploads/secret/*'), allowAll)]) {
        assert.equal(put(p, 'uploads/secret/x'), false)
        assert.equal(put(p, 'uploads/public/x'), true)
      }
    })
    it('a deny for another action or resource does not block', () => {
      assert.equal(put(policy(allowAll, deny('uploads/*', 'name/cos:DeleteObject')), 'uploads/x'), true)
      assert.equal(put(policy(allowAll, deny('other/*')), 'uploads/x'), true)
    })
    it('a deny applies only when its conditions hold', () => {
      const p = policy(allowAll, deny('uploads/*', 'name/cos:PutObject', { numeric_greater_than: { 'cos:content-length': 100 } }))
      assert.equal(put(p, 'uploads/x', { 'cos:content-length': 101 }), false)
      assert.equal(put(p, 'uploads/x', { 'cos:content-length': 100 }), true)
      assert.equal(put(p, 'uploads/x'), true)
      const ifExist = policy(allowAll, deny('uploads/*', 'name/cos:PutObject', { numeric_greater_than_if_exist: { 'cos:content-length': 100 } }))
      assert.equal(put(ifExist, 'uploads/x'), false)
    })
    it('a deny whose condition cannot be evaluated applies (fail closed)', () => {
      assert.equal(put(policy(allowAll, deny('uploads/*', 'name/cos:PutObject', { bogus_operator: { 'cos:a': 'b' } })), 'uploads/x'), false)
      assert.equal(
        put(policy(allowAll, deny('uploads/*', 'name/cos:PutObject', { ip_equal: { 'qcs:ip': '1.2.3.4' } })), 'uploads/x', { 'qcs:ip': 'not-an-ip' }),
        false,
      )
    })
    it('"Deny" in another case still denies; an unknown effect grants nothing', () => {
      const capital = { ...deny('uploads/*'), effect: 'Deny' } as unknown as CamStatement
      assert.equal(put(policy(allowAll, capital), 'uploads/x'), false)
      const odd = { ...statement('uploads/*'), effect: 'maybe' } as unknown as CamStatement
      assert.equal(put(policy(odd), 'uploads/x'), false)
    })
  })

  describe('isAllowed: conditions', () => {
    const check = (condition: CamCondition, context?: Record<string, string | number>): boolean =>
      put(policy(statement('uploads/*', 'name/cos:PutObject', condition)), 'uploads/x', context)
    const rows: Array<[string, CamCondition, Record<string, string | number> | undefined, boolean]> = [
      ['≤ limit', maxBytes(100), { 'cos:content-length': 100 }, true],
      ['≤ limit, under', maxBytes(100), { 'cos:content-length': 0 }, true],
      ['≤ limit, over', maxBytes(100), { 'cos:content-length': 101 }, false],
      ['≤ limit, string number', maxBytes(100), { 'cos:content-length': '99' }, true],
      ['≤ limit, exponent string refused', maxBytes(100), { 'cos:content-length': '1e1' }, false],
      ['≤ limit, junk refused', maxBytes(100), { 'cos:content-length': 'ten' }, false],
      ['≤ limit, missing key', maxBytes(100), {}, false],
      ['≤ limit, no context', maxBytes(100), undefined, false],
      ['< limit', { numeric_less_than: { 'cos:content-length': 100 } }, { 'cos:content-length': 99 }, true],
      ['< limit, equal', { numeric_less_than: { 'cos:content-length': 100 } }, { 'cos:content-length': 100 }, false],
      ['> bound', { numeric_greater_than: { 'cos:content-length': 10 } }, { 'cos:content-length': 11 }, true],
      ['> bound, equal', { numeric_greater_than: { 'cos:content-length': 10 } }, { 'cos:content-length': 10 }, false],
      ['≥ bound', { numeric_greater_than_equal: { 'cos:content-length': 10 } }, { 'cos:content-length': 10 }, true],
      ['≥ bound, under', { numeric_greater_than_equal: { 'cos:content-length': 10 } }, { 'cos:content-length': 9 }, false],
      ['numeric any-of', { numeric_equal: { 'cos:content-length': [1, 2] } }, { 'cos:content-length': 2 }, true],
      ['numeric any-of, miss', { numeric_equal: { 'cos:content-length': [1, 2] } }, { 'cos:content-length': 3 }, false],
      ['numeric none-of', { numeric_not_equal: { 'cos:content-length': [1, 2] } }, { 'cos:content-length': 3 }, true],
      ['numeric none-of, hit', { numeric_not_equal: { 'cos:content-length': [1, 2] } }, { 'cos:content-length': 2 }, false],
      ['string_equal', { string_equal: { 'cos:content-type': 'image/png' } }, { 'cos:content-type': 'image/png' }, true],
      ['string_equal is case-sensitive', { string_equal: { 'cos:content-type': 'image/png' } }, { 'cos:content-type': 'image/PNG' }, false],
      ['string_not_equal none-of', { string_not_equal: { 'cos:content-type': ['a', 'b'] } }, { 'cos:content-type': 'c' }, true],
      ['string_not_equal, hit', { string_not_equal: { 'cos:content-type': ['a', 'b'] } }, { 'cos:content-type': 'a' }, false],
      ['string_equal_ignore_case', { string_equal_ignore_case: { 'cos:content-type': 'image/png' } }, { 'cos:content-type': 'IMAGE/PNG' }, true],
      ['string_not_equal_ignore_case', { string_not_equal_ignore_case: { 'cos:content-type': 'image/png' } }, { 'cos:content-type': 'IMAGE/PNG' }, false],
      ['string_like *', contentTypes(['image/*']), { 'cos:content-type': 'image/png' }, true],
      ['string_like *, empty rest', contentTypes(['image/*']), { 'cos:content-type': 'image/' }, true],
      ['string_like *, miss', contentTypes(['image/*']), { 'cos:content-type': 'video/mp4' }, false],
      ['string_like *, prefix only', contentTypes(['image/*']), { 'cos:content-type': 'images/png' }, false],
      ['string_like any-of', contentTypes(['image/*', 'video/mp4']), { 'cos:content-type': 'video/mp4' }, true],
      ['string_like ?', contentTypes(['image/?ng']), { 'cos:content-type': 'image/png' }, true],
      ['string_like ?, too short', contentTypes(['image/?ng']), { 'cos:content-type': 'image/ng' }, false],
      ['string_like ? is one code point', contentTypes(['x/?']), { 'cos:content-type': 'x/😀' }, true],
      ['string_not_like', { string_not_like: { 'cos:content-type': 'image/*' } }, { 'cos:content-type': 'video/mp4' }, true],
      ['string_not_like, hit', { string_not_like: { 'cos:content-type': 'image/*' } }, { 'cos:content-type': 'image/png' }, false],
      ['date_less_than', { date_less_than: { 'qcs:current_time': '2030-01-01 00:00:00' } }, { 'qcs:current_time': '2029-12-31T23:59:59Z' }, true],
      ['date_less_than, equal', { date_less_than: { 'qcs:current_time': '2030-01-01 00:00:00' } }, { 'qcs:current_time': '2030-01-01T08:00:00+08:00' }, false],
      ['date_greater_than_equal', { date_greater_than_equal: { 'qcs:current_time': '2030-01-01' } }, { 'qcs:current_time': '2030-01-01T00:00:00Z' }, true],
      ['date_greater_than_equal, before', { date_greater_than_equal: { 'qcs:current_time': '2030-01-01' } }, { 'qcs:current_time': '2029-12-31' }, false],
      ['date_not_equal', { date_not_equal: { 'qcs:current_time': '2030-01-01' } }, { 'qcs:current_time': '2030-01-01T00:00:00Z' }, false],
      ['date, junk context', { date_less_than: { 'qcs:current_time': '2030-01-01' } }, { 'qcs:current_time': 'yesterday' }, false],
      ['bool_equal', { bool_equal: { 'cos:secure-transport': true } }, { 'cos:secure-transport': 'true' }, true],
      ['bool_equal, false', { bool_equal: { 'cos:secure-transport': true } }, { 'cos:secure-transport': 'false' }, false],
      ['ip_equal CIDR', { ip_equal: { 'qcs:ip': ['192.168.1.0/24', '101.226.100.185'] } }, { 'qcs:ip': '192.168.1.9' }, true],
      ['ip_equal exact', { ip_equal: { 'qcs:ip': ['192.168.1.0/24', '101.226.100.185'] } }, { 'qcs:ip': '101.226.100.185' }, true],
      ['ip_equal, outside', { ip_equal: { 'qcs:ip': ['192.168.1.0/24', '101.226.100.185'] } }, { 'qcs:ip': '101.226.100.186' }, false],
      ['ip_equal, IPv4-mapped peer', { ip_equal: { 'qcs:ip': '192.168.1.0/24' } }, { 'qcs:ip': '::ffff:192.168.1.9' }, true],
      ['ip_equal IPv6 CIDR', { ip_equal: { 'qcs:ip': '2001:db8::/32' } }, { 'qcs:ip': '2001:db8::5' }, true],
      ['ip_equal IPv6, outside', { ip_equal: { 'qcs:ip': '2001:db8::/32' } }, { 'qcs:ip': '2001:db9::5' }, false],
      ['ip_equal, junk context', { ip_equal: { 'qcs:ip': '0.0.0.0/0' } }, { 'qcs:ip': 'junk' }, false],
      ['ip_not_equal', { ip_not_equal: { 'qcs:ip': '10.0.0.0/8' } }, { 'qcs:ip': '11.0.0.1' }, true],
      ['ip_not_equal, inside', { ip_not_equal: { 'qcs:ip': '10.0.0.0/8' } }, { 'qcs:ip': '10.1.2.3' }, false],
      ['ip_not_equal, junk context fails closed', { ip_not_equal: { 'qcs:ip': '10.0.0.0/8' } }, { 'qcs:ip': 'junk' }, false],
      ['_if_exist, missing', { numeric_less_than_equal_if_exist: { 'cos:content-length': 100 } }, {}, true],
      ['_if_exist, present and over', { numeric_less_than_equal_if_exist: { 'cos:content-length': 100 } }, { 'cos:content-length': 101 }, false],
      ['_if_exist, present and under', { numeric_less_than_equal_if_exist: { 'cos:content-length': 100 } }, { 'cos:content-length': 1 }, true],
      ['all operators must hold', { ...maxBytes(100), ...contentTypes(['image/*']) }, { 'cos:content-length': 1, 'cos:content-type': 'image/png' }, true],
      [
        'all operators must hold, one fails',
        { ...maxBytes(100), ...contentTypes(['image/*']) },
        { 'cos:content-length': 1, 'cos:content-type': 'text/html' },
        false,
      ],
      ['all keys must hold', { string_equal: { 'cos:a': 'x', 'cos:b': 'y' } }, { 'cos:a': 'x', 'cos:b': 'z' }, false],
      ['all keys hold', { string_equal: { 'cos:a': 'x', 'cos:b': 'y' } }, { 'cos:a': 'x', 'cos:b': 'y' }, true],
      ['unknown operator blocks the allow', { string_equals: { 'cos:a': 'x' } }, { 'cos:a': 'x' }, false],
      ['empty value list blocks the allow', { string_equal: { 'cos:a': [] } }, { 'cos:a': 'x' }, false],
    ]
    for (const [name, condition, context, expected] of rows) {
      it(`${name} → ${expected}`, () => assert.equal(check(condition, context), expected))
    }

    it('an unconditioned statement needs no context; another allow can cover a failed condition', () => {
      assert.equal(put(policy(statement('uploads/*')), 'uploads/x'), true)
      const p = policy(statement('uploads/*', 'name/cos:PutObject', maxBytes(1)), statement('uploads/big/*'))
      assert.equal(put(p, 'uploads/big/x', { 'cos:content-length': 10 }), true)
      assert.equal(put(p, 'uploads/small/x', { 'cos:content-length': 10 }), false)
    })

    it('does not read context keys from the prototype chain', () => {
      const inherited = Object.create({ 'cos:content-length': 1 }) as Record<string, number>
      assert.equal(check(maxBytes(100), inherited), false)
    })
  })

  describe('prefix coverage', () => {
    const alice = policy(statement('uploads/alice/*'))
    const rows: Array<[string, boolean]> = [
      ['uploads/alice/*', true],
      ['uploads/alice/a/*', true],
      ['uploads/alice/a/b/*', true],
      ['uploads/alice/x.jpg', true],
      ['uploads/alice/', true],
      ['uploads/alice/爱丽丝/*', true],
      ['uploads/alice*', false],
      ['uploads/alic*', false],
      ['uploads/*', false],
      ['uploads/alice2/*', false],
      ['uploads/alice', false],
      ['*', false],
      ['', false],
      ['uploads/alice/*/x', false],
      ['uploads/alice/**', false],
      ['uploads/bob/*', false],
    ]
    for (const [prefix, expected] of rows) {
      it(`uploads/alice/* covers ${JSON.stringify(prefix)} → ${expected}`, () => assert.equal(prefixOk(alice, prefix), expected))
    }

    it('accepts both action spellings and refuses other actions', () => {
      assert.equal(prefixOk(alice, 'uploads/alice/*', 'cos:PutObject'), true)
      assert.equal(prefixOk(alice, 'uploads/alice/*', 'name/cos:GetObject'), false)
      assert.equal(prefixOk(alice, 'uploads/alice/*', 'name/cos:*'), false)
    })

    it('refuses another bucket or region', () => {
      assert.equal(isPrefixAllowed(alice, { action: 'name/cos:PutObject', bucket: 'otherbucket-1250000000', region: REGION, prefix: 'uploads/alice/*' }), false)
      assert.equal(isPrefixAllowed(alice, { action: 'name/cos:PutObject', bucket: BUCKET, region: 'ap-beijing', prefix: 'uploads/alice/*' }), false)
    })

    it('exact and general grants', () => {
      const exact = policy(statement('uploads/alice/x.jpg'))
      assert.equal(prefixOk(exact, 'uploads/alice/x.jpg'), true)
      assert.equal(prefixOk(exact, 'uploads/alice/x.jpg*'), false)
      const middle = policy(statement('uploads/*/photos/*'))
      assert.equal(prefixOk(middle, 'uploads/bob/photos/*'), true)
      assert.equal(prefixOk(middle, 'uploads/a/photos/b/photos/*'), true)
      assert.equal(prefixOk(middle, 'uploads/bob/photos/x.jpg'), true)
      assert.equal(prefixOk(middle, 'uploads/bob/*'), false)
      const suffix = policy(statement('uploads/*.jpg'))
      assert.equal(prefixOk(suffix, 'uploads/a.jpg'), true)
      assert.equal(prefixOk(suffix, 'uploads/a*'), false)
      assert.equal(prefixOk(policy(statement('a/**')), 'a/b/*'), true)
      assert.equal(prefixOk(policy(statement('*')), '*'), true)
      assert.equal(prefixOk(policy(statement(`${BASE}*`)), 'anything/*'), true)
    })

    it('findCoveringStatement returns the first covering allow, ignoring conditions', () => {
      const p = policy(
        statement('uploads/alice/*', 'name/cos:GetObject'),
        statement('uploads/alice/photos/*', 'name/cos:PutObject', maxBytes(1)),
        statement('uploads/alice/*', ['name/cos:PutObject', 'name/cos:DeleteObject']),
      )
      const find = (action: string, prefix: string): number => findCoveringStatement(p, { action, bucket: BUCKET, region: REGION, prefix })
      assert.equal(find('name/cos:PutObject', 'uploads/alice/photos/2024/*'), 1)
      assert.equal(find('name/cos:PutObject', 'uploads/alice/docs/*'), 2)
      assert.equal(find('name/cos:GetObject', 'uploads/alice/photos/*'), 0)
      assert.equal(find('cos:DeleteObject', 'uploads/alice/x'), 2)
      assert.equal(find('name/cos:HeadObject', 'uploads/alice/x'), -1)
      assert.equal(find('name/cos:PutObject', 'uploads/*'), -1)
    })

    it('refuses a prefix that any deny may reach, conditions or not', () => {
      const p = policy(statement('uploads/alice/*'), deny('uploads/alice/private/*', 'name/cos:PutObject', maxBytes(1)))
      assert.equal(prefixOk(p, 'uploads/alice/*'), false)
      assert.equal(prefixOk(p, 'uploads/alice/priv*'), false)
      assert.equal(prefixOk(p, 'uploads/alice/private/x/*'), false)
      assert.equal(prefixOk(p, 'uploads/alice/private/x'), false)
      assert.equal(prefixOk(p, 'uploads/alice/public/*'), true)
      assert.equal(prefixOk(p, 'uploads/alice/x'), true)
      assert.equal(prefixOk(p, 'uploads/alice/*', 'name/cos:GetObject'), false)
      const general = policy(statement('uploads/*'), deny('uploads/*/secret'))
      assert.equal(prefixOk(general, 'uploads/alice/*'), false)
      assert.equal(prefixOk(general, 'uploads/alice/photos/*'), false)
      assert.equal(prefixOk(general, 'uploads/alice/photos/x.jpg'), true)
      assert.equal(prefixOk(policy(statement('uploads/*'), deny('other/*/secret')), 'uploads/alice/*'), true)
      assert.equal(prefixOk(policy(statement('uploads/*'), deny('uploads/*', 'name/cos:DeleteObject')), 'uploads/alice/*'), true)
    })

    // Exhaustive small-alphabet cross-check: coverage and deny-overlap must agree with isAllowed key by key.
    it('agrees with isAllowed on every small pattern, prefix and suffix', () => {
      const words = (alphabet: string[], max: number): string[] => {
        const out = ['']
        for (let i = 0; out.length < 10_000; i++) {
          const w = out[i]
          if (w === undefined || w.length >= max) break
          for (const c of alphabet) out.push(w + c)
        }
        return out
      }
      const patterns = words(['a', '/', '*'], 4)
      const prefixes = words(['a', '/'], 3)
      // 'z' appears in no pattern, so it is the witness whenever one exists.
      const suffixes = words(['a', '/', 'z'], 4)
      let checked = 0
      for (const pattern of patterns) {
        const grant = policy(statement(pattern))
        const denied = policy(statement('*'), deny(pattern))
        for (const prefix of prefixes) {
          const keys = suffixes.map((t) => prefix + t).filter((k) => k !== '')
          const covered = keys.every((k) => put(grant, k))
          assert.equal(prefixOk(grant, `${prefix}*`), covered, `${pattern} covers ${prefix}*`)
          const overlaps = keys.some((k) => !put(denied, k))
          assert.equal(prefixOk(denied, `${prefix}*`), !overlaps, `deny ${pattern} overlaps ${prefix}*`)
          if (prefix !== '') assert.equal(prefixOk(grant, prefix), put(grant, prefix), `${pattern} exact ${prefix}`)
          checked++
        }
      }
      assert.equal(checked, patterns.length * prefixes.length)
    })

    it('stays fast on pathological patterns and long keys', () => {
      const key = `${'a'.repeat(1000)}b`
      const nasty = policy(statement('a*a*a*a*a*a*a*a*c'), statement(`${'*a'.repeat(50)}*/x/*`))
      const started = performance.now()
      for (let i = 0; i < 200; i++) {
        assert.equal(put(nasty, key), false)
        assert.equal(prefixOk(nasty, `${key}*`), false)
      }
      assert.ok(performance.now() - started < 2000, 'took too long')
    })
  })
})
