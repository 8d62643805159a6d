// The write rule (writes only under the subject's own path, or a deliberate shared folder) and the audit's read warnings.
import { isWriteAction, normalizeAction } from '../cos/actions.js'
import type { GrantReview } from './review.js'
import { holdsSubject, templateOf } from './subject.js'

/** What a statement must have for the write and read rules. */
export interface GuardedStatement {
  actions: string[]
  prefixes: string[]
  shared: boolean
}

/** How the write rule treats a literal prefix that is the subject's own only because a segment equals the subject. */
export interface WriteRuleOptions {
  /** The prefixes that came from `{subject}` templates: there the subject's place is known. */
  templated: readonly string[]
  /** Refuse (instead of warn about) a literal write prefix that relies on the subject-segment rule. */
  requireTemplates: boolean
}

/**
 * Write-type actions only on prefixes that hold the subject as a path segment; elsewhere an error, or with
 * `shared: true` a warning. One finding per prefix, naming every write action on it. A literal prefix that
 * passes only because one segment equals the subject (user 'avatar' on 'app/avatar/*') is a warning, or with
 * `requireTemplates` an error, naming the `{subject}` template form.
 */
export function checkWrites(review: GrantReview, subject: string, where: string, statement: GuardedStatement, options: WriteRuleOptions): void {
  const writes = statement.actions.filter((action) => isWriteAction(action))
  if (writes.length === 0) return
  const reads = statement.actions.filter((action) => !isWriteAction(action))
  const own = statement.prefixes.filter((prefix) => holdsSubject(prefix, subject))
  for (const prefix of statement.prefixes) {
    if (holdsSubject(prefix, subject)) {
      if (!options.templated.includes(prefix)) literalPrefix(review, where, prefix, writes, subject, options.requireTemplates)
      continue
    }
    const listed = writes.join(', ')
    if (statement.shared) {
      review.warning({
        rule: 'shared-write',
        statement: where,
        actions: writes,
        prefix,
        message: `${where} lets every user ${listed} on '${prefix}' (shared: true), so any user can overwrite or delete what others put there`,
        fix: `keep shared: true only for a folder every user is meant to write; otherwise give each user their own, e.g. '${ownPrefix(prefix, '{subject}')}'`,
      })
      continue
    }
    const fix =
      reads.length > 0 && own.length > 0
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

function literalPrefix(review: GrantReview, where: string, prefix: string, writes: string[], subject: string, refuse: boolean): void {
  const template = templateOf(prefix, subject)
  const finding = {
    rule: 'literal-subject-prefix' as const,
    statement: where,
    actions: writes,
    prefix,
    message: `${where} writes on a literal prefix that is the user's own only because one of its path segments equals the subject, so a user whose id is the name of a folder there (e.g. 'avatar' with 'app/avatar/*') would pass the write rule`,
    fix: `write the prefix as the template '${template}': the router puts the subject in the {subject} segment, so the guard knows where it sits`,
  }
  if (refuse) review.error(finding)
  else review.warning(finding)
}

/** Reads on a path that is not the subject's: fine for public files, worth a look for anything private (reported by the audit). */
export function checkReads(review: GrantReview, subject: string, where: string, statement: GuardedStatement): void {
  // shared: true says the statement is multi-user on purpose.
  const reads = statement.actions.filter((action) => normalizeAction(action) !== undefined && !isWriteAction(action))
  if (statement.shared || reads.length === 0) return
  for (const prefix of statement.prefixes) {
    if (holdsSubject(prefix, subject)) continue
    review.warning({
      rule: 'read-outside-subject',
      statement: where,
      actions: reads,
      prefix,
      message: `${where} lets '${subject}' ${reads.join(', ')} on '${prefix}', which is not under the subject's own path`,
      fix: "fine if everything there is meant for every user; otherwise read under the user's own prefix. Set shared: true on the statement to mark it deliberate",
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
