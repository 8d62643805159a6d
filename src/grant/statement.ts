// One grant statement's rules: its fields, counts, action names, prefix shapes and condition; gives the planned statement.
import { isBucketConfigAction, normalizeAction } from '../cos/actions.js'
import { MAX_KEY_BYTES } from '../cos/names.js'
import { checkCondition, mergeConditions } from '../conditions.js'
import type { PlannedStatement } from '../policy.js'
import type { CamCondition } from '../types.js'
import { show } from './describe.js'
import { GRANT_LIMITS } from './limits.js'
import type { GrantReview } from './review.js'
import { fillTemplate, isTemplate, templateProblem } from './subject.js'

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/
const STATEMENT_FIELDS = ['actions', 'prefixes', 'condition', 'shared']

/** A statement as given, for the audit's matrix: strings only, known actions in full form, duplicates dropped, within the limits. */
export interface GivenStatement {
  where: string
  actions: string[]
  prefixes: string[]
  shared: boolean
  /** The effective condition: the statement's own and the grant's, merged. */
  condition?: CamCondition
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

/** A statement checked: as given (for the audit), as planned (undefined when nothing usable is left), and which prefixes came from `{subject}` templates. */
export interface StatementResult {
  given: GivenStatement
  planned: PlannedStatement | undefined
  templated: string[]
}

/** Listing actions: COS checks a listing's `prefix` parameter against the statement's resources (and `cos:prefix` conditions). */
const LISTING_ACTIONS = new Set(['name/cos:GetBucket', 'name/cos:GetBucketObjectVersions', 'name/cos:ListMultipartUploads'])

/**
 * Checks one statement and plans it. Counts come before items, so a huge list costs little; in collect mode a
 * list over its bound is still judged on its first items. `{subject}` templates are filled with `subject`.
 */
export function planStatement(
  review: GrantReview,
  statement: Record<string, unknown>,
  where: string,
  grantCondition: CamCondition | undefined,
  subject: string | undefined,
): StatementResult {
  if (where !== 'grant') unknownFields(review, where, statement, STATEMENT_FIELDS)
  const rawActions = listOf(review, statement['actions'], where, 'actions')
  const rawPrefixes = listOf(review, statement['prefixes'], where, 'prefixes')
  const shared = statement['shared']
  if (shared !== undefined && typeof shared !== 'boolean') {
    review.error({
      rule: 'grant-shape',
      statement: where,
      message: `${where}.shared must be true or false (got ${show(shared)})`,
      fix: 'set shared: true only on a statement whose write prefix every user is meant to share',
    })
  }
  const condition = statement['condition']
  if (condition !== undefined) checkGrantCondition(review, where, `${where}.condition`, condition)

  const given: GivenStatement = { where, actions: [], prefixes: [], shared: shared === true }
  const actions: string[] = []
  for (const [i, action] of rawActions.entries()) {
    const name = checkAction(review, where, `${where}.actions[${i}]`, action)
    if (name !== undefined && !actions.includes(name)) actions.push(name)
    const shown = typeof action === 'string' ? (name ?? action) : undefined
    if (shown !== undefined && !given.actions.includes(shown)) given.actions.push(shown)
  }
  const prefixes: string[] = []
  const templated: string[] = []
  for (const [i, raw] of rawPrefixes.entries()) {
    const template = typeof raw === 'string' && isTemplate(raw)
    const prefix = template && subject !== undefined ? fillTemplate(raw, subject) : raw
    const problem = (template ? templateProblem(raw) : undefined) ?? prefixProblem(prefix)
    if (problem) {
      review.error({
        rule: 'prefix-shape',
        statement: where,
        ...(typeof prefix === 'string' ? { prefix } : {}),
        message: `${where}.prefixes[${i}] ${show(raw)} ${problem}`,
        fix: "scope it to the user, e.g. 'uploads/{subject}/*' ('*' only at the end)",
      })
    } else if (!prefixes.includes(prefix as string)) {
      prefixes.push(prefix as string)
      if (template) templated.push(prefix as string)
    }
    if (typeof prefix === 'string' && !given.prefixes.includes(prefix)) given.prefixes.push(prefix)
  }
  const effective = effectiveCondition(review, where, grantCondition, condition as CamCondition | undefined)
  if (effective !== undefined && checkCondition(effective) === undefined) given.condition = effective
  checkListing(review, where, actions, prefixes, effective)
  const usable = rawActions.length > 0 && rawPrefixes.length > 0 && actions.length > 0 && prefixes.length > 0
  const planned = usable ? { actions, prefixes, condition: effective, shared: shared === true } : undefined
  return { given, planned, templated }
}

/**
 * A statement's own condition and the grant's both apply: one block requiring both (see mergeConditions). When
 * both set the same operator and key in a way one block cannot require together, the grant is refused.
 */
function effectiveCondition(review: GrantReview, where: string, grant: CamCondition | undefined, own: CamCondition | undefined): CamCondition | undefined {
  if (own === undefined || grant === undefined || where === 'grant') return own ?? grant
  if (checkCondition(own) !== undefined || checkCondition(grant) !== undefined) return own // already refused as 'condition'
  const merged = mergeConditions(grant, own)
  if ('condition' in merged) return merged.condition
  const { operator, key } = merged.conflict
  review.error({
    rule: 'condition-conflict',
    statement: where,
    message: `${where}.condition and grant.condition both set ${operator} on '${key}' with values one CAM condition cannot require together (CAM reads several values as "any of")`,
    fix: `give ${operator} '${key}' in one place only (the statement's, or the grant's), with the values that must hold`,
  })
  return undefined
}

/** A listing's `cos:prefix` condition may only name prefixes inside the statement's own prefixes. */
function checkListing(review: GrantReview, where: string, actions: string[], prefixes: string[], condition: CamCondition | undefined): void {
  const listing = actions.filter((action) => LISTING_ACTIONS.has(action))
  if (listing.length === 0 || condition === undefined) return
  const inside = (value: string): boolean => prefixes.some((prefix) => (prefix.endsWith('*') ? value.startsWith(prefix.slice(0, -1)) : value === prefix))
  for (const [operator, keys] of Object.entries(condition)) {
    const value = keys['cos:prefix']
    if (value === undefined || operator.includes('_not_')) continue
    const outside = (Array.isArray(value) ? value : [value]).map(String).filter((item) => !inside(item))
    if (outside.length === 0) continue
    review.error({
      rule: 'bucket-listing',
      statement: where,
      actions: listing,
      message: `${where} lets ${listing.join(', ')} list with cos:prefix ${outside.map((item) => `'${item}'`).join(', ')}, outside the statement's prefixes ${prefixes.map((p) => `'${p}'`).join(', ')}`,
      fix: "list only inside the statement's prefixes, e.g. prefixes ['uploads/{subject}/*'] with cos:prefix 'uploads/{subject}/' filled in",
    })
  }
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
    shapeFix: "e.g. ['uploads/{subject}/*']",
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
    review.error({
      rule: 'wildcard-action',
      statement,
      actions: [action],
      message: `${where} '${action}' is a wildcard: it grants every matching action, delete and list included`,
      fix: 'list the exact actions the page needs, e.g. name/cos:GetBucket and name/cos:GetObject for a gallery (see actionSets)',
    })
    return undefined
  }
  const name = typeof action === 'string' ? normalizeAction(action) : undefined
  if (name === undefined) {
    review.error({
      rule: 'unknown-action',
      statement,
      ...(typeof action === 'string' ? { actions: [action] } : {}),
      message: `${where} ${show(action)} is not a COS action name`,
      fix: "use a documented COS action spelled exactly, e.g. 'name/cos:PutObject' (names are case-sensitive)",
    })
  } else if (isBucketConfigAction(name)) {
    review.error({
      rule: 'bucket-config',
      statement,
      actions: [name],
      message: `${where} '${name}' acts on the bucket's configuration (policy, ACL, CORS, lifecycle, ... or the bucket itself): a front-end key never needs it, and with it a user could open or destroy the whole bucket`,
      fix: 'change bucket settings from the server with the permanent key or the console; grant the front end object actions only',
    })
    return undefined
  }
  return name
}

export function checkGrantCondition(review: GrantReview, statement: string, where: string, condition: unknown): void {
  const problem = checkCondition(condition)
  if (problem)
    review.error({
      rule: 'condition',
      statement,
      message: `${where}: ${problem}`,
      fix: "write operator → key → value(s), e.g. { numeric_less_than_equal: { 'cos:content-length': 5242880 } }, or use maxBytes / contentTypes / sourceIps",
    })
}

/** A misspelt field (`conditon`) would silently drop a restriction: refuse it. */
export function unknownFields(review: GrantReview, where: string, given: Record<string, unknown>, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      review.error({ rule: 'grant-shape', statement: where, message: `${where} has an unknown field ${show(name)}`, fix: `the fields are ${known.join(', ')}` })
    }
  }
}
