// The table of least-privilege rules: each rule's name, what it guards, its usual fix, and its heading in docs/security.md.
import type { GrantRule } from '../types.js'

export interface RuleInfo {
  /** What the rule guards against, in one line. */
  summary: string
  /** The usual fix; a finding may give a more specific one. */
  fix: string
  /** Whether the router logs a warning of this rule (once per statement content); the audit reports every warning. */
  logged: boolean
}

/** Where each rule is explained: one heading per rule name in docs/security.md. */
export function docsLink(rule: GrantRule): string {
  return `docs/security.md#${rule}`
}

/** Every rule, in the order the walker applies them. The compiler keeps this table and GrantRule in step. */
export const GRANT_RULES: Readonly<Record<GrantRule, RuleInfo>> = Object.freeze({
  'grant-shape': {
    summary: 'the grant is an object of the documented fields, none misspelt',
    fix: 'return { subject, actions, prefixes } or { subject, statements } from authorize',
    logged: true,
  },
  subject: { summary: "the subject is the signed-in user's stable id, usable as a path segment", fix: 'return e.g. subject: String(user.id)', logged: true },
  'anonymous-subject': {
    summary: 'the subject is not what String() makes of a missing user',
    fix: 'return null from authorize when no user is signed in (401)',
    logged: true,
  },
  bucket: { summary: 'the bucket is a full BucketName-APPID', fix: "use the bucket name from the COS console, e.g. 'examplebucket-1250000000'", logged: true },
  region: { summary: 'the region is a COS region', fix: "use the bucket's region, e.g. 'ap-guangzhou'", logged: true },
  duration: { summary: 'the key lifetime is one STS allows', fix: 'use 1800 s unless the page needs longer', logged: true },
  'wildcard-action': { summary: 'actions are listed exactly, never by wildcard', fix: 'list the exact actions the page needs (see actionSets)', logged: true },
  'unknown-action': {
    summary: 'every action is a documented COS action, spelled exactly',
    fix: "use e.g. 'name/cos:PutObject' (names are case-sensitive)",
    logged: true,
  },
  'prefix-shape': {
    summary: "prefixes are object keys or prefixes ending in '*', never the whole bucket",
    fix: "scope each prefix to the user, e.g. 'uploads/{subject}/*'",
    logged: true,
  },
  condition: {
    summary: 'conditions are operator → key → value(s) blocks CAM understands',
    fix: 'use maxBytes / contentTypes / sourceIps, or write the block by hand',
    logged: true,
  },
  'too-many-statements': { summary: 'a grant has a bounded number of statements', fix: 'split the work across requested scopes or routes', logged: true },
  'too-many-prefixes': {
    summary: 'a statement has a bounded number of prefixes',
    fix: "use one prefix ending in '*' instead of many exact keys",
    logged: true,
  },
  'too-many-actions': { summary: 'a statement has a bounded number of actions', fix: 'list only the actions the page performs', logged: true },
  'policy-too-large': { summary: 'the policy stays well under what STS accepts', fix: 'grant fewer, shorter prefixes', logged: true },
  'write-outside-subject': {
    summary: 'write actions only on prefixes that hold the subject as a whole path segment',
    fix: "write under the user's own path, e.g. 'uploads/{subject}/*'",
    logged: true,
  },
  'shared-write': {
    summary: 'a write prefix every user shares is deliberate (shared: true)',
    fix: 'keep shared: true only for a folder every user is meant to write',
    logged: true,
  },
  'read-outside-subject': {
    summary: "reads outside the subject's own path are worth a look",
    fix: "fine for public files; otherwise read under the user's own prefix",
    logged: false,
  },
  'long-duration': {
    summary: 'keys that live long stay usable long after they leave the browser',
    fix: 'keep keys short (1800 s is the default)',
    logged: false,
  },
  'literal-subject-prefix': {
    summary: 'a write prefix names where the subject sits with a {subject} template, not a literal segment',
    fix: "write 'uploads/{subject}/*' instead of building the prefix from the user's id",
    logged: true,
  },
  'bucket-config': {
    summary: "no action on the bucket's configuration (policy, ACL, CORS, lifecycle, deleting it) or CI's",
    fix: 'grant object actions only; change bucket settings from the server',
    logged: true,
  },
  'bucket-listing': {
    summary: "a listing's cos:prefix condition stays inside the statement's prefixes",
    fix: "list inside the statement's prefixes only",
    logged: true,
  },
  'condition-conflict': {
    summary: "a statement's condition and the grant's both apply, so they must be combinable",
    fix: 'set each operator and key in one place',
    logged: true,
  },
})
