// Known COS and CI CAM action names, their normalisation and kind, and named sets for common front-end jobs.
import { CI_CONFIG_ACTIONS, CI_JOB_ACTIONS } from './ci-actions.js'
import type { Service } from './names.js'

/*
 * Source: Tencent Cloud COS docs, "COS API 授权策略使用指引" / "Working with COS API
 * Authorization Policies" (https://cloud.tencent.com/document/product/436/31923,
 * https://www.tencentcloud.com/document/product/436/30580), cross-checked against the CAM page
 * "支持 CAM 的业务接口 - 对象存储" (https://cloud.tencent.com/document/product/598/69901) and the
 * per-API "授权说明" sections (e.g. Upload Part - Copy → cos:UploadPartCopy, DELETE Multiple
 * Objects → cos:DeleteMultipleObjects); bucket-configuration names also match the ones Tencent's
 * cos-js-sdk-v5 uses. The docs state that action names are case-sensitive, so matching is exact.
 * Deliberately absent: SELECT Object Content (the docs authorise it with cos:GetObject) and
 * object-lock retention reads (no CAM action name documented).
 */

type Access = 'read' | 'write'

// Canonical spelling → whether the action changes state. Writes are what a guard must treat with care.
const ACTIONS: ReadonlyMap<string, Access> = new Map<string, Access>([
  // Objects: simple operations
  ['PutObject', 'write'],
  ['PostObject', 'write'],
  ['AppendObject', 'write'],
  ['GetObject', 'read'],
  ['HeadObject', 'read'],
  ['OptionsObject', 'read'],
  ['DeleteObject', 'write'],
  ['DeleteMultipleObjects', 'write'],
  ['PostObjectRestore', 'write'],
  ['PutObjectACL', 'write'],
  ['GetObjectACL', 'read'],
  ['PutObjectTagging', 'write'],
  ['GetObjectTagging', 'read'],
  ['DeleteObjectTagging', 'write'],
  // Objects: multipart upload
  ['InitiateMultipartUpload', 'write'],
  ['UploadPart', 'write'],
  ['UploadPartCopy', 'write'],
  ['CompleteMultipartUpload', 'write'],
  ['AbortMultipartUpload', 'write'],
  ['ListParts', 'read'],
  ['ListMultipartUploads', 'read'],
  // Service and bucket reads
  ['GetService', 'read'],
  ['GetBucket', 'read'],
  ['HeadBucket', 'read'],
  ['GetBucketObjectVersions', 'read'],
  ['GetBucketLocation', 'read'],
  ['GetBucketACL', 'read'],
  ['GetBucketCORS', 'read'],
  ['GetBucketLifecycle', 'read'],
  ['GetBucketPolicy', 'read'],
  ['GetBucketTagging', 'read'],
  ['GetBucketVersioning', 'read'],
  ['GetBucketReplication', 'read'],
  ['GetBucketWebsite', 'read'],
  ['GetBucketReferer', 'read'],
  ['GetBucketLogging', 'read'],
  ['GetBucketInventory', 'read'],
  ['ListBucketInventory', 'read'],
  ['GetBucketDomain', 'read'],
  ['GetBucketEncryption', 'read'],
  ['GetBucketAccelerate', 'read'],
  ['GetBucketOrigin', 'read'],
  ['GetBucketIntelligentTiering', 'read'],
  // Bucket configuration writes
  ['PutBucket', 'write'],
  ['DeleteBucket', 'write'],
  ['PutBucketACL', 'write'],
  ['PutBucketCORS', 'write'],
  ['DeleteBucketCORS', 'write'],
  ['PutBucketLifecycle', 'write'],
  ['DeleteBucketLifecycle', 'write'],
  ['PutBucketPolicy', 'write'],
  ['DeleteBucketPolicy', 'write'],
  ['PutBucketTagging', 'write'],
  ['DeleteBucketTagging', 'write'],
  ['PutBucketVersioning', 'write'],
  ['PutBucketReplication', 'write'],
  ['DeleteBucketReplication', 'write'],
  ['PutBucketWebsite', 'write'],
  ['DeleteBucketWebsite', 'write'],
  ['PutBucketReferer', 'write'],
  ['PutBucketLogging', 'write'],
  ['PutBucketInventory', 'write'],
  ['PostBucketInventory', 'write'],
  ['DeleteBucketInventory', 'write'],
  ['PutBucketDomain', 'write'],
  ['DeleteBucketDomain', 'write'],
  ['PutBucketEncryption', 'write'],
  ['DeleteBucketEncryption', 'write'],
  ['PutBucketAccelerate', 'write'],
  ['PutBucketOrigin', 'write'],
  ['DeleteBucketOrigin', 'write'],
])

