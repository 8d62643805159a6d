// Grant → CAM policy: normalises what authorize returned, applies the least-privilege rules, builds one statement per grant statement.
import { normalizeAction } from './cos-actions.js'
import { checkCondition } from './conditions.js'
import { checkCount, checkPolicySize, checkWrites, GRANT_LIMITS, GrantReview, type GrantFinding } from './guard.js'
import { appIdOf, BUCKET_PATTERN, checkDuration, REGION_PATTERN } from './options.js'
import type { CamCondition, CamPolicy, Grant } from './types.js'

/** A grant statement after checks: full action names, checked prefixes, its effective condition. */
export interface PlannedStatement {
  actions: string[]
  prefixes: string[]
  condition: CamCondition | undefined
  shared: boolean
}

/** Everything needed to ask STS for one key. */
export interface GrantPlan {
  subject: string
  bucket: string
  region: string
  durationSeconds: number
  statements: PlannedStatement[]
}

export interface PlanDefaults {
  bucket: string
  region: string
  durationSeconds: number
  assumeRole: boolean
  /** Told about each warning of an accepted grant (a deliberate `shared: true` write prefix); the router logs each once. */
  onWarning?: (finding: GrantFinding) => void
}

/** COS object keys are at most 850 bytes of UTF-8. */
const MAX_KEY_BYTES = 850
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/
const GRANT_FIELDS = ['subject', 'actions', 'prefixes', 'condition', 'statements', 'durationSeconds', 'bucket', 'region']
const STATEMENT_FIELDS = ['actions', 'prefixes', 'condition', 'shared']
/** What String() makes of a missing or wrong user: a grant for one of these was built for a requester nobody checked. */
const ANONYMOUS_SUBJECTS = new Set(['undefined', 'null', 'NaN', '[object Object]'])

/** Turns the app's grant into a checked plan, or throws 500 InvalidGrant naming the first broken rule, its statement and the fix. */
export function planGrant(grant: Grant, defaults: PlanDefaults): GrantPlan {
  const review = new GrantReview('first-error')
  const plan = reviewInto(review, grant, defaults) as GrantPlan // first-error mode: any error has thrown
  for (const finding of review.findings) defaults.onWarning?.(finding)
  return plan
}

/** Every finding about a grant (errors and warnings), and the plan the router would use when there is no error. */
export function reviewGrant(grant: unknown, defaults: PlanDefaults): { plan: GrantPlan | undefined; findings: GrantFinding[] } {
  const review = new GrantReview('collect')
  const plan = reviewInto(review, grant, defaults)
  return { plan: review.hasErrors ? undefined : plan, findings: review.findings }
}

/** The policy STS receives: one statement per planned statement, so one statement's actions never meet another's resources. */
export function buildPolicy(plan: Pick<GrantPlan, 'bucket' | 'region' | 'statements'>): CamPolicy {
  return {
    version: '2.0',
    statement: plan.statements.map((statement) => ({
      effect: 'allow' as const,
      action: [...statement.actions],
      resource: statement.prefixes.map((prefix) => resourceOf(plan.region, plan.bucket, prefix)),
      ...(statement.condition === undefined ? {} : { condition: statement.condition }),
    })),
  }
}

/** `qcs::cos:<region>:uid/<APPID>:<BucketName-APPID>/<prefix>` */
export function resourceOf(region: string, bucket: string, prefix: string): string {
  return `qcs::cos:${region}:uid/${appIdOf(bucket)}:${bucket}/${prefix}`
}

