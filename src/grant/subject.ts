// The subject rules: who a grant is for, and whether a prefix is that subject's own path.
import type { GrantReview } from './review.js'

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/
/** What String() makes of a missing or wrong user, as a whole token in any case (`user:undefined`, `null-null`, `u_NaN`): a grant built for a requester nobody checked. */
const ANONYMOUS_TOKENS = new Set(['undefined', 'null', 'nan'])

/** The subject when it passes every subject rule, else undefined (with an error in the review). */
export function checkSubject(review: GrantReview, subject: unknown): string | undefined {
  const fail = (rule: 'subject' | 'anonymous-subject', message: string, fix: string): undefined => {
    review.error({ rule, statement: 'grant', message, fix })
    return undefined
  }
  if (typeof subject !== 'string')
    return fail('subject', `grant.subject must be a string that identifies the user (got ${typeof subject})`, 'return e.g. subject: String(user.id)')
  if (subject.length === 0 || subject.length > 128)
    return fail('subject', `grant.subject must be 1 to 128 characters (got ${subject.length})`, "use the user's stable id")
  if (/[/*]/.test(subject) || CONTROL_CHARACTERS.test(subject)) {
    return fail(
      'subject',
      "grant.subject must not contain '/', '*' or control characters: it names the user's own folder and cache entry",
      "use the user's id, e.g. a number or a UUID",
    )
  }
  if (subject.includes('?')) {
    return fail('subject', "grant.subject must not contain '?': CAM reads it as a wildcard in resources", "use the user's id, e.g. a number or a UUID")
  }
  const anonymous =
    subject.split(/[^A-Za-z0-9]+/).find((token) => ANONYMOUS_TOKENS.has(token.toLowerCase())) ??
    (subject.toLowerCase().includes('[object ') ? '[object ' : undefined)
  if (anonymous !== undefined) {
    return fail(
      'anonymous-subject',
      `grant.subject is '${subject}', ${anonymous === subject ? '' : `and '${anonymous}' in it is `}what String() makes of a missing user: this key would go to a requester nobody checked`,
      "return null from authorize when no user is signed in (401), and use the signed-in user's id as subject",
    )
  }
  return subject
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

/** `{subject}` (not the audit's older `${subject}`), the contract's subject template. */
const TEMPLATE = /(?<!\$)\{subject\}/

/** Whether a prefix is a subject template. */
export function isTemplate(prefix: string): boolean {
  return TEMPLATE.test(prefix)
}

/** What is wrong with a template, or undefined: `{subject}` must be a whole path segment. */
export function templateProblem(prefix: string): string | undefined {
  const bad = prefix.split('/').some((segment) => TEMPLATE.test(segment) && segment !== '{subject}')
  return bad ? "has '{subject}' inside a path segment: it must be a whole segment, e.g. 'uploads/{subject}/*'" : undefined
}

/** The template with the subject in every `{subject}` segment. */
export function fillTemplate(prefix: string, subject: string): string {
  return prefix
    .split('/')
    .map((segment) => (segment === '{subject}' ? subject : segment))
    .join('/')
}

/** The template form of a literal prefix that holds the subject: `uploads/alice/*` → `uploads/{subject}/*`. */
export function templateOf(prefix: string, subject: string): string {
  return prefix
    .split('/')
    .map((segment) => (segment === subject ? '{subject}' : segment))
    .join('/')
}

/** The audit's older placeholder `${subject}` in the contract's form `{subject}`. */
export function modernTemplate(prefix: string): string {
  return prefix.split('${subject}').join('{subject}')
}
