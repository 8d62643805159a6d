// Least-privilege rules beyond a grant's shape (writes only under the subject's own path, size limits) and how findings are reported.
import { LRUCache } from 'lru-cache'
import { RouteError } from './errors.js'
import { isWriteAction } from './cos-actions.js'
import type { CamPolicy, Logger } from './types.js'

/** Stable names of the rules a grant is checked against; each finding and each InvalidGrant message names one. */
export type GrantRule =
  | 'grant-shape'
  | 'subject'
  | 'anonymous-subject'
  | 'bucket'
  | 'region'
  | 'duration'
  | 'wildcard-action'
  | 'unknown-action'
  | 'prefix-shape'
  | 'condition'
  | 'too-many-statements'
  | 'too-many-prefixes'
  | 'too-many-actions'
  | 'policy-too-large'
  | 'write-outside-subject'
  | 'shared-write'
  | 'read-outside-subject'
  | 'long-duration'

/** One thing wrong with (or worth knowing about) a grant. */
export interface GrantFinding {
  rule: GrantRule
  /** `error` refuses the grant (500 InvalidGrant, no STS call); `warning` is logged once by the router and reported by the audit. */
  severity: 'error' | 'warning'
  /** The statement concerned: `grant` (top level, or the one built from actions + prefixes) or `grant.statements[i]`. */
  statement: string
  /** What is wrong, starting with where. */
  message: string
  /** How to put it right. */
  fix: string
  /** The actions the finding concerns, when it is about some cells of the action × resource matrix. */
  actions?: string[]
  /** The prefix the finding concerns, when it is about some cells of the matrix. */
  prefix?: string
}

/**
 * Bounds that keep a bug from building a giant policy. A real upload page needs a handful of statements,
 * prefixes and actions (the full upload set is 8 actions); each bound is several times that. The policy's
 * URL-encoded length (what is sent; never shorter than the JSON STS decodes) stays 1 KiB under CAM's
 * 6144-character policy limit, whichever of the two forms STS measures.
 */
export const GRANT_LIMITS = Object.freeze({
  statements: 20,
  prefixesPerStatement: 20,
  actionsPerStatement: 30,
  policyEncodedChars: 5120,
})

/** Collects findings. In `first-error` mode (the router) the first error throws 500 InvalidGrant at once. */
export class GrantReview {
  readonly findings: GrantFinding[] = []
  constructor(private readonly mode: 'first-error' | 'collect') {}

  error(finding: Omit<GrantFinding, 'severity'>): void {
    const full = withSeverity(finding, 'error')
    if (this.mode === 'first-error') throw invalidGrant(full)
    this.findings.push(full)
  }

  warning(finding: Omit<GrantFinding, 'severity'>): void {
    this.findings.push(withSeverity(finding, 'warning'))
  }

  get hasErrors(): boolean {
    return this.findings.some((finding) => finding.severity === 'error')
  }
}

// Keeps `rule, severity` first so findings read the same in JSON output.
function withSeverity({ rule, ...rest }: Omit<GrantFinding, 'severity'>, severity: GrantFinding['severity']): GrantFinding {
  return { rule, severity, ...rest }
}

/** The route's answer for a refused grant: the message names the rule, the statement and the fix. */
export function invalidGrant(finding: GrantFinding): RouteError {
  return new RouteError('InvalidGrant', `${finding.message} (rule: ${finding.rule}). Fix: ${finding.fix}`)
}

/** A count over its bound: an error naming the bound. */
export function checkCount(review: GrantReview, rule: GrantRule, where: string, what: string, count: number, limit: number, fix: string): boolean {
  if (count <= limit) return true
  review.error({ rule, statement: where, message: `${where} has ${count} ${what}, over the limit of ${limit}`, fix })
  return false
}

/**
 * Whether `prefix` has the subject as a whole path segment. The last segment of a prefix ending in `*`
 * never matches, since subjects cannot hold `*`: right, as `uploads/alice*` also covers `uploads/alice2/`.
 * An exact key's last segment counts only if it IS the subject: `avatars/alice_m.jpg` is also user
 * `alice_m`'s `avatars/<user>.jpg`.
 */
export function holdsSubject(prefix: string, subject: string): boolean {
  return prefix.split('/').includes(subject)
}

/** What the planned statement must have for the write rule. */
export interface GuardedStatement {
  actions: string[]
  prefixes: string[]
  shared: boolean
}

/**
 * Write-type actions only on prefixes that hold the subject as a path segment; elsewhere an error, or with
 * `shared: true` a warning. One finding per prefix, naming every write action on it.
 */
