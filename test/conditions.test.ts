// CAM condition blocks: builders, the validator's messages, merging, and the shared value parsers.
import assert from 'node:assert/strict'
import {
  allConditions,
  checkCondition,
  conditionOperators,
  contentTypes,
  ipInRange,
  maxBytes,
  parseBool,
  parseDate,
  parseIpRange,
  parseNumber,
  parseOperator,
  sourceIps,
} from '../src/conditions.js'

describe('conditions', () => {
  describe('builders', () => {
    it('maxBytes → numeric_less_than_equal on cos:content-length', () => {
      assert.deepEqual(maxBytes(5 * 1024 * 1024), { numeric_less_than_equal: { 'cos:content-length': 5242880 } })
      assert.deepEqual(maxBytes(0), { numeric_less_than_equal: { 'cos:content-length': 0 } })
    })
    it('maxBytes refuses negative, fractional and non-finite sizes', () => {
      for (const n of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) assert.throws(() => maxBytes(n), RangeError, String(n))
    })
    it('contentTypes → string_like on cos:content-type, one value as a string', () => {
      assert.deepEqual(contentTypes(['image/*']), { string_like: { 'cos:content-type': 'image/*' } })
      assert.deepEqual(contentTypes(['image/png', 'image/jpeg']), { string_like: { 'cos:content-type': ['image/png', 'image/jpeg'] } })
    })
    it('contentTypes copies its input and refuses empty or oversized lists', () => {
      const input = ['a/b', 'c/d']
      const block = contentTypes(input)
      input.push('e/f')
      assert.deepEqual(block.string_like?.['cos:content-type'], ['a/b', 'c/d'])
      assert.throws(() => contentTypes([]), /must not be an empty array/)
      assert.throws(() => contentTypes(Array.from({ length: 21 }, (_, i) => `t/${i}`)), /more than 20 values/)
      assert.throws(() => contentTypes(['x'.repeat(513)]), /at most 512 characters/)
      assert.throws(() => contentTypes('image/*' as unknown as string[]), TypeError)
    })
    it('sourceIps → ip_equal on qcs:ip, always a list', () => {
      assert.deepEqual(sourceIps(['203.0.113.0/24']), { ip_equal: { 'qcs:ip': ['203.0.113.0/24'] } })
      assert.deepEqual(sourceIps(['10.0.0.1', '2001:db8::/32']), { ip_equal: { 'qcs:ip': ['10.0.0.1', '2001:db8::/32'] } })
      assert.throws(() => sourceIps(['10.0.0.256']), /IPv4\/IPv6 address or CIDR/)
      assert.throws(() => sourceIps(['10.0.0.0/33']), TypeError)
      assert.throws(() => sourceIps([]), /empty array/)
    })
  })

  describe('checkCondition', () => {
    const valid: unknown[] = [
      { numeric_less_than_equal: { 'cos:content-length': 100 } },
      { numeric_less_than_equal: { 'cos:content-length': '100' } },
      { string_like: { 'cos:content-type': ['image/*', 'video/mp4'] } },
      { string_equal_if_exist: { 'cos:x-cos-storage-class': 'STANDARD' } },
      { string_not_equal_if_exist: { 'cos:versionid': 'abc' } },
      { ip_equal: { 'qcs:ip': ['192.168.1.0/24', '101.226.100.185', '::1', '2001:db8::/32'] } },
      { ip_not_equal: { 'qcs:ip': '10.217.182.3/24' } },
      { date_less_than: { 'qcs:current_time': '2022-05-31 00:00:00' } },
      { date_greater_than_equal_if_exist: { 'qcs:current_time': '2022-05-31T00:00:00+08:00' } },
      { bool_equal: { 'cos:secure-transport': true } },
      { bool_equal: { 'cos:secure-transport': 'false' } },
      { string_equal: { 'vpc:requester_vpc': ['vpc-aqp5jrc1'] } },
      Object.assign(Object.create(null) as object, { numeric_equal: { 'cos:content-length': 1 } }),
      Object.fromEntries(
        conditionOperators.map((op) => [
          op,
          {
            'qcs:ip': op.startsWith('ip')
              ? '1.2.3.4'
              : op.startsWith('numeric')
                ? 1
                : op.startsWith('date')
                  ? '2030-01-01'
                  : op.startsWith('bool')
                    ? true
                    : 'x',
          },
        ]),
      ),
    ]
    for (const condition of valid) {
      it(`accepts ${JSON.stringify(condition)}`, () => assert.equal(checkCondition(condition), undefined))
    }

    const invalid: Array<[unknown, RegExp]> = [
      [null, /plain object/],
      [undefined, /plain object/],
      ['string_like', /plain object/],
      [[{ string_like: {} }], /plain object/],
      [() => ({}), /plain object/],
      [new Map(), /plain object/],
      [new (class Condition {})(), /plain object/],
      [JSON.parse('{"__proto__": {"string_equal": {"cos:a": "b"}}}'), /plain object/],
      [{}, /at least one operator/],
      [{ StringEquals: { 'cos:a': 'b' } }, /unknown operator "StringEquals"; use one of string_equal/],
      [{ string_equals: { 'cos:a': 'b' } }, /unknown operator/],
      [{ null_equal: { 'cos:a': 'true' } }, /unknown operator/],
      [{ 'for_any_value:string_equal': { 'qcs:resource_tag': 'a&b' } }, /unknown operator/],
      [{ string_equal_if_exists: { 'cos:a': 'b' } }, /unknown operator/],
      [{ string_like: ['cos:content-type'] }, /condition\.string_like must be a plain object/],
      [{ string_like: null }, /condition\.string_like must be a plain object/],
      [{ string_like: {} }, /condition\.string_like must name at least one condition key/],
      [{ string_like: { 'content-type': 'image/*' } }, /invalid condition key "content-type"; keys look like 'cos:content-type'/],
      [{ string_like: { 'aws:SourceIp': 'x' } }, /invalid condition key/],
      [{ string_like: { 'cos:': 'x' } }, /invalid condition key/],
      [{ string_like: { 'cos:a b': 'x' } }, /invalid condition key/],
      [{ string_like: { 'cos:content-type': 5 } }, /^condition\.string_like\['cos:content-type'\] must be a string or an array of strings/],
      [{ string_like: { 'cos:content-type': ['image/*', 5] } }, /must be a string or an array of strings/],
      [{ string_like: { 'cos:content-type': [] } }, /must not be an empty array/],
      [{ string_like: { 'cos:content-type': [['image/*']] } }, /must be a string/],
      [{ string_like: { 'cos:content-type': { a: 1 } } }, /must be a string/],
      [{ string_like: { 'cos:content-type': null } }, /must be a string/],
      [{ string_like: { 'cos:content-type': 'x'.repeat(513) } }, /at most 512/],
      [{ numeric_less_than_equal: { 'cos:content-length': 'ten' } }, /must be a number/],
      [{ numeric_less_than_equal: { 'cos:content-length': '1e6' } }, /must be a number/],
      [{ numeric_less_than_equal: { 'cos:content-length': Number.NaN } }, /must be a number/],
      [{ numeric_less_than_equal: { 'cos:content-length': true } }, /must be a number/],
      [{ date_less_than: { 'qcs:current_time': 'tomorrow' } }, /must be a date/],
      [{ date_less_than: { 'qcs:current_time': '2023-02-30' } }, /must be a date/],
      [{ date_less_than: { 'qcs:current_time': 1700000000 } }, /must be a date/],
      [{ bool_equal: { 'cos:secure-transport': 'yes' } }, /must be true or false/],
      [{ ip_equal: { 'qcs:ip': '300.1.1.1' } }, /IPv4\/IPv6 address or CIDR/],
      [{ ip_equal: { 'qcs:ip': 'example.com' } }, /IPv4\/IPv6 address or CIDR/],
      [{ ip_equal: { 'qcs:ip': ['1.2.3.4', '1.2.3.4/'] } }, /IPv4\/IPv6 address or CIDR/],
      [{ ip_equal: { 'qcs:ip': Array.from({ length: 21 }, (_, i) => `10.0.0.${i}`) } }, /more than 20 values/],
      [{ string_equal: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`cos:k${i}`, 'v'])) }, /more than 20 condition keys/],
    ]
    for (const [condition, message] of invalid) {
      it(`refuses ${String(JSON.stringify(condition) ?? condition).slice(0, 80)}`, () => {
        const problem = checkCondition(condition)
        assert.equal(typeof problem, 'string')
        assert.match(problem ?? '', message)
      })
    }

    it('refuses an own __proto__ key at the key level too', () => {
      assert.match(checkCondition({ string_equal: JSON.parse('{"__proto__": "x"}') }) ?? '', /must be a plain object/)
    })
  })

  describe('allConditions', () => {
    it('unions different operators and keys without touching its inputs', () => {
      const a = maxBytes(100)
      const b = contentTypes(['image/*'])
      const c = sourceIps(['10.0.0.0/8'])
      const merged = allConditions(a, b, c, { string_like: { 'cos:x-cos-storage-class': 'STANDARD*' } })
      assert.deepEqual(merged, {
        numeric_less_than_equal: { 'cos:content-length': 100 },
        string_like: { 'cos:content-type': 'image/*', 'cos:x-cos-storage-class': 'STANDARD*' },
        ip_equal: { 'qcs:ip': ['10.0.0.0/8'] },
      })
      assert.deepEqual(b, { string_like: { 'cos:content-type': 'image/*' } })
      const mergedIps = merged.ip_equal?.['qcs:ip']
      assert.ok(Array.isArray(mergedIps))
      mergedIps.push('0.0.0.0/0')
      assert.deepEqual(c, { ip_equal: { 'qcs:ip': ['10.0.0.0/8'] } })
    })
    it('keeps a repeated pair with equal values once', () => {
      assert.deepEqual(allConditions(sourceIps(['1.1.1.1', '2.2.2.2']), sourceIps(['2.2.2.2', '1.1.1.1'])), { ip_equal: { 'qcs:ip': ['1.1.1.1', '2.2.2.2'] } })
    })
    it('tightens two numeric bounds', () => {
      assert.deepEqual(allConditions(maxBytes(100), maxBytes(50)), maxBytes(50))
      assert.deepEqual(allConditions(maxBytes(50), maxBytes(100)), maxBytes(50))
      assert.deepEqual(allConditions({ numeric_greater_than: { 'cos:content-length': 1 } }, { numeric_greater_than: { 'cos:content-length': '10' } }), {
        numeric_greater_than: { 'cos:content-length': '10' },
      })
    })
    it('throws on a repeated pair it cannot combine', () => {
      assert.throws(() => allConditions(contentTypes(['image/*']), contentTypes(['video/*'])), /given twice with different values/)
      assert.throws(() => allConditions(sourceIps(['1.1.1.1']), sourceIps(['2.2.2.2'])), /given twice/)
      assert.throws(() => allConditions({ numeric_equal: { 'cos:content-length': 1 } }, { numeric_equal: { 'cos:content-length': 2 } }), /given twice/)
    })
    it('joins _not_ lists and intersects equality lists, which is what "both hold" means for CAM\'s any-of values', () => {
      assert.deepEqual(
        allConditions(
          { string_not_equal: { 'cos:x-cos-acl': 'public-read' } },
          { string_not_equal: { 'cos:x-cos-acl': ['public-read-write', 'public-read'] } },
        ),
        { string_not_equal: { 'cos:x-cos-acl': ['public-read', 'public-read-write'] } },
      )
      assert.deepEqual(allConditions(sourceIps(['10.0.0.0/8']), { ip_not_equal: { 'qcs:ip': '10.1.0.0/16' } }, { ip_not_equal: { 'qcs:ip': '10.2.0.0/16' } }), {
        ip_equal: { 'qcs:ip': ['10.0.0.0/8'] },
        ip_not_equal: { 'qcs:ip': ['10.1.0.0/16', '10.2.0.0/16'] },
      })
      assert.deepEqual(
        allConditions(
          { string_equal: { 'cos:x-cos-storage-class': ['STANDARD', 'STANDARD_IA', 'ARCHIVE'] } },
          { string_equal: { 'cos:x-cos-storage-class': ['ARCHIVE', 'STANDARD'] } },
        ),
        { string_equal: { 'cos:x-cos-storage-class': ['STANDARD', 'ARCHIVE'] } },
      )
      assert.deepEqual(allConditions({ numeric_equal: { 'cos:content-length': [1, 2] } }, { numeric_equal: { 'cos:content-length': ['2', 3] } }), {
        numeric_equal: { 'cos:content-length': [2] },
      })
      // Nothing in common would allow nothing: refused rather than built.
      assert.throws(() => allConditions({ string_equal: { 'cos:x-cos-acl': 'private' } }, { string_equal: { 'cos:x-cos-acl': 'public-read' } }), /given twice/)
    })
    it('refuses a condition key COS does not document, with the key it was probably meant to be', () => {
      assert.match(
        checkCondition({ numeric_less_than_equal: { 'cos:content_length': 5 } }) ?? '',
        /unknown condition key "cos:content_length"; did you mean 'cos:content-length'\?/,
      )
      assert.match(checkCondition({ string_equal: { 'qcs:current-time': '2030-01-01' } }) ?? '', /did you mean 'qcs:current_time'/)
      assert.doesNotMatch(checkCondition({ string_equal: { 'cos:zzzzzzzz': 'x' } }) ?? '', /did you mean/)
      assert.throws(() => allConditions(maxBytes(1), { numeric_less_than_equal: { 'cos:content_length': 5 } }), /did you mean 'cos:content-length'/)
    })
    it('validates every block', () => {
      assert.throws(() => allConditions(maxBytes(1), { nonsense: {} }), /allConditions: condition has unknown operator/)
    })
  })

  describe('parsers', () => {
    it('parseOperator knows _if_exist and nothing else', () => {
      assert.deepEqual(parseOperator('string_not_like_if_exist'), { kind: 'string', test: 'like', negated: true, ifExist: true })
      assert.deepEqual(parseOperator('numeric_less_than_equal'), { kind: 'numeric', test: 'le', negated: false, ifExist: false })
      for (const op of ['', '_if_exist', 'string_equal_if_exist_if_exist', 'STRING_EQUAL', 'toString', '__proto__']) {
        assert.equal(parseOperator(op), undefined, op)
      }
    })
    it('parseNumber is strict', () => {
      assert.equal(parseNumber(12), 12)
      assert.equal(parseNumber('12'), 12)
      assert.equal(parseNumber('-1.5'), -1.5)
      for (const v of ['', ' 1', '1 ', '0x10', '1e3', '01', '+1', 'Infinity', Number.NaN, Number.POSITIVE_INFINITY, true, null]) {
        assert.equal(parseNumber(v), undefined, String(v))
      }
    })
    it('parseDate reads ISO 8601 and the CAM "YYYY-MM-DD hh:mm:ss" form as UTC', () => {
      assert.equal(parseDate('2022-05-31 00:00:00'), Date.UTC(2022, 4, 31))
      assert.equal(parseDate('2022-05-31T00:00:00Z'), Date.UTC(2022, 4, 31))
      assert.equal(parseDate('2022-05-31'), Date.UTC(2022, 4, 31))
      assert.equal(parseDate('2022-05-31T08:00:00+08:00'), Date.UTC(2022, 4, 31))
      assert.equal(parseDate('2022-05-31T00:00:00.5Z'), Date.UTC(2022, 4, 31) + 500)
      for (const v of ['2022-02-29', '2022-13-01', '2022-05-31T24:00:00', '31/05/2022', '2022-5-31', 1653955200000]) {
        assert.equal(parseDate(v), undefined, String(v))
      }
    })
    it('parseBool', () => {
      assert.equal(parseBool(true), true)
      assert.equal(parseBool('false'), false)
      for (const v of ['TRUE', 1, 0, 'yes', null]) assert.equal(parseBool(v), undefined, String(v))
    })
    it('parseIpRange and ipInRange', () => {
      const inside = (ip: string, range: string): boolean => {
        const a = parseIpRange(ip, false)
        const r = parseIpRange(range)
        assert.ok(a && r, `${ip} in ${range}`)
        return ipInRange(a, r)
      }
      assert.equal(inside('192.168.1.77', '192.168.1.0/24'), true)
      assert.equal(inside('192.168.2.1', '192.168.1.0/24'), false)
      assert.equal(inside('10.217.182.200', '10.217.182.3/24'), true)
      assert.equal(inside('8.8.8.8', '0.0.0.0/0'), true)
      assert.equal(inside('1.2.3.4', '1.2.3.4'), true)
      assert.equal(inside('1.2.3.5', '1.2.3.4'), false)
      assert.equal(inside('2001:db8::1', '2001:db8::/32'), true)
      assert.equal(inside('2001:db9::1', '2001:db8::/32'), false)
      assert.equal(inside('::1', '::1'), true)
      assert.equal(inside('::ffff:192.168.1.5', '192.168.1.0/24'), true)
      assert.equal(inside('192.168.1.5', '::ffff:192.168.1.0/120'), true)
      assert.equal(inside('1.2.3.4', '::/0'), false)
      assert.equal(inside('2001:db8:0:0:0:0:2:1', '2001:db8::2:1'), true)
      assert.equal(parseIpRange('10.0.0.0/8', false), undefined)
      for (const v of [
        '1.2.3',
        '1.2.3.4.5',
        '01.2.3.4',
        '1.2.3.4/-1',
        '::1/129',
        '1::2::3',
        ':::',
        '1:2:3:4:5:6:7:8:9',
        'fe80::1%eth0',
        '1.2.3.4::',
        'g::1',
        5,
      ]) {
        assert.equal(parseIpRange(v), undefined, String(v))
      }
    })
  })
})
