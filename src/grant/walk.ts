// The one walker of grants: runs every rule in order over a grant and gives the plan, the findings and the statements as given.
import { isBucketName, isRegionName } from '../cos/names.js'
import { checkDuration } from '../options.js'
import { buildPolicy, type GrantPlan, type PlannedStatement } from '../policy.js'
import type { CamCondition } from '../types.js'
import { isRecord, show } from './describe.js'
import { encodedPolicyLength, GRANT_LIMITS } from './limits.js'
import type { GrantReview } from './review.js'
import { checkGrantCondition, planStatement, unknownFields, type GivenStatement } from './statement.js'
import { checkSubject } from './subject.js'
import { checkReads, checkWrites } from './writes.js'

const GRANT_FIELDS = ['subject', 'actions', 'prefixes', 'condition', 'statements', 'durationSeconds', 'bucket', 'region']
/** Durations beyond this are reported: it is already the most a root-account key may live, and 4× the default. */
const LONG_DURATION_SECONDS = 7200

/** The router's defaults for what a grant leaves out. */
export interface WalkDefaults {
  bucket: string
  region: string
  durationSeconds: number
  assumeRole: boolean
  /** The router's `requireSubjectTemplates`: a literal write prefix that relies on the subject-segment rule is refused. */
  requireSubjectTemplates?: boolean
}

/** What the walk saw: the plan (meaningful only without errors), where the grant points, and its statements as given. */
export interface GrantWalk {
  plan: GrantPlan | undefined
  /** `grant.subject` when it is a string, valid or not. */
  subject: string | undefined
  bucket: string | undefined
  region: string | undefined
  /** Bucket and region are both valid, so resources can be built. */
  located: boolean
  statements: GivenStatement[]
}

/**
 * Runs every rule in order: shape of the grant, then each statement (counts before items), then the write rule,
 * the policy size, and last the warnings only the audit reports (reads outside the subject's path, long keys).
 */
export function walkGrant(review: GrantReview, grant: unknown, defaults: WalkDefaults): GrantWalk {
  if (!isRecord(grant)) {
    review.error({
      rule: 'grant-shape',
      statement: 'grant',
      message: `the grant must be an object { subject, actions, prefixes, ... } (got ${Array.isArray(grant) ? 'an array' : typeof grant})`,
      fix: 'return a grant object from authorize, null (401) or false (403)',
    })
    return { plan: undefined, subject: undefined, bucket: defaults.bucket, region: defaults.region, located: false, statements: [] }
  }
  unknownFields(review, 'grant', grant, GRANT_FIELDS)
  const subject = checkSubject(review, grant['subject'])
  const { bucket, region, durationSeconds, valid } = checkPlace(review, grant, defaults)

  const grantCondition = grant['condition']
  if (grantCondition !== undefined) checkGrantCondition(review, 'grant', 'grant.condition', grantCondition)
  const given =
    grant['statements'] !== undefined
      ? statementList(review, grant['statements'])
      : [{ where: 'grant', statement: { actions: grant['actions'], prefixes: grant['prefixes'] } as Record<string, unknown> }]
  const statements: GivenStatement[] = []
  const planned: Array<{ where: string; planned: PlannedStatement; templated: string[] }> = []
  for (const { where, statement } of given) {
    const result = planStatement(review, statement, where, grantCondition as CamCondition | undefined, subject)
    statements.push(result.given)
    if (result.planned !== undefined) planned.push({ where, planned: result.planned, templated: result.templated })
  }

  if (subject !== undefined) {
    const requireTemplates = defaults.requireSubjectTemplates === true
    for (const { where, planned: statement, templated } of planned) checkWrites(review, subject, where, statement, { templated, requireTemplates })
  }
  let plan: GrantPlan | undefined
  if (subject !== undefined && valid && planned.length > 0) {
    plan = {
      subject,
      bucket: bucket as string,
      region: region as string,
      durationSeconds: durationSeconds as number,
      statements: planned.map((entry) => entry.planned),
    }
    checkPolicySize(review, plan)
  }
  auditWarnings(review, typeof grant['subject'] === 'string' ? grant['subject'] : undefined, statements, durationSeconds)
  return {
    plan,
    subject: typeof grant['subject'] === 'string' ? grant['subject'] : undefined,
    bucket: typeof bucket === 'string' ? bucket : undefined,
    region: typeof region === 'string' ? region : undefined,
    located: isBucketName(bucket) && isRegionName(region),
    statements,
  }
}

