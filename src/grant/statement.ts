// One grant statement's rules: its fields, counts, action names, prefix shapes and condition; gives the planned statement.
import { normalizeAction } from '../cos/actions.js'
import { MAX_KEY_BYTES } from '../cos/names.js'
import { checkCondition } from '../conditions.js'
import type { PlannedStatement } from '../policy.js'
import type { CamCondition } from '../types.js'
import { show } from './describe.js'
import { GRANT_LIMITS } from './limits.js'
import type { GrantReview } from './review.js'

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/
const STATEMENT_FIELDS = ['actions', 'prefixes', 'condition', 'shared']

/** A statement as given, for the audit's matrix: strings only, known actions in full form, duplicates dropped, within the limits. */
export interface GivenStatement {
  where: string
  actions: string[]
  prefixes: string[]
  shared: boolean
}

/** A prefix (or exact key) that a grant or a requested scope may name; returns the rule it breaks, or undefined. */
export function prefixProblem(prefix: unknown): string | undefined {
  if (typeof prefix !== 'string' || prefix === '') return 'must be a non-empty string'
  if (prefix === '*' || prefix === '/*') return 'covers the whole bucket'
  if (prefix.startsWith('/')) return "must not start with '/' (COS keys have no leading slash)"
  if (prefix.indexOf('*') !== -1 && prefix.indexOf('*') !== prefix.length - 1) return "may have '*' only at its end"
  if (CONTROL_CHARACTERS.test(prefix)) return 'has a control character'
  if (prefix.split('/').includes('..')) return "has a '..' segment"
  if (Buffer.byteLength(prefix) > MAX_KEY_BYTES) return `is longer than COS's ${MAX_KEY_BYTES}-byte key limit`
  return undefined
}

/**
 * Checks one statement and plans it. Counts come before items, so a huge list costs little; in collect mode a
 * list over its bound is still judged on its first items. The plan is undefined when nothing usable is left.
 */
export function planStatement(review: GrantReview, statement: Record<string, unknown>, where: string, grantCondition: CamCondition | undefined): { given: GivenStatement; planned: PlannedStatement | undefined } {
  if (where !== 'grant') unknownFields(review, where, statement, STATEMENT_FIELDS)
  const rawActions = listOf(review, statement['actions'], where, 'actions')
  const rawPrefixes = listOf(review, statement['prefixes'], where, 'prefixes')
  const shared = statement['shared']
  if (shared !== undefined && typeof shared !== 'boolean') {
    review.error({ rule: 'grant-shape', statement: where, message: `${where}.shared must be true or false (got ${show(shared)})`, fix: 'set shared: true only on a statement whose write prefix every user is meant to share' })
  }
  const condition = statement['condition']
  if (condition !== undefined) checkGrantCondition(review, where, `${where}.condition`, condition)

  const given: GivenStatement = { where, actions: [], prefixes: [], shared: shared === true }
  const actions: string[] = []
  for (const [i, action] of rawActions.entries()) {
    const name = checkAction(review, where, `${where}.actions[${i}]`, action)
    if (name !== undefined && !actions.includes(name)) actions.push(name)
    const shown = typeof action === 'string' ? name ?? action : undefined
    if (shown !== undefined && !given.actions.includes(shown)) given.actions.push(shown)
  }
  const prefixes: string[] = []
  for (const [i, prefix] of rawPrefixes.entries()) {
    const problem = prefixProblem(prefix)
    if (problem) {
      review.error({ rule: 'prefix-shape', statement: where, ...(typeof prefix === 'string' ? { prefix } : {}), message: `${where}.prefixes[${i}] ${show(prefix)} ${problem}`, fix: "scope it to the user, e.g. 'uploads/<subject>/*' ('*' only at the end)" })
    } else if (!prefixes.includes(prefix as string)) {
      prefixes.push(prefix as string)
    }
    if (typeof prefix === 'string' && !given.prefixes.includes(prefix)) given.prefixes.push(prefix)
  }
  const usable = rawActions.length > 0 && rawPrefixes.length > 0 && actions.length > 0 && prefixes.length > 0
  const planned = usable ? { actions, prefixes, condition: (condition as CamCondition | undefined) ?? grantCondition, shared: shared === true } : undefined
  return { given, planned }
}

const LIST_RULES = {
  actions: {
    limit: GRANT_LIMITS.actionsPerStatement,
    rule: 'too-many-actions',
    shape: 'a non-empty array of COS action names',
    shapeFix: "list the actions the page needs, e.g. ['name/cos:PutObject', 'name/cos:PostObject'] (see actionSets)",
    countFix: 'list only the actions the page performs (actionSets.upload is 8)',
  },
  prefixes: {
    limit: GRANT_LIMITS.prefixesPerStatement,
    rule: 'too-many-prefixes',
    shape: "a non-empty array of object keys or prefixes ending in '*'",
    shapeFix: "e.g. ['uploads/<subject>/*']",
    countFix: "use one prefix ending in '*' instead of many exact keys, or a requested scope for the exact keys",
  },
} as const

/** A statement's actions or prefixes list, within its bound; [] (with an error) when it is not a non-empty array. */
function listOf(review: GrantReview, value: unknown, where: string, field: keyof typeof LIST_RULES): unknown[] {
  const rules = LIST_RULES[field]
  if (!Array.isArray(value) || value.length === 0) {
    review.error({ rule: 'grant-shape', statement: where, message: `${where}.${field} must be ${rules.shape}`, fix: rules.shapeFix })
    return []
  }
  if (!review.count(rules.rule, where, field, value.length, rules.limit, rules.countFix)) return value.slice(0, rules.limit)
  return value
}

function checkAction(review: GrantReview, statement: string, where: string, action: unknown): string | undefined {
  if (typeof action === 'string' && action.includes('*')) {
    review.error({ rule: 'wildcard-action', statement, actions: [action], message: `${where} '${action}' is a wildcard: it grants every matching action, delete and list included`, fix: 'list the exact actions the page needs, e.g. name/cos:GetBucket and name/cos:GetObject for a gallery (see actionSets)' })
    return undefined
  }
  const name = typeof action === 'string' ? normalizeAction(action) : undefined
  if (name === undefined) {
    review.error({ rule: 'unknown-action', statement, ...(typeof action === 'string' ? { actions: [action] } : {}), message: `${where} ${show(action)} is not a COS action name`, fix: "use a documented COS action spelled exactly, e.g. 'name/cos:PutObject' (names are case-sensitive)" })
  }
  return name
}

export function checkGrantCondition(review: GrantReview, statement: string, where: string, condition: unknown): void {
  const problem = checkCondition(condition)
  if (problem) review.error({ rule: 'condition', statement, message: `${where}: ${problem}`, fix: "write operator → key → value(s), e.g. { numeric_less_than_equal: { 'cos:content-length': 5242880 } }, or use maxBytes / contentTypes / sourceIps" })
}

/** A misspelt field (`conditon`) would silently drop a restriction: refuse it. */
export function unknownFields(review: GrantReview, where: string, given: Record<string, unknown>, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      review.error({ rule: 'grant-shape', statement: where, message: `${where} has an unknown field ${show(name)}`, fix: `the fields are ${known.join(', ')}` })
    }
  }
}
