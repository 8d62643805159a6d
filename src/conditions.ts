// CAM condition blocks for COS: builders, a validator, and the value parsers the simulator shares.
import { CONDITION_KEYS, nearestConditionKey } from './cos/condition-keys.js'
import type { CamCondition } from './types.js'

/*
 * Operators follow the CAM docs "条件键和条件运算符" (https://cloud.tencent.com/document/product/598/10608)
 * and "生效条件" (https://cloud.tencent.com/document/product/598/73088): every operator except
 * null_equal may take the `_if_exist` suffix. string_like/string_not_like (with `*`/`?`) are the
 * ones the COS docs use for `cos:content-type`. Not supported here: binary_equal, null_equal and
 * the for_all_value/for_any_value qualifiers, which a COS upload grant has no use for.
 */

type Kind = 'string' | 'numeric' | 'date' | 'bool' | 'ip'
type Test = 'eq' | 'eq_ignore_case' | 'like' | 'lt' | 'le' | 'gt' | 'ge'

/** What an operator means: the value kind, the comparison, and whether it is a `_not_` operator. */
export interface OperatorSpec {
  readonly kind: Kind
  readonly test: Test
  /** `_not_` operators hold when NO listed value matches; the others when ANY does. */
  readonly negated: boolean
  /** `_if_exist`: the clause holds when the request has no value for the key. */
  readonly ifExist: boolean
}

const BASE_OPERATORS: ReadonlyMap<string, Omit<OperatorSpec, 'ifExist'>> = new Map<string, Omit<OperatorSpec, 'ifExist'>>([
  ['string_equal', { kind: 'string', test: 'eq', negated: false }],
  ['string_not_equal', { kind: 'string', test: 'eq', negated: true }],
  ['string_equal_ignore_case', { kind: 'string', test: 'eq_ignore_case', negated: false }],
  ['string_not_equal_ignore_case', { kind: 'string', test: 'eq_ignore_case', negated: true }],
  ['string_like', { kind: 'string', test: 'like', negated: false }],
  ['string_not_like', { kind: 'string', test: 'like', negated: true }],
  ['numeric_equal', { kind: 'numeric', test: 'eq', negated: false }],
  ['numeric_not_equal', { kind: 'numeric', test: 'eq', negated: true }],
  ['numeric_less_than', { kind: 'numeric', test: 'lt', negated: false }],
  ['numeric_less_than_equal', { kind: 'numeric', test: 'le', negated: false }],
  ['numeric_greater_than', { kind: 'numeric', test: 'gt', negated: false }],
  ['numeric_greater_than_equal', { kind: 'numeric', test: 'ge', negated: false }],
  ['date_equal', { kind: 'date', test: 'eq', negated: false }],
  ['date_not_equal', { kind: 'date', test: 'eq', negated: true }],
  ['date_less_than', { kind: 'date', test: 'lt', negated: false }],
  ['date_less_than_equal', { kind: 'date', test: 'le', negated: false }],
  ['date_greater_than', { kind: 'date', test: 'gt', negated: false }],
  ['date_greater_than_equal', { kind: 'date', test: 'ge', negated: false }],
  ['bool_equal', { kind: 'bool', test: 'eq', negated: false }],
  ['ip_equal', { kind: 'ip', test: 'eq', negated: false }],
  ['ip_not_equal', { kind: 'ip', test: 'eq', negated: true }],
])

/** The supported operators without the optional `_if_exist` suffix. */
export const conditionOperators: readonly string[] = Object.freeze([...BASE_OPERATORS.keys()])

const IF_EXIST = '_if_exist'

/** Meaning of an operator name (with or without `_if_exist`), or undefined if unsupported. */
export function parseOperator(operator: string): OperatorSpec | undefined {
  const ifExist = operator.endsWith(IF_EXIST)
  const base = BASE_OPERATORS.get(ifExist ? operator.slice(0, -IF_EXIST.length) : operator)
  return base && { ...base, ifExist }
}

// ---- value parsers (strict, shared by checkCondition and the simulator) ----

const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/

/** A finite number, or a plain decimal string such as "5242880" (no exponents, spaces or hex). */
export function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string' || value.length > 32 || !NUMBER_RE.test(value)) return undefined
  return Number(value)
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?$/

