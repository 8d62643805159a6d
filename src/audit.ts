// auditGrant: a grant's action × resource matrix with every finding, judged by the same rules the router applies.
import { isWriteAction, normalizeAction } from './cos-actions.js'
import { encodedPolicyLength, GRANT_LIMITS, holdsSubject, type GrantFinding, type GrantRule } from './guard.js'
import { BUCKET_PATTERN, DURATION_LIMITS, REGION_PATTERN } from './options.js'
import { buildPolicy, isRecord, resourceOf, reviewGrant } from './policy.js'
import type { CamPolicy } from './types.js'

/** Where and as whom to audit a grant: what createStsRouter's options and the signed-in user would supply. */
export interface AuditOptions {
  /** Audit as this user: replaces `grant.subject` and every `${subject}` in the grant's prefixes. */
  subject?: string
  /** The router's default bucket (`BucketName-APPID`); a grant's own `bucket` wins, as in the router. */
  bucket: string
  /** The router's default region; a grant's own `region` wins. */
  region: string
  /** The router's `durationSeconds` (default 1800); a grant's own wins. */
  durationSeconds?: number
  /** Judge durations by AssumeRole's limits (the router's `sts.roleArn`). */
  assumeRole?: boolean
}

/** One cell of the matrix: one action on one resource, as one statement grants it. */
export interface AuditRow {
  /** `grant` or `grant.statements[i]`. */
  statement: string
  /** `name/cos:…`, or the name as given when it is not a COS action. */
  action: string
  prefix: string
  /** The CAM resource the policy names (the prefix alone when bucket or region is invalid). */
  resource: string
  /** True for actions that change state (unknown names count as writes). */
  write: boolean
  /** Rules of the findings about this cell. */
  findings: GrantRule[]
}

export interface AuditReport {
  subject: string | undefined
  bucket: string | undefined
  region: string | undefined
  rows: AuditRow[]
  /** Every guard violation (errors), then warnings: shared writes, reads outside the subject's path, long durations. */
  findings: GrantFinding[]
  errors: number
  warnings: number
  /** The policy the router would send to STS; only when nothing is an error. */
  policy?: CamPolicy
  /** Its URL-encoded length, against GRANT_LIMITS.policyEncodedChars. */
  policyLength?: number
}

/** Durations beyond this are reported: it is already the most a root-account key may live, and 4× the default. */
const LONG_DURATION_SECONDS = 7200

const PLACEHOLDER = '${subject}'

/**
 * Audits a grant as the router would judge it: every rule's findings (all of them, not just the first)
 * and the action × resource matrix ("3 actions and 2 resources are 6 scenarios: check each").
 */
export function auditGrant(grant: unknown, options: AuditOptions): AuditReport {
  const given = options.subject === undefined ? grant : asSubject(grant, options.subject)
  const { plan, findings } = reviewGrant(given, {
    bucket: options.bucket,
    region: options.region,
    durationSeconds: options.durationSeconds ?? DURATION_LIMITS.defaultSeconds,
    assumeRole: options.assumeRole === true,
  })
  const record = isRecord(given) ? given : {}
  const subject = typeof record['subject'] === 'string' ? record['subject'] : undefined
  const bucket = pick(record['bucket'], options.bucket)
  const region = pick(record['region'], options.region)
  const located = BUCKET_PATTERN.test(bucket ?? '') && REGION_PATTERN.test(region ?? '')

  const statements = statementsOf(record)
  const rows: AuditRow[] = []
  for (const { where, actions, prefixes } of statements) {
    for (const action of actions) {
      for (const prefix of prefixes) {
        rows.push({
          statement: where,
          action,
          prefix,
          resource: located ? resourceOf(region as string, bucket as string, prefix) : prefix,
          write: isWriteAction(action),
          findings: [],
        })
      }
    }
  }

  findings.push(...readWarnings(statements, subject))
  const duration = record['durationSeconds'] ?? options.durationSeconds ?? DURATION_LIMITS.defaultSeconds
  if (typeof duration === 'number' && duration > LONG_DURATION_SECONDS && !findings.some((f) => f.rule === 'duration')) {
    findings.push({
      rule: 'long-duration',
      severity: 'warning',
      statement: 'grant',
      message: `keys live ${duration} s (${(duration / 3600).toFixed(1)} h): a key copied from a browser stays usable that long`,
      fix: 'keep keys short (1800 s is the default); cos-js-sdk-v5 fetches a new one when fewer than 60 s remain',
    })
  }
  for (const row of rows) {
    row.findings = [...new Set(findings.filter((finding) => concerns(finding, row)).map((finding) => finding.rule))]
  }

  const errors = findings.filter((finding) => finding.severity === 'error').length
  const report: AuditReport = { subject, bucket, region, rows, findings, errors, warnings: findings.length - errors }
  if (plan !== undefined) {
    report.policy = buildPolicy(plan)
    report.policyLength = encodedPolicyLength(report.policy)
  }
  return report
}