/** Bucket, region and duration, each the grant's own or the router's default. */
function checkPlace(
  review: GrantReview,
  grant: Record<string, unknown>,
  defaults: WalkDefaults,
): { bucket: unknown; region: unknown; durationSeconds: unknown; valid: boolean } {
  const bucket = grant['bucket'] ?? defaults.bucket
  const bucketOk = isBucketName(bucket)
  if (!bucketOk)
    review.error({
      rule: 'bucket',
      statement: 'grant',
      message: `grant.bucket must be BucketName-APPID (got ${show(bucket)})`,
      fix: "use the full bucket name from the COS console, e.g. 'examplebucket-1250000000', or leave it out for the router's bucket",
    })
  const region = grant['region'] ?? defaults.region
  const regionOk = isRegionName(region)
  if (!regionOk)
    review.error({
      rule: 'region',
      statement: 'grant',
      message: `grant.region must be a COS region such as 'ap-guangzhou' (got ${show(region)})`,
      fix: "use the bucket's region, or leave it out for the router's region",
    })
  const durationSeconds = grant['durationSeconds'] ?? defaults.durationSeconds
  const durationProblem = checkDuration(durationSeconds, defaults.assumeRole)
  if (durationProblem)
    review.error({ rule: 'duration', statement: 'grant', message: `grant.durationSeconds ${durationProblem.problem}`, fix: durationProblem.fix })
  return { bucket, region, durationSeconds, valid: bucketOk && regionOk && durationProblem === undefined }
}

function statementList(review: GrantReview, statements: unknown): Array<{ where: string; statement: Record<string, unknown> }> {
  if (!Array.isArray(statements) || statements.length === 0) {
    review.error({
      rule: 'grant-shape',
      statement: 'grant',
      message: 'grant.statements must be a non-empty array of { actions, prefixes, condition?, shared? }',
      fix: 'list one statement per set of actions that share the same prefixes, or leave statements out and use actions + prefixes',
    })
    return []
  }
  const within = review.count(
    'too-many-statements',
    'grant',
    'statements',
    statements.length,
    GRANT_LIMITS.statements,
    'a key for one page needs a few statements; split the work across requested scopes or routes',
  )
  const out: Array<{ where: string; statement: Record<string, unknown> }> = []
  for (const [i, statement] of (within ? statements : statements.slice(0, GRANT_LIMITS.statements)).entries()) {
    const where = `grant.statements[${i}]`
    if (!isRecord(statement)) {
      review.error({
        rule: 'grant-shape',
        statement: where,
        message: `${where} must be an object { actions, prefixes, condition?, shared? }`,
        fix: "e.g. { actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'] }",
      })
    } else {
      out.push({ where, statement })
    }
  }
  return out
}

/** The policy must stay well under what STS accepts (see GRANT_LIMITS). */
function checkPolicySize(review: GrantReview, plan: GrantPlan): void {
  const size = encodedPolicyLength(buildPolicy(plan))
  if (size <= GRANT_LIMITS.policyEncodedChars) return
  review.error({
    rule: 'policy-too-large',
    statement: 'grant',
    message: `the grant's policy is ${size} characters URL-encoded, over the ${GRANT_LIMITS.policyEncodedChars} this package sends (STS refuses policies over CAM's 6144-character limit)`,
    fix: 'grant fewer, shorter prefixes: one prefix ending in * instead of many exact keys, or let the front end ask for exactly the keys it uploads with a requested scope',
  })
}

/** Warnings the router does not log (see GRANT_RULES): reads outside the subject's path, keys that live long. */
function auditWarnings(review: GrantReview, subject: string | undefined, statements: GivenStatement[], durationSeconds: unknown): void {
  if (subject !== undefined) {
    for (const statement of statements) checkReads(review, subject, statement.where, statement)
  }
  const duration = durationSeconds
  if (typeof duration === 'number' && duration > LONG_DURATION_SECONDS && !review.findings.some((f) => f.rule === 'duration')) {
    review.warning({
      rule: 'long-duration',
      statement: 'grant',
      message: `keys live ${duration} s (${(duration / 3600).toFixed(1)} h): a key copied from a browser stays usable that long`,
      fix: 'keep keys short (1800 s is the default); cos-js-sdk-v5 fetches a new one when fewer than 60 s remain',
    })
  }
}
