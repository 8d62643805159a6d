// CAM policy simulator for COS and CI: the one place that decides whether a grant contains a request.
import { normalizeAction } from './cos/actions.js'
import { isBucketName, isRegionName, resourceBase as serviceBase } from './cos/names.js'
import { type OperatorSpec, ipInRange, isPlainObject, parseBool, parseDate, parseIpRange, parseNumber, parseOperator } from './conditions.js'
import type { CamPolicy, CamStatement, PrefixRequest, SimulatedRequest } from './types.js'

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
// Generous bound on keys/prefixes so the worst-case matching cost stays small.
const MAX_KEY_LENGTH = 4096

/** The resource string up to the key for `action`'s service; undefined for names that could not be a COS bucket/region. */
function resourceBase(action: string, bucket: unknown, region: unknown): string | undefined {
  if (!isBucketName(bucket) || !isRegionName(region)) return undefined
  return serviceBase(action.startsWith('name/ci:') ? 'ci' : 'cos', region, bucket)
}

// Keys are compared as they are (no Unicode normalisation). Ill-formed UTF-16 cannot be a COS key;
// refusing it also makes UTF-16 code-unit matching below equal to code-point matching.
function validKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= MAX_KEY_LENGTH && !LONE_SURROGATE_RE.test(key)
}

// ---- wildcard matching ----

/** `*` matches any run (including `/` and nothing); with `question`, `?` matches one element. */
function wildcard(pattern: ArrayLike<string>, text: ArrayLike<string>, question: boolean): boolean {
  let p = 0
  let t = 0
  let starP = -1
  let starT = 0
  while (t < text.length) {
    const c = p < pattern.length ? pattern[p] : undefined
    if (c === '*') {
      starP = p++
      starT = t
    } else if (c !== undefined && (c === text[t] || (question && c === '?'))) {
      p++
      t++
    } else if (starP !== -1) {
      p = starP + 1
      t = ++starT
    } else {
      return false
    }
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

/** `literal*` or `literal`: the shape of every resource this package builds, matched without automata. */
function simpleShape(pattern: string): { literal: string; star: boolean } | undefined {
  const star = pattern.indexOf('*')
  if (star === -1) return { literal: pattern, star: false }
  return star === pattern.length - 1 ? { literal: pattern.slice(0, -1), star: true } : undefined
}

/** For each position in `pattern`, whether a match can be there after reading all of `text`. */
function statesAfter(pattern: string, text: string): boolean[] {
  const n = pattern.length
  const closeStars = (states: boolean[]): boolean[] => {
    for (let p = 0; p < n; p++) if (states[p] && pattern[p] === '*') states[p + 1] = true
    return states
  }
  let states = new Array<boolean>(n + 1).fill(false)
  states[0] = true
  closeStars(states)
  for (let t = 0; t < text.length && states.includes(true); t++) {
    const next = new Array<boolean>(n + 1).fill(false)
    for (let p = 0; p < n; p++) {
      if (!states[p]) continue
      if (pattern[p] === '*') next[p] = true
      else if (pattern[p] === text[t]) next[p + 1] = true
    }
    states = closeStars(next)
  }
  return states
}

/** Does `pattern` match at least one string starting with `prefix` (and longer than it, with `longer`)? */
function overlapsPrefix(pattern: string, prefix: string, longer: boolean): boolean {
  const shape = simpleShape(pattern)
  if (shape?.star) return shape.literal.startsWith(prefix) || prefix.startsWith(shape.literal)
  if (shape) return shape.literal.startsWith(prefix) && shape.literal.length >= prefix.length + (longer ? 1 : 0)
  return statesAfter(pattern, prefix).some((on, p) => on && (!longer || p < pattern.length))
}

/**
 * Does `pattern` match every string starting with `prefix`? Keys draw on all of Unicode, so this
 * holds exactly when, after reading `prefix`, the rest of the pattern can be nothing but `*`.
 */
function coversPrefix(pattern: string, prefix: string): boolean {
  const shape = simpleShape(pattern)
  if (shape) return shape.star && prefix.startsWith(shape.literal)
  return statesAfter(pattern, prefix).some((on, p) => on && p < pattern.length && /^\*+$/.test(pattern.slice(p)))
}

// ---- statements ----

type Effect = 'allow' | 'deny' | undefined

// The policy type only admits `allow`, but a simulator must honour `deny` if one is there.
function effectOf(statement: CamStatement): Effect {
  const effect: unknown = statement.effect
  if (effect === 'allow') return 'allow'
  return typeof effect === 'string' && effect.toLowerCase() === 'deny' ? 'deny' : undefined
}

function stringsOf(value: unknown): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value]
  return list.filter((item): item is string => typeof item === 'string')
}

