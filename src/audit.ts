// auditGrant: a grant's action × resource matrix with every finding, from the same walker and rules the router applies.
import { isWriteAction, serviceOf } from './cos/actions.js'
import { resourceOf } from './cos/names.js'
import { isRecord } from './grant/describe.js'
import { encodedPolicyLength } from './grant/limits.js'
import { reviewGrant } from './grant/plan.js'
import { modernTemplate } from './grant/subject.js'
import { DURATION_LIMITS } from './options.js'
import { buildPolicy } from './policy.js'
import type { AuditOptions, AuditReport, AuditRow, GrantFinding } from './types.js'

/**
 * Audits a grant as the router would judge it: every rule's findings (all of them, not just the first)
 * and the action × resource matrix ("3 actions and 2 resources are 6 scenarios: check each").
 */
export function auditGrant(grant: unknown, options: AuditOptions): AuditReport {
  const given = options.subject === undefined ? grant : asSubject(grant, options.subject)
  const walk = reviewGrant(given, {
    bucket: options.bucket,
    region: options.region,
    durationSeconds: options.durationSeconds ?? DURATION_LIMITS.defaultSeconds,
    assumeRole: options.assumeRole === true,
  })
  const rows: AuditRow[] = walk.statements.flatMap(({ where, actions, prefixes }) =>
    actions.flatMap((action) =>
      prefixes.map((prefix) => ({
        statement: where,
        action,
        prefix,
        resource: walk.located ? resourceOf(serviceOf(action), walk.region as string, walk.bucket as string, prefix) : prefix,
        write: isWriteAction(action),
        findings: [...new Set(walk.findings.filter((finding) => concerns(finding, where, action, prefix)).map((finding) => finding.rule))],
      })),
    ),
  )
  const errors = walk.findings.filter((finding) => finding.severity === 'error').length
  const conditions = walk.statements.flatMap(({ where, condition }) => (condition === undefined ? [] : [{ statement: where, condition }]))
  const report: AuditReport = {
    subject: walk.subject,
    bucket: walk.bucket,
    region: walk.region,
    rows,
    findings: walk.findings,
    errors,
    warnings: walk.findings.length - errors,
    conditions,
  }
  if (walk.plan !== undefined) {
    report.policy = buildPolicy(walk.plan)
    report.policyLength = encodedPolicyLength(report.policy)
  }
  return report
}

/** The grant as `subject` would receive it: that subject, and the older `${subject}` placeholder read as the router's `{subject}` template. */
function asSubject(grant: unknown, subject: string): unknown {
  if (!isRecord(grant)) return grant
  const fill = (prefixes: unknown): unknown =>
    Array.isArray(prefixes) ? prefixes.map((p: unknown) => (typeof p === 'string' ? modernTemplate(p) : p)) : prefixes
  const out: Record<string, unknown> = { ...grant, subject }
  if (grant['prefixes'] !== undefined) out['prefixes'] = fill(grant['prefixes'])
  if (Array.isArray(grant['statements'])) {
    out['statements'] = grant['statements'].map((statement: unknown) =>
      isRecord(statement) && statement['prefixes'] !== undefined ? { ...statement, prefixes: fill(statement['prefixes']) } : statement,
    )
  }
  return out
}

/** A finding belongs to a cell when it names the cell's statement and its prefix and/or one of its actions. */
function concerns(finding: GrantFinding, statement: string, action: string, prefix: string): boolean {
  if (finding.statement !== statement) return false
  if (finding.prefix === undefined && finding.actions === undefined) return false
  return (finding.prefix === undefined || finding.prefix === prefix) && (finding.actions === undefined || finding.actions.includes(action))
}
