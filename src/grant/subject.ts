// The subject rules: who a grant is for, and whether a prefix is that subject's own path.
import type { GrantReview } from './review.js'

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/
/** What String() makes of a missing or wrong user: a grant for one of these was built for a requester nobody checked. */
const ANONYMOUS_SUBJECTS = new Set(['undefined', 'null', 'NaN', '[object Object]'])

/** The subject when it passes every subject rule, else undefined (with an error in the review). */
export function checkSubject(review: GrantReview, subject: unknown): string | undefined {
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

/**
 * Whether `prefix` has the subject as a whole path segment. The last segment of a prefix ending in `*`
 * never matches, since subjects cannot hold `*`: right, as `uploads/alice*` also covers `uploads/alice2/`.
 * An exact key's last segment counts only if it IS the subject: `avatars/alice_m.jpg` is also user
 * `alice_m`'s `avatars/<user>.jpg`.
 */
export function holdsSubject(prefix: string, subject: string): boolean {
  return prefix.split('/').includes(subject)
}

const PLACEHOLDER = '${subject}'

/** The grant's prefixes with every `${subject}` replaced by `subject` (what the audit does to audit as a user). */
export function fillSubject(prefix: string, subject: string): string {
  return prefix.split(PLACEHOLDER).join(subject)
}