/** The grant as `subject` would receive it. */
function asSubject(grant: unknown, subject: string): unknown {
  if (!isRecord(grant)) return grant
  const fill = (prefixes: unknown): unknown =>
    Array.isArray(prefixes) ? prefixes.map((p: unknown) => (typeof p === 'string' ? p.split(PLACEHOLDER).join(subject) : p)) : prefixes
  const out: Record<string, unknown> = { ...grant, subject }
  if (grant['prefixes'] !== undefined) out['prefixes'] = fill(grant['prefixes'])
  if (Array.isArray(grant['statements'])) {
    out['statements'] = grant['statements'].map((statement: unknown) =>
      isRecord(statement) && statement['prefixes'] !== undefined ? { ...statement, prefixes: fill(statement['prefixes']) } : statement)
  }
  return out
}

interface RawStatement {
  where: string
  actions: string[]
  prefixes: string[]
  shared: boolean
}

/** The grant's statements as given (bad names kept, so their cells show), within the guard's limits. */
function statementsOf(grant: Record<string, unknown>): RawStatement[] {
  const list = grant['statements'] !== undefined
    ? (Array.isArray(grant['statements']) ? grant['statements'] : []).map((statement: unknown, i) => ({ where: `grant.statements[${i}]`, statement }))
    : [{ where: 'grant', statement: { actions: grant['actions'], prefixes: grant['prefixes'] } as unknown }]
  return list.slice(0, GRANT_LIMITS.statements).flatMap(({ where, statement }) => {
    if (!isRecord(statement)) return []
    const strings = (value: unknown, limit: number): string[] =>
      Array.isArray(value) ? value.slice(0, limit).filter((item): item is string => typeof item === 'string') : []
    const actions = strings(statement['actions'], GRANT_LIMITS.actionsPerStatement).map((action) => normalizeAction(action) ?? action)
    const prefixes = strings(statement['prefixes'], GRANT_LIMITS.prefixesPerStatement)
    return [{ where, actions: [...new Set(actions)], prefixes: [...new Set(prefixes)], shared: statement['shared'] === true }]
  })
}

/** Reads on a path that is not the subject's: fine for public files, worth a look for anything private. */
function readWarnings(statements: RawStatement[], subject: string | undefined): GrantFinding[] {
  if (subject === undefined) return []
  const out: GrantFinding[] = []
  for (const { where, actions, prefixes, shared } of statements) {
    // shared: true says the statement is multi-user on purpose.
    const reads = actions.filter((action) => normalizeAction(action) !== undefined && !isWriteAction(action))
    if (shared || reads.length === 0) continue
    for (const prefix of prefixes) {
      if (holdsSubject(prefix, subject)) continue
      out.push({
        rule: 'read-outside-subject',
        severity: 'warning',
        statement: where,
        actions: reads,
        prefix,
        message: `${where} lets '${subject}' ${reads.join(', ')} on '${prefix}', which is not under the subject's own path`,
        fix: 'fine if everything there is meant for every user; otherwise read under the user\'s own prefix. Set shared: true on the statement to mark it deliberate',
      })
    }
  }
  return out
}

/** A finding belongs to a cell when it names the cell's statement and its prefix and/or one of its actions. */
function concerns(finding: GrantFinding, row: AuditRow): boolean {
  if (finding.statement !== row.statement) return false
  if (finding.prefix === undefined && finding.actions === undefined) return false
  return (finding.prefix === undefined || finding.prefix === row.prefix) && (finding.actions === undefined || finding.actions.includes(row.action))
}

function pick(given: unknown, fallback: string): string | undefined {
  const value = given ?? fallback
  return typeof value === 'string' ? value : undefined
}
