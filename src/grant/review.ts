// Collects a grant's findings; in the router's mode the first error throws a GrantError at once.
import { randomBytes } from 'node:crypto'
import { ERRORS, RouteError } from '../errors.js'
import type { GrantFinding, GrantRule } from '../types.js'
import { docsLink } from './rules.js'

/**
 * A grant broke a least-privilege rule: a RouteError with code InvalidGrant (500) whose message names the rule, the
 * statement and the fix. `finding` carries the details; the router logs them and answers the caller without them.
 */
export class GrantError extends RouteError {
  readonly finding: GrantFinding
  /** A reference id, random per refusal: the caller's answer shows it, onError/logger carry it with the full message. */
  readonly ref: string
  constructor(finding: GrantFinding) {
    super('InvalidGrant', findingText(finding))
    this.finding = finding
    this.ref = randomBytes(6).toString('base64url')
  }

  /** What onError and the logger get besides the full message: the rule, where it is explained, the reference. */
  get details(): { rule: string; docs: string; ref: string } {
    return { rule: this.finding.rule, docs: docsLink(this.finding.rule), ref: this.ref }
  }

  /** What the caller sees: a generic message and the reference, never the rule's message (it shows the app's bucket layout). */
  get answer(): RouteError {
    return new RouteError('InvalidGrant', `${ERRORS.InvalidGrant.message} (ref: ${this.ref})`)
  }
}

/** A finding as one line: what is wrong, the rule's name, the fix, and where the rule is explained. */
export function findingText(finding: GrantFinding): string {
  return `${finding.message} (rule: ${finding.rule}). Fix: ${finding.fix}. See ${docsLink(finding.rule)}`
}

/** Collects findings. In `first-error` mode (the router) the first error throws GrantError at once. */
export class GrantReview {
  readonly findings: GrantFinding[] = []
  constructor(readonly mode: 'first-error' | 'collect') {}

  error(finding: Omit<GrantFinding, 'severity'>): void {
    const full = withSeverity(finding, 'error')
    if (this.mode === 'first-error') throw new GrantError(full)
    this.findings.push(full)
  }

  warning(finding: Omit<GrantFinding, 'severity'>): void {
    this.findings.push(withSeverity(finding, 'warning'))
  }

  get hasErrors(): boolean {
    return this.findings.some((finding) => finding.severity === 'error')
  }

  /** A count over its bound is an error naming the bound; returns whether the count is within it. */
  count(rule: GrantRule, where: string, what: string, count: number, limit: number, fix: string): boolean {
    if (count <= limit) return true
    this.error({ rule, statement: where, message: `${where} has ${count} ${what}, over the limit of ${limit}`, fix })
    return false
  }
}

// Keeps `rule, severity` first so findings read the same in JSON output.
function withSeverity({ rule, ...rest }: Omit<GrantFinding, 'severity'>, severity: GrantFinding['severity']): GrantFinding {
  return { rule, severity, ...rest }
}