function statementsOf(policy: CamPolicy): CamStatement[] {
  return Array.isArray(policy?.statement) ? policy.statement.filter((s) => typeof s === 'object' && s !== null) : []
}

/** Whether a statement's action list names `action` (canonical `name/cos:X` or `name/ci:X`), CAM wildcards included. */
function namesAction(statement: CamStatement, action: string): boolean {
  const service = action.startsWith('name/ci:') ? 'ci' : 'cos'
  const name = action.slice(`name/${service}:`.length)
  return stringsOf(statement.action).some((pattern) => {
    if (pattern === '*') return true
    const bare = pattern.startsWith(`name/${service}:`)
      ? pattern.slice(service.length + 6)
      : pattern.startsWith(`${service}:`)
        ? pattern.slice(service.length + 1)
        : undefined
    return bare !== undefined && wildcard(bare, name, false)
  })
}

// ---- conditions ----

/** One policy value against the request value; undefined when either cannot be read as the operator's kind. */
function compare(spec: OperatorSpec, actual: unknown, expected: unknown): boolean | undefined {
  switch (spec.kind) {
    case 'string': {
      const ok = (v: unknown): v is string | number => typeof v === 'string' || typeof v === 'number'
      if (!ok(actual) || !ok(expected)) return undefined
      const a = String(actual)
      const e = String(expected)
      if (spec.test === 'eq_ignore_case') return a.toLowerCase() === e.toLowerCase()
      // string_like works on code points so that `?` is one character even outside the BMP.
      return spec.test === 'like' ? wildcard(Array.from(e), Array.from(a), true) : a === e
    }
    case 'numeric':
    case 'date': {
      const parse = spec.kind === 'numeric' ? parseNumber : parseDate
      const a = parse(actual)
      const e = parse(expected)
      if (a === undefined || e === undefined) return undefined
      if (spec.test === 'lt') return a < e
      if (spec.test === 'le') return a <= e
      if (spec.test === 'gt') return a > e
      if (spec.test === 'ge') return a >= e
      return a === e
    }
    case 'bool': {
      const a = parseBool(actual)
      const e = parseBool(expected)
      return a === undefined || e === undefined ? undefined : a === e
    }
    case 'ip': {
      const a = parseIpRange(actual, false)
      const e = parseIpRange(expected, true)
      return a === undefined || e === undefined ? undefined : ipInRange(a, e)
    }
  }
}

/**
 * true/false when the condition block holds or not in `context`; undefined when it cannot be
 * evaluated (unknown operator, unreadable value), which callers treat as fail-closed.
 */
function conditionHolds(condition: unknown, context: Record<string, unknown>): boolean | undefined {
  if (condition === undefined) return true
  if (!isPlainObject(condition)) return undefined
  let holds = true
  for (const [operator, keys] of Object.entries(condition)) {
    const spec = parseOperator(operator)
    if (!spec || !isPlainObject(keys)) return undefined
    for (const [key, expected] of Object.entries(keys)) {
      let clause: boolean | undefined
      if (!Object.hasOwn(context, key)) {
        clause = spec.ifExist
      } else {
        // Several values mean "any of"; for a `_not_` operator, "none of".
        const values: unknown[] = Array.isArray(expected) ? expected : [expected]
        let any: boolean | undefined = values.length === 0 ? undefined : false
        for (const value of values) {
          const hit = compare(spec, context[key], value)
          if (hit === undefined) return undefined
          any ||= hit
        }
        clause = any === undefined ? undefined : spec.negated ? !any : any
      }
      if (clause === undefined) return undefined
      holds &&= clause
    }
  }
  return holds
}