/**
 * Epoch milliseconds of an ISO 8601 date (`2030-01-01`, `2030-01-01T08:00:00+08:00`) or of the
 * `2030-01-01 00:00:00` form the CAM docs show. No zone means UTC, as qcs:current_time is UTC.
 */
export function parseDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = DATE_RE.exec(value)
  if (!m) return undefined
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const calendar = new Date(Date.UTC(year, month - 1, day))
  // Reject 2030-02-30 and friends rather than letting Date roll them over.
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined
  const ms = frac === '' ? '' : `.${frac.slice(0, 3).padEnd(3, '0')}`
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${zone}`)
  return Number.isNaN(time) ? undefined : time
}

/** `true`/`false`, as booleans or strings. */
export function parseBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  return value === 'true' ? true : value === 'false' ? false : undefined
}

/** An IPv4 or IPv6 network; a single address is a network of full length. */
export interface IpRange {
  readonly v6: boolean
  readonly base: bigint
  readonly bits: number
}

const OCTET_RE = /^(?:0|[1-9]\d{0,2})$/
const HEXTET_RE = /^[0-9a-fA-F]{1,4}$/

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let n = 0n
  for (const part of parts) {
    if (!OCTET_RE.test(part) || Number(part) > 255) return undefined
    n = (n << 8n) | BigInt(part)
  }
  return n
}

function parseHextets(text: string, allowIPv4Tail: boolean): number[] | undefined {
  if (text === '') return []
  const groups = text.split(':')
  const out: number[] = []
  for (const [i, group] of groups.entries()) {
    if (allowIPv4Tail && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIPv4(group)
      if (v4 === undefined) return undefined
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn))
    } else if (HEXTET_RE.test(group)) {
      out.push(parseInt(group, 16))
    } else {
      return undefined
    }
  }
  return out
}

function parseIPv6(text: string): bigint | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = parseHextets(halves[0] ?? '', halves.length === 1)
  const tail = halves.length === 2 ? parseHextets(halves[1] ?? '', true) : []
  if (!head || !tail) return undefined
  const given = head.length + tail.length
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...tail]
  return groups.reduce((n, group) => (n << 16n) | BigInt(group), 0n)
}

/**
 * Parse `192.168.1.5`, `192.168.1.0/24`, `2001:db8::1`, `2001:db8::/32` (CIDR only when
 * `allowCidr`). Host bits under the mask are ignored, as in the COS docs' `10.217.182.3/24`.
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`, how Node reports IPv4 peers on a dual-stack socket) is IPv4.
 */
export function parseIpRange(text: unknown, allowCidr = true): IpRange | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined
  const slash = text.indexOf('/')
  const address = slash === -1 ? text : text.slice(0, slash)
  const v6 = address.includes(':')
  const base = v6 ? parseIPv6(address) : parseIPv4(address)
  if (base === undefined) return undefined
  const width = v6 ? 128 : 32
  let bits = width
  if (slash !== -1) {
    const length = text.slice(slash + 1)
    if (!allowCidr || !OCTET_RE.test(length) || Number(length) > width) return undefined
    bits = Number(length)
  }
  if (v6 && bits >= 96 && base >> 32n === 0xffffn) return { v6: false, base: base & 0xffffffffn, bits: bits - 96 }
  return { v6, base, bits }
}

/** Whether `ip` lies inside `range` (same family, same leading `range.bits` bits). */
export function ipInRange(ip: IpRange, range: IpRange): boolean {
  if (ip.v6 !== range.v6) return false
  const shift = BigInt((range.v6 ? 128 : 32) - range.bits)
  return ip.base >> shift === range.base >> shift
}

// ---- validation ----

