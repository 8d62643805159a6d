// Server-chosen object keys: name the object (default naming or the app's uploadKey), check it lies in the grant, and plan a key for exactly it.
import { randomBytes } from 'node:crypto'
import type { Request } from 'express'
import { RouteError } from '../errors.js'
import type { GrantPlan } from '../policy.js'
import { prefixProblem } from '../grant/statement.js'
import type { DeclaredFile, Grant, UploadKeyHook, UploadLimits } from '../types.js'
import { boundSize, checkDeclaredFile, limitsFor } from './limits.js'
import { extensionOf } from './request.js'
import { objectUploadPlan } from './file-scope.js'

/** Actions that create an object: a prefix a statement grants one of them on is a write prefix. */
const CREATING_ACTIONS = ['name/cos:PutObject', 'name/cos:PostObject', 'name/cos:InitiateMultipartUpload']
/** 96 random bits: two uploads never get the same key, and nobody can guess another upload's key. */
const RANDOM_BYTES = 12

export interface ChosenUploadInput {
  plan: GrantPlan
  grant: Grant
  file: DeclaredFile
  req: Request | undefined
  uploadKey: UploadKeyHook | undefined
  limits: UploadLimits | undefined
  /** Clock for the date path (tests). */
  now?: () => Date
}

/** The object key and the plan of a key for exactly that object's upload. */
export interface ChosenUpload {
  key: string
  plan: GrantPlan
}

export async function chooseUpload(input: ChosenUploadInput): Promise<ChosenUpload> {
  const { plan, file } = input
  // The options' limits need no key: refuse before the app's uploadKey runs (it may reserve a name or a row).
  checkDeclaredFile(file, limitsFor(input.limits))
  const key = input.uploadKey === undefined ? defaultKey(plan, file, input.now?.() ?? new Date()) : await appKey(input)
  const problem = keyProblem(key)
  if (problem !== undefined)
    throw new RouteError(
      'InvalidGrant',
      `uploadKey returned ${JSON.stringify(String(key).slice(0, 100))}, which ${problem}. Fix: return one object key (no '*') inside a write prefix of the grant.`,
    )
  const objectPlan = objectUploadPlan(plan, key)
  if (objectPlan === undefined || !objectPlan.statements.some((statement) => statement.actions.some((action) => CREATING_ACTIONS.includes(action)))) {
    throw new RouteError(
      'InvalidGrant',
      `uploadKey returned ${JSON.stringify(key)}, outside every write prefix of ${plan.subject}'s grant. Fix: name the object inside a prefix the grant allows PutObject or InitiateMultipartUpload on.`,
    )
  }
  const limits = limitsFor(input.limits, objectPlan)
  checkDeclaredFile(file, limits)
  const bounds = [limits.maxBytes, file.size].filter((n): n is number => n !== undefined)
  return { key, plan: bounds.length === 0 ? objectPlan : boundSize(objectPlan, Math.min(...bounds)) }
}

/** `<first write prefix><YYYY/MM/DD>/<24 hex digits>[.ext]`; the write prefix must end in `*` (a folder the user may fill). */
export function defaultKey(plan: GrantPlan, file: DeclaredFile, now: Date): string {
  const folder = plan.statements
    .filter((statement) => statement.actions.some((action) => CREATING_ACTIONS.includes(action)))
    .flatMap((statement) => statement.prefixes)
    .find((prefix) => prefix.endsWith('*'))
  if (folder === undefined) {
    throw new RouteError(
      'InvalidGrant',
      `${plan.subject}'s grant has no write prefix ending in '*' to name an upload in. Fix: grant PutObject (and the multipart actions) on a prefix such as 'uploads/<subject>/*', or pass uploadKey.`,
    )
  }
  const date = now.toISOString().slice(0, 10).replace(/-/g, '/')
  const extension = extensionOf(file.name)
  return `${folder.slice(0, -1)}${date}/${randomBytes(RANDOM_BYTES).toString('hex')}${extension === undefined ? '' : `.${extension}`}`
}

async function appKey(input: ChosenUploadInput): Promise<string> {
  const hook = input.uploadKey as UploadKeyHook
  try {
    return await hook({ subject: input.plan.subject, grant: input.grant, file: { ...input.file }, req: input.req })
  } catch (error) {
    // The app may refuse a file itself with a RouteError (e.g. UploadNotAllowed); anything else is its bug.
    if (error instanceof RouteError) throw error
    throw new RouteError('InternalError', undefined, { cause: error })
  }
}

function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return 'is not a string'
  const problem = prefixProblem(key)
  if (problem !== undefined) return problem
  if (key.includes('*')) return "has a '*' (it must name one object)"
  if (key.endsWith('/')) return "ends in '/' (a folder, not an object)"
  return undefined
}