const PREFIX = 'name/cos:'
const CI_PREFIX = 'name/ci:'

/**
 * Bucket-level actions that configure or describe the bucket itself (its ACL, policy, CORS, lifecycle, ...),
 * and GetService (every bucket of the account). A front-end key never needs them: the guard refuses them.
 * Listing (GetBucket, GetBucketObjectVersions, ListMultipartUploads) and HeadBucket are not among them.
 */
const BUCKET_CONFIG: ReadonlySet<string> = new Set(
  [...ACTIONS.keys()].filter(
    (name) =>
      name === 'GetService' ||
      name === 'PutBucket' ||
      name === 'DeleteBucket' ||
      name === 'PostBucketInventory' ||
      name === 'ListBucketInventory' ||
      (/^(?:Get|Put|Delete)Bucket[A-Z]/.test(name) && name !== 'GetBucketObjectVersions'),
  ),
)

/** Every known COS action, in the `name/cos:` form. */
export const knownActions: readonly string[] = Object.freeze([...ACTIONS.keys()].map((name) => PREFIX + name))

/** Every known CI action, in the `name/ci:` form. */
export const knownCiActions: readonly string[] = Object.freeze([...CI_JOB_ACTIONS, ...CI_CONFIG_ACTIONS].map((name) => CI_PREFIX + name))

/**
 * `cos:PutObject` / `name/cos:PutObject` → `name/cos:PutObject`, `ci:CreateAuditingTextJob` → `name/ci:…`; undefined
 * for anything that is not a known action spelled exactly as documented (wildcards, other services, wrong case).
 */
export function normalizeAction(action: string): string | undefined {
  if (typeof action !== 'string') return undefined
  const cos = action.startsWith(PREFIX) ? action.slice(PREFIX.length) : action.startsWith('cos:') ? action.slice(4) : undefined
  if (cos !== undefined) return ACTIONS.has(cos) ? PREFIX + cos : undefined
  const ci = action.startsWith(CI_PREFIX) ? action.slice(CI_PREFIX.length) : action.startsWith('ci:') ? action.slice(3) : undefined
  return ci !== undefined && (CI_JOB_ACTIONS.has(ci) || CI_CONFIG_ACTIONS.has(ci)) ? CI_PREFIX + ci : undefined
}

/** The service of a normalized action name. */
export function serviceOf(action: string): Service {
  return action.startsWith(CI_PREFIX) ? 'ci' : 'cos'
}

/**
 * True unless the action is a known read/list action (or a CI job, which changes no object). Unknown names and
 * wildcards count as writes so that a guard built on this fails closed.
 */
export function isWriteAction(action: string): boolean {
  const normalized = normalizeAction(action)
  if (normalized === undefined) return true
  if (normalized.startsWith(CI_PREFIX)) return !CI_JOB_ACTIONS.has(normalized.slice(CI_PREFIX.length))
  return ACTIONS.get(normalized.slice(PREFIX.length)) !== 'read'
}

/** True for a known action on the bucket's (or CI's) configuration: never granted to a front end. */
export function isBucketConfigAction(action: string): boolean {
  const normalized = normalizeAction(action)
  if (normalized === undefined) return false
  return normalized.startsWith(CI_PREFIX) ? CI_CONFIG_ACTIONS.has(normalized.slice(CI_PREFIX.length)) : BUCKET_CONFIG.has(normalized.slice(PREFIX.length))
}

function set(...names: string[]): readonly string[] {
  return Object.freeze(names.map((name) => PREFIX + name))
}

const simpleUpload = set('PutObject', 'PostObject')
// cos-js-sdk-v5 lists existing uploads (ListMultipartUploads/ListParts) to resume a large upload.
const multipartUpload = set('InitiateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'ListParts', 'ListMultipartUploads', 'AbortMultipartUpload')

/** Named action sets, so apps need not know COS's list. */
export const actionSets: Readonly<{
  simpleUpload: readonly string[]
  multipartUpload: readonly string[]
  upload: readonly string[]
  download: readonly string[]
  list: readonly string[]
  moderation: readonly string[]
}> = Object.freeze({
  simpleUpload,
  multipartUpload,
  upload: Object.freeze([...simpleUpload, ...multipartUpload]),
  download: set('GetObject', 'HeadObject'),
  list: set('GetBucket'),
  // Front-end moderation of what the user uploaded: picture and text jobs, and reading a text job's result.
  moderation: Object.freeze(['CreateAuditingPictureJob', 'CreateAuditingTextJob', 'DescribeAuditingTextJob'].map((name) => CI_PREFIX + name)),
})