// ---- public API ----

/**
 * True iff some `allow` statement names the action, has a resource matching
 * `qcs::cos:<region>:uid/<APPID>:<bucket>/<key>` (CI actions: `qcs::ci:<region>:uid/<APPID>:bucket/<bucket>/<key>`) and has all its conditions hold in `context`
 * (a missing key fails unless the operator ends in `_if_exist`), and no matching `deny` applies.
 * A condition that cannot be evaluated blocks an allow and triggers a deny.
 */
export function isAllowed(policy: CamPolicy, request: SimulatedRequest): boolean {
  const action = normalizeAction(request.action)
  const base = action === undefined ? undefined : resourceBase(action, request.bucket, request.region)
  if (action === undefined || base === undefined || !validKey(request.key) || request.key === '') return false
  const resource = base + request.key
  const context: Record<string, unknown> = isPlainObject(request.context) ? request.context : {}
  let allowed = false
  for (const statement of statementsOf(policy)) {
    const effect = effectOf(statement)
    if (effect === undefined || !namesAction(statement, action)) continue
    if (!stringsOf(statement.resource).some((pattern) => wildcard(pattern, resource, false))) continue
    const holds = conditionHolds(statement.condition, context)
    if (effect === 'deny' && holds !== false) return false
    if (effect === 'allow' && holds === true) allowed = true
  }
  return allowed
}

/**
 * Index of the first `allow` statement that names the action and has one resource covering every
 * key the requested prefix can match (`uploads/alice/*` covers `uploads/alice/a/*` and
 * `uploads/alice/x.jpg`, not `uploads/alice*`); -1 if none, or if any `deny` naming the action
 * could apply to some of those keys. Structural only: conditions are not evaluated (a deny's
 * conditions are assumed to hold), so the caller copies the covering statement's condition.
 */
export function findCoveringStatement(policy: CamPolicy, request: PrefixRequest): number {
  const action = normalizeAction(request.action)
  const base = action === undefined ? undefined : resourceBase(action, request.bucket, request.region)
  const prefix = request.prefix
  if (action === undefined || base === undefined || !validKey(prefix)) return -1
  const star = prefix.endsWith('*')
  const literal = star ? prefix.slice(0, -1) : prefix
  if (literal.includes('*') || (!star && literal === '')) return -1
  const target = base + literal
  let found = -1
  for (const [index, statement] of statementsOf(policy).entries()) {
    const effect = effectOf(statement)
    if (effect === undefined || !namesAction(statement, action)) continue
    const resources = stringsOf(statement.resource)
    if (effect === 'deny') {
      // For the bare prefix `*` the empty key (the bucket itself) is not one of the requested keys.
      const reaches = (pattern: string): boolean => (star ? overlapsPrefix(pattern, target, literal === '') : wildcard(pattern, target, false))
      if (resources.some(reaches)) return -1
    } else if (found === -1 && resources.some((pattern) => (star ? coversPrefix(pattern, target) : wildcard(pattern, target, false)))) {
      found = index
    }
  }
  return found
}

/**
 * True iff one `allow` statement covers every key `prefix` can match and no `deny` may apply
 * (see findCoveringStatement). A prefix without `*` is that single key, judged like isAllowed
 * but without evaluating conditions.
 */
export function isPrefixAllowed(policy: CamPolicy, request: PrefixRequest): boolean {
  return findCoveringStatement(policy, request) >= 0
}