/** Where a key may be used, as the 200 body's `scope` reports it. */
export function scopeSummary(statements: PlannedStatement[]): Array<{ actions: string[]; prefixes: string[] }> {
  return statements.map(({ actions, prefixes }) => ({ actions: [...actions], prefixes: [...prefixes] }))
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
 * Runs every rule in order: shape of the grant, then each statement (counts before items, so a huge grant
 * costs little), then the writes rule and the policy size. In collect mode bad items are skipped and the
 * review goes on; the returned plan is only meaningful when nothing was an error.
 */
function reviewInto(review: GrantReview, grant: unknown, defaults: PlanDefaults): GrantPlan | undefined {
  if (!isRecord(grant)) {
    review.error({ rule: 'grant-shape', statement: 'grant', message: `the grant must be an object { subject, actions, prefixes, ... } (got ${Array.isArray(grant) ? 'an array' : typeof grant})`, fix: 'return a grant object from authorize, null (401) or false (403)' })
    return undefined
  }
  unknownFields(review, 'grant', grant, GRANT_FIELDS)
  const subject = checkSubject(review, grant['subject'])

  const bucket = grant['bucket'] ?? defaults.bucket
  const bucketOk = typeof bucket === 'string' && BUCKET_PATTERN.test(bucket)
  if (!bucketOk) review.error({ rule: 'bucket', statement: 'grant', message: `grant.bucket must be BucketName-APPID (got ${show(bucket)})`, fix: "use the full bucket name from the COS console, e.g. 'examplebucket-1250000000', or leave it out for the router's bucket" })
  const region = grant['region'] ?? defaults.region
  const regionOk = typeof region === 'string' && REGION_PATTERN.test(region)
  if (!regionOk) review.error({ rule: 'region', statement: 'grant', message: `grant.region must be a COS region such as 'ap-guangzhou' (got ${show(region)})`, fix: "use the bucket's region, or leave it out for the router's region" })
  const durationSeconds = grant['durationSeconds'] ?? defaults.durationSeconds
  const durationProblem = checkDuration(durationSeconds, defaults.assumeRole)
  if (durationProblem) review.error({ rule: 'duration', statement: 'grant', message: `grant.durationSeconds ${durationProblem.problem}`, fix: durationProblem.fix })

  const grantCondition = grant['condition']
  if (grantCondition !== undefined) checkGrantCondition(review, 'grant', 'grant.condition', grantCondition)

  const given = grant['statements'] !== undefined
    ? statementList(review, grant['statements'])
    : [{ where: 'grant', statement: { actions: grant['actions'], prefixes: grant['prefixes'] } as Record<string, unknown> }]
  const statements: Array<{ where: string; planned: PlannedStatement }> = []
  for (const { where, statement } of given) {
    const planned = planStatement(review, statement, where, grantCondition as CamCondition | undefined)
    if (planned !== undefined) statements.push({ where, planned })
  }

  if (subject !== undefined) {
    for (const { where, planned } of statements) checkWrites(review, subject, where, planned)
  }
  if (subject === undefined || !bucketOk || !regionOk || durationProblem !== undefined || statements.length === 0) return undefined
  const plan: GrantPlan = { subject, bucket, region, durationSeconds: durationSeconds as number, statements: statements.map(({ planned }) => planned) }
  checkPolicySize(review, buildPolicy(plan))
  return plan
}

function checkSubject(review: GrantReview, subject: unknown): string | undefined {
  const fail = (rule: 'subject' | 'anonymous-subject', message: string, fix: string): undefined => {
    review.error({ rule, statement: 'grant', message, fix })
    return undefined
  }
  if (typeof subject !== 'string') return fail('subject', `grant.subject must be a string that identifies the user (got ${typeof subject})`, 'return e.g. subject: String(user.id)')
  if (subject.length === 0 || subject.length > 128) return fail('subject', `grant.subject must be 1 to 128 characters (got ${subject.length})`, "use the user's stable id")
  if (/[/*]/.test(subject) || CONTROL_CHARACTERS.test(subject)) {
    return fail('subject', "grant.subject must not contain '/', '*' or control characters: it names the user's own folder and cache entry", "use the user's id, e.g. a number or a UUID")
  }
  if (ANONYMOUS_SUBJECTS.has(subject)) {
    return fail('anonymous-subject', `grant.subject is '${subject}', what String() makes of a missing user: this key would go to a requester nobody checked`, 'return null from authorize when no user is signed in (401), and use the signed-in user\'s id as subject')
  }
  return subject
}

function statementList(review: GrantReview, statements: unknown): Array<{ where: string; statement: Record<string, unknown> }> {
  if (!Array.isArray(statements) || statements.length === 0) {
    review.error({ rule: 'grant-shape', statement: 'grant', message: 'grant.statements must be a non-empty array of { actions, prefixes, condition?, shared? }', fix: 'list one statement per set of actions that share the same prefixes, or leave statements out and use actions + prefixes' })
    return []
  }
  if (!checkCount(review, 'too-many-statements', 'grant', 'statements', statements.length, GRANT_LIMITS.statements, 'a key for one page needs a few statements; split the work across requested scopes or routes')) {
    return []
  }
  const out: Array<{ where: string; statement: Record<string, unknown> }> = []
  for (const [i, statement] of statements.entries()) {
    const where = `grant.statements[${i}]`
    if (!isRecord(statement)) {
      review.error({ rule: 'grant-shape', statement: where, message: `${where} must be an object { actions, prefixes, condition?, shared? }`, fix: "e.g. { actions: ['name/cos:PutObject'], prefixes: ['uploads/<subject>/*'] }" })
    } else {
      out.push({ where, statement })
    }
  }
  return out
}

function planStatement(review: GrantReview, statement: Record<string, unknown>, where: string, grantCondition: CamCondition | undefined): PlannedStatement | undefined {
  if (where !== 'grant') unknownFields(review, where, statement, STATEMENT_FIELDS)
  const rawActions = statement['actions']
  const rawPrefixes = statement['prefixes']
  let usable = true
  if (!Array.isArray(rawActions) || rawActions.length === 0) {
    review.error({ rule: 'grant-shape', statement: where, message: `${where}.actions must be a non-empty array of COS action names`, fix: "list the actions the page needs, e.g. ['name/cos:PutObject', 'name/cos:PostObject'] (see actionSets)" })
    usable = false
  } else if (!checkCount(review, 'too-many-actions', where, 'actions', rawActions.length, GRANT_LIMITS.actionsPerStatement, 'list only the actions the page performs (actionSets.upload is 8)')) {
    usable = false
  }
  if (!Array.isArray(rawPrefixes) || rawPrefixes.length === 0) {
    review.error({ rule: 'grant-shape', statement: where, message: `${where}.prefixes must be a non-empty array of object keys or prefixes ending in '*'`, fix: "e.g. ['uploads/<subject>/*']" })
    usable = false
  } else if (!checkCount(review, 'too-many-prefixes', where, 'prefixes', rawPrefixes.length, GRANT_LIMITS.prefixesPerStatement, "use one prefix ending in '*' instead of many exact keys, or a requested scope for the exact keys")) {
    usable = false
  }
  const shared = statement['shared']
  if (shared !== undefined && typeof shared !== 'boolean') {
    review.error({ rule: 'grant-shape', statement: where, message: `${where}.shared must be true or false (got ${show(shared)})`, fix: 'set shared: true only on a statement whose write prefix every user is meant to share' })
  }
  const condition = statement['condition']
  if (condition !== undefined) checkGrantCondition(review, where, `${where}.condition`, condition)
  if (!usable) return undefined

  const actions: string[] = []
  for (const [i, action] of (rawActions as unknown[]).entries()) {
    const name = checkAction(review, where, `${where}.actions[${i}]`, action)
    if (name !== undefined && !actions.includes(name)) actions.push(name)
  }
  const prefixes: string[] = []
  for (const [i, prefix] of (rawPrefixes as unknown[]).entries()) {
    const problem = prefixProblem(prefix)
    if (problem) {
      review.error({ rule: 'prefix-shape', statement: where, ...(typeof prefix === 'string' ? { prefix } : {}), message: `${where}.prefixes[${i}] ${show(prefix)} ${problem}`, fix: "scope it to the user, e.g. 'uploads/<subject>/*' ('*' only at the end)" })
    } else if (!prefixes.includes(prefix as string)) {
      prefixes.push(prefix as string)
    }
  }
  if (actions.length === 0 || prefixes.length === 0) return undefined
  return { actions, prefixes, condition: (condition as CamCondition | undefined) ?? grantCondition, shared: shared === true }
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

function checkGrantCondition(review: GrantReview, statement: string, where: string, condition: unknown): void {
  const problem = checkCondition(condition)
  if (problem) review.error({ rule: 'condition', statement, message: `${where}: ${problem}`, fix: "write operator → key → value(s), e.g. { numeric_less_than_equal: { 'cos:content-length': 5242880 } }, or use maxBytes / contentTypes / sourceIps" })
}

/** A misspelt field (`conditon`) would silently drop a restriction: refuse it. */
function unknownFields(review: GrantReview, where: string, given: Record<string, unknown>, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) {
      review.error({ rule: 'grant-shape', statement: where, message: `${where} has an unknown field ${show(name)}`, fix: `the fields are ${known.join(', ')}` })
    }
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return Array.isArray(value) ? 'an array' : typeof value
}