const MAX_KEYS = 20
const MAX_VALUES = 20
const MAX_VALUE_LENGTH = 512
// cos: and qcs: keys, plus vpc:requester_vpc which the COS condition-key docs also show.
const KEY_RE = /^(?:cos|qcs|vpc):[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/

const EXPECTED: Record<Kind, string> = {
  string: `a string or an array of strings (each at most ${MAX_VALUE_LENGTH} characters)`,
  numeric: 'a number or an array of numbers',
  date: "a date such as '2030-01-01T00:00:00Z' or an array of them",
  bool: 'true or false',
  ip: "an IPv4/IPv6 address or CIDR such as '203.0.113.0/24', or an array of them",
}

function validValue(kind: Kind, value: unknown): boolean {
  if (typeof value === 'string' && value.length > MAX_VALUE_LENGTH) return false
  switch (kind) {
    case 'string':
      return typeof value === 'string'
    case 'numeric':
      return parseNumber(value) !== undefined
    case 'date':
      return parseDate(value) !== undefined
    case 'bool':
      return parseBool(value) !== undefined
    case 'ip':
      return parseIpRange(value) !== undefined
  }
}

/** A plain `{}` object: not an array, null, class instance or function, and no own `__proto__` key. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(value, '__proto__')
}

function show(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

/**
 * Undefined when `condition` is a valid operator → key → value(s) block; otherwise a message
 * saying what is wrong and how to fix it.
 */
export function checkCondition(condition: unknown): string | undefined {
  if (!isPlainObject(condition)) {
    return "condition must be a plain object of operator → key → value(s), e.g. { string_like: { 'cos:content-type': 'image/*' } }"
  }
  const operators = Object.keys(condition)
  if (operators.length === 0) return 'condition must contain at least one operator; leave it out when there is nothing to restrict'
  for (const operator of operators) {
    const spec = parseOperator(operator)
    if (!spec) {
      return `condition has unknown operator ${show(operator)}; use one of ${conditionOperators.join(', ')} (each may end in ${IF_EXIST})`
    }
    const keys = condition[operator]
    if (!isPlainObject(keys)) return `condition.${operator} must be a plain object of condition key → value(s)`
    const names = Object.keys(keys)
    if (names.length === 0) return `condition.${operator} must name at least one condition key`
    if (names.length > MAX_KEYS) return `condition.${operator} has more than ${MAX_KEYS} condition keys`
    for (const key of names) {
      if (!KEY_RE.test(key)) {
        return `condition.${operator} has invalid condition key ${show(key)}; keys look like 'cos:content-type' or 'qcs:ip'`
      }
      if (!CONDITION_KEYS.has(key)) {
        const near = nearestConditionKey(key)
        return `condition.${operator} has unknown condition key ${show(key)}${near === undefined ? '' : `; did you mean '${near}'?`} (COS would refuse every request; the documented keys are ${[...CONDITION_KEYS].join(', ')})`
      }
      const where = `condition.${operator}['${key}']`
      const value = keys[key]
      const values: unknown[] = Array.isArray(value) ? value : [value]
      if (values.length === 0) return `${where} must not be an empty array`
      if (values.length > MAX_VALUES) return `${where} has more than ${MAX_VALUES} values`
      if (!values.every((v) => validValue(spec.kind, v))) return `${where} must be ${EXPECTED[spec.kind]}`
    }
  }
  return undefined
}

// ---- builders ----

function checked(name: string, condition: CamCondition): CamCondition {
  const problem = checkCondition(condition)
  if (problem !== undefined) throw new TypeError(`${name}: ${problem}`)
  return condition
}

function list(name: string, values: readonly string[]): string[] {
  const given: unknown = values // callers from JavaScript may pass anything
  if (!Array.isArray(given)) throw new TypeError(`${name} needs an array of strings`)
  return [...values]
}

/** Uploads of at most `n` bytes (`cos:content-length`, as the COS direct-upload docs do it). */
export function maxBytes(n: number): CamCondition {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`maxBytes needs a non-negative integer of bytes, got ${String(n)}`)
  return { numeric_less_than_equal: { 'cos:content-length': n } }
}

/** Uploads whose Content-Type matches one of `types` (`*` and `?` wildcards, e.g. `image/*`). */
export function contentTypes(types: readonly string[]): CamCondition {
  const values = list('contentTypes', types)
  const [only] = values
  return checked('contentTypes', { string_like: { 'cos:content-type': values.length === 1 && only !== undefined ? only : values } })
}

/** Requests from one of the given IPv4/IPv6 addresses or CIDR ranges. */
export function sourceIps(cidrs: readonly string[]): CamCondition {
  return checked('sourceIps', { ip_equal: { 'qcs:ip': list('sourceIps', cidrs) } })
}

