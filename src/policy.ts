// Grant → CAM policy: normalises what authorize returned, refuses over-wide grants, builds one statement per grant statement.
import { RouteError } from './errors.js'
import { normalizeAction } from './cos-actions.js'
import { checkCondition } from './conditions.js'
import { appIdOf, BUCKET_PATTERN, checkDuration, REGION_PATTERN } from './options.js'
import type { CamCondition, CamPolicy, Grant, GrantStatement } from './types.js'

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
}

/** COS object keys are at most 850 bytes of UTF-8. */
const MAX_KEY_BYTES = 850
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/

/** Turns the app's grant into a checked plan, or throws 500 InvalidGrant naming the broken rule. */
export function planGrant(grant: Grant, defaults: PlanDefaults): GrantPlan {
  const subject = checkSubject(grant.subject)
  const bucket = grant.bucket ?? defaults.bucket
  if (typeof bucket !== 'string' || !BUCKET_PATTERN.test(bucket)) invalid(`grant.bucket must be BucketName-APPID (got ${JSON.stringify(bucket)})`)
  const region = grant.region ?? defaults.region
  if (typeof region !== 'string' || !REGION_PATTERN.test(region)) invalid(`grant.region must be a COS region such as 'ap-guangzhou' (got ${JSON.stringify(region)})`)
  const durationSeconds = grant.durationSeconds ?? defaults.durationSeconds
  const durationProblem = checkDuration(durationSeconds, defaults.assumeRole)
  if (durationProblem) invalid(`grant.durationSeconds ${durationProblem.problem}; ${durationProblem.fix}`)

  if (grant.condition !== undefined) checkGrantCondition('grant.condition', grant.condition)
  const given: GrantStatement[] = grant.statements !== undefined
    ? checkStatementList(grant.statements)
    : [{ actions: grant.actions as string[], prefixes: grant.prefixes as string[] }]
  const where = grant.statements !== undefined ? (i: number) => `grant.statements[${i}]` : () => 'grant'

  const statements = given.map((statement, i) => planStatement(statement, where(i), grant.condition))
  return { subject, bucket, region, durationSeconds, statements }
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

function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string') invalid(`grant.subject must be a string that identifies the user (got ${typeof subject}); e.g. String(user.id)`)
  if (subject.length === 0 || subject.length > 128) invalid('grant.subject must be 1 to 128 characters')
  if (/[/*]/.test(subject) || CONTROL_CHARACTERS.test(subject)) invalid("grant.subject must not contain '/', '*' or control characters: it names the user's own folder and cache entry")
  return subject
}

function checkStatementList(statements: unknown): GrantStatement[] {
  if (!Array.isArray(statements) || statements.length === 0) invalid('grant.statements must be a non-empty array of { actions, prefixes }')
  for (const [i, statement] of statements.entries()) {
    if (statement === null || typeof statement !== 'object') invalid(`grant.statements[${i}] must be an object { actions, prefixes, condition?, shared? }`)
  }
  return statements as GrantStatement[]
}

function planStatement(statement: GrantStatement, where: string, grantCondition: CamCondition | undefined): PlannedStatement {
  if (!Array.isArray(statement.actions) || statement.actions.length === 0) invalid(`${where}.actions must be a non-empty array of COS action names such as 'name/cos:PutObject'`)
  if (!Array.isArray(statement.prefixes) || statement.prefixes.length === 0) invalid(`${where}.prefixes must be a non-empty array such as ['uploads/<user>/*']`)

  const actions = statement.actions.map((action, i) => {
    if (typeof action === 'string' && action.includes('*')) {
      invalid(`${where}.actions[${i}] '${action}' is a wildcard; list the exact actions the page needs (e.g. name/cos:PutObject)`)
    }
    const name = typeof action === 'string' ? normalizeAction(action) : undefined
    if (name === undefined) invalid(`${where}.actions[${i}] ${JSON.stringify(action)} is not a COS action name; use e.g. 'name/cos:PutObject'`)
    return name
  })
  const prefixes = statement.prefixes.map((prefix, i) => {
    const problem = prefixProblem(prefix)
    if (problem) invalid(`${where}.prefixes[${i}] ${JSON.stringify(prefix)} ${problem}; scope it to the user, e.g. 'uploads/<subject>/*'`)
    return prefix
  })
  if (statement.condition !== undefined) checkGrantCondition(`${where}.condition`, statement.condition)
  return {
    actions: [...new Set(actions)],
    prefixes: [...new Set(prefixes)],
    condition: statement.condition ?? grantCondition,
    shared: statement.shared === true,
  }
}

function checkGrantCondition(where: string, condition: unknown): void {
  const problem = checkCondition(condition)
  if (problem) invalid(`${where}: ${problem}`)
}

function invalid(message: string): never {
  throw new RouteError(500, 'InvalidGrant', message)
}