export function checkWrites(review: GrantReview, subject: string, where: string, statement: GuardedStatement): void {
  const writes = statement.actions.filter((action) => isWriteAction(action))
  if (writes.length === 0) return
  const reads = statement.actions.filter((action) => !isWriteAction(action))
  const own = statement.prefixes.filter((prefix) => holdsSubject(prefix, subject))
  for (const prefix of statement.prefixes) {
    if (holdsSubject(prefix, subject)) continue
    const listed = writes.join(', ')
    if (statement.shared) {
      review.warning({
        rule: 'shared-write',
        statement: where,
        actions: writes,
        prefix,
        message: `${where} lets every user ${listed} on '${prefix}' (shared: true), so any user can overwrite or delete what others put there`,
        fix: `keep shared: true only for a folder every user is meant to write; otherwise give each user their own, e.g. '${ownPrefix(prefix, '<subject>')}'`,
      })
      continue
    }
    const fix = reads.length > 0 && own.length > 0
      ? `do not join actions and resources in one statement: keep ${reads.join(', ')} on '${prefix}' in one statement and move ${listed} to a statement of its own on ${own.map((p) => `'${p}'`).join(', ')}`
      : `write under the user's own path, e.g. '${ownPrefix(prefix, subject)}', or set shared: true on the statement if every user is meant to write there`
    review.error({
      rule: 'write-outside-subject',
      statement: where,
      actions: writes,
      prefix,
      message: `${where} lets '${subject}' ${listed} on '${prefix}', which has no path segment equal to the subject, so one user could overwrite or delete other users' files`,
      fix,
    })
  }
}

/** A per-user version of `prefix` to suggest: `app/avatar/*` → `app/avatar/alice/*`, `app/avatar/alice.jpg` → `app/avatar/alice/avatar.jpg`. */
function ownPrefix(prefix: string, subject: string): string {
  const slash = prefix.lastIndexOf('/')
  const folder = prefix.slice(0, slash + 1)
  const name = prefix.slice(slash + 1)
  if (prefix.endsWith('*')) return `${folder}${subject}/*`
  const rest = name.startsWith(subject) ? name.slice(subject.length) : undefined
  if (rest !== undefined && /^[._-]/.test(rest) && rest.length > 1) {
    // alice.jpg → <folder name>.jpg; alice_m.jpg → m.jpg
    const base = rest.startsWith('.') ? (folder.split('/').at(-2) || 'file') + rest : rest.slice(1)
    return `${folder}${subject}/${base}`
  }
  return `${folder}${subject}/${name}`
}

/** The policy must stay well under what STS accepts (see GRANT_LIMITS). */
export function checkPolicySize(review: GrantReview, policy: CamPolicy): void {
  const size = encodedPolicyLength(policy)
  if (size <= GRANT_LIMITS.policyEncodedChars) return
  review.error({
    rule: 'policy-too-large',
    statement: 'grant',
    message: `the grant's policy is ${size} characters URL-encoded, over the ${GRANT_LIMITS.policyEncodedChars} this package sends (STS refuses policies over CAM's 6144-character limit)`,
    fix: 'grant fewer, shorter prefixes: one prefix ending in * instead of many exact keys, or let the front end ask for exactly the keys it uploads with a requested scope',
  })
}

/** Length of the Policy parameter as it is sent to STS. */
export function encodedPolicyLength(policy: CamPolicy): number {
  return encodeURIComponent(JSON.stringify(policy)).length
}

/** Most distinct warnings remembered per router; past that the least recent may be logged again. */
const REMEMBERED_WARNINGS = 1000

/**
 * Logs each warning once per router for the same statement content (rule, actions, prefix), not once per
 * request: a shared prefix that every user's grant names is one warning, however many users ask.
 */
export function onceWarner(logger: Logger): (finding: GrantFinding) => void {
  const seen = new LRUCache<string, true>({ max: REMEMBERED_WARNINGS })
  return (finding) => {
    const key = JSON.stringify([finding.rule, finding.actions ?? [], finding.prefix ?? ''])
    if (seen.has(key)) return
    seen.set(key, true)
    logger.warn(`express-cos-sts: ${finding.message} (rule: ${finding.rule}). ${finding.fix}`, {
      rule: finding.rule,
      statement: finding.statement,
      ...(finding.actions === undefined ? {} : { actions: finding.actions }),
      ...(finding.prefix === undefined ? {} : { prefix: finding.prefix }),
    })
  }
}
