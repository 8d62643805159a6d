// One key per file: the upload steps of one object key, widened to every upload action the grant allows on exactly that key.
import { buildPolicy, type GrantPlan, type PlannedStatement } from '../policy.js'
import { findCoveringStatement } from '../simulator.js'

/**
 * Every request cos-js-sdk-v5 1.10.1 and cos-nodejs-sdk-v5 make to upload one object, each asking
 * `getAuthorization` with a Scope of its own: `putObject` (PutObject), `uploadFile`/`sliceUploadFile`
 * (ListMultipartUploads with the key as its prefix, InitiateMultipartUpload, UploadPart,
 * CompleteMultipartUpload; ListParts to resume, AbortMultipartUpload to cancel) and form uploads
 * (PostObject). The order is fixed so every step of a file makes the same policy, hence one cached key.
 */
export const UPLOAD_STEP_ACTIONS: readonly string[] = Object.freeze([
  'name/cos:PutObject',
  'name/cos:PostObject',
  'name/cos:ListMultipartUploads',
  'name/cos:InitiateMultipartUpload',
  'name/cos:UploadPart',
  'name/cos:ListParts',
  'name/cos:CompleteMultipartUpload',
  'name/cos:AbortMultipartUpload',
])

/** The requests that carry the file's bytes, where COS checks `cos:content-length` (each part on its own). */
export const BODY_UPLOAD_ACTIONS: readonly string[] = Object.freeze(['name/cos:PutObject', 'name/cos:PostObject', 'name/cos:UploadPart'])

/** A checked requested-scope item: full action name, the grant's bucket and region filled in. */
export interface CheckedItem {
  action: string
  bucket: string
  region: string
  prefix: string
}

/**
 * The object key when every item is an upload step of one and the same object key (no `*`) in the grant's
 * bucket and region; undefined for anything else (several files, a prefix, another action).
 */
export function singleUploadKey(plan: Pick<GrantPlan, 'bucket' | 'region'>, items: readonly CheckedItem[]): string | undefined {
  const [first] = items
  if (first === undefined || first.prefix.endsWith('*')) return undefined
  const oneObject = items.every(
    (item) => UPLOAD_STEP_ACTIONS.includes(item.action) && item.prefix === first.prefix && item.bucket === plan.bucket && item.region === plan.region,
  )
  return oneObject ? first.prefix : undefined
}

/**
 * The plan for uploading exactly `key`: each upload action the grant allows on it, grouped by the grant
 * statement that covers it (keeping that statement's condition), in UPLOAD_STEP_ACTIONS order. Undefined
 * when the grant allows no upload action on the key.
 */
export function objectUploadPlan(plan: GrantPlan, key: string): GrantPlan | undefined {
  const policy = buildPolicy(plan)
  const byStatement = new Map<number, string[]>()
  for (const action of UPLOAD_STEP_ACTIONS) {
    const covering = findCoveringStatement(policy, { action, bucket: plan.bucket, region: plan.region, prefix: key })
    if (covering >= 0) byStatement.set(covering, [...(byStatement.get(covering) ?? []), action])
  }
  if (byStatement.size === 0) return undefined
  const statements: PlannedStatement[] = [...byStatement.entries()]
    .sort(([a], [b]) => a - b)
    .map(([covering, actions]) => {
      const grantStatement = plan.statements[covering] as PlannedStatement
      return { actions, prefixes: [key], condition: grantStatement.condition, shared: grantStatement.shared }
    })
  return { ...plan, statements }
}