type ConditionValue = CamCondition[string][string]

function valuesOf(value: ConditionValue): Array<string | number | boolean> {
  return Array.isArray(value) ? [...value] : [value]
}

function sameValues(a: ConditionValue, b: ConditionValue): boolean {
  const norm = (v: ConditionValue): string =>
    JSON.stringify(
      valuesOf(v)
        .map((x) => [typeof x, x])
        .sort(),
    )
  return norm(a) === norm(b)
}

function single(value: ConditionValue): number | undefined {
  const values = valuesOf(value)
  return values.length === 1 ? parseNumber(values[0]) : undefined
}

/**
 * One value list meaning "both hold", for the same operator and key given twice; undefined when one CAM block
 * cannot say it. CAM reads several values as "any of" (for a `_not_` operator, "none of"), so: equal lists stay;
 * two single numeric bounds become the tighter; `_not_` lists join (none of A and none of B is none of A ∪ B);
 * string_equal / numeric_equal lists keep their common values (any of A and any of B is any of A ∩ B), if any.
 * Anything else (two string_like patterns, two IP ranges, two dates) is not combined here.
 */
function mergeValues(operator: string, a: ConditionValue, b: ConditionValue): ConditionValue | undefined {
  if (sameValues(a, b)) return a
  const spec = parseOperator(operator)
  if (!spec) return undefined
  const x = single(a)
  const y = single(b)
  if (spec.kind === 'numeric' && x !== undefined && y !== undefined) {
    // Two upper (lower) bounds that must both hold are the tighter one.
    if (spec.test === 'lt' || spec.test === 'le') return x <= y ? a : b
    if (spec.test === 'gt' || spec.test === 'ge') return x >= y ? a : b
  }
  const key = (v: string | number | boolean): string => `${typeof v}:${String(v)}`
  if (spec.negated) {
    const joined = [...valuesOf(a)]
    for (const value of valuesOf(b)) if (!joined.some((known) => key(known) === key(value))) joined.push(value)
    return joined.length <= MAX_VALUES ? (joined as ConditionValue) : undefined
  }
  if (spec.test === 'eq' && (spec.kind === 'string' || spec.kind === 'numeric')) {
    const inB = new Set(valuesOf(b).map((v) => (spec.kind === 'numeric' ? `n:${String(parseNumber(v))}` : key(v))))
    const common = valuesOf(a).filter((v) => inB.has(spec.kind === 'numeric' ? `n:${String(parseNumber(v))}` : key(v)))
    return common.length === 0 ? undefined : (common as ConditionValue)
  }
  return undefined
}

/**
 * One block requiring both blocks to hold: distinct operator/key pairs are unioned, a pair given in both is merged
 * as mergeValues says. Returns the pair that cannot be merged instead, so the caller can say which.
 */
export function mergeConditions(first: CamCondition, second: CamCondition): { condition: CamCondition } | { conflict: { operator: string; key: string } } {
  const out: CamCondition = {}
  for (const block of [first, second]) {
    for (const [operator, keys] of Object.entries(block)) {
      const target = (out[operator] ??= {})
      for (const [key, value] of Object.entries(keys)) {
        const existing = target[key]
        const merged = existing === undefined ? value : mergeValues(operator, existing, value)
        if (merged === undefined) return { conflict: { operator, key } }
        target[key] = Array.isArray(merged) ? [...merged] : merged
      }
    }
  }
  return { condition: out }
}

/**
 * One block requiring every given block to hold (see mergeConditions): equal repeats kept once, numeric bounds
 * tightened, `_not_` lists joined, equality lists intersected; any other repeat throws, since one CAM block
 * cannot require both.
 */
export function allConditions(first: CamCondition, ...rest: CamCondition[]): CamCondition {
  let out: CamCondition = {}
  for (const block of [first, ...rest]) {
    const merged = mergeConditions(out, checked('allConditions', block))
    if ('conflict' in merged) {
      throw new Error(
        `allConditions: condition.${merged.conflict.operator}['${merged.conflict.key}'] is given twice with different values; ` +
          'one CAM block cannot require both, so pass a single value list for it',
      )
    }
    out = merged.condition
  }
  return out
}
