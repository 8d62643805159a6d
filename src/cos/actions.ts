// Known COS CAM action names, their normalisation, and named sets for common front-end jobs.

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

/** Every known action, in the `name/cos:` form. */
export const knownActions: readonly string[] = Object.freeze([...ACTIONS.keys()].map((name) => PREFIX + name))

/** The bare action name (`PutObject`) of `cos:PutObject` / `name/cos:PutObject`, whether known or not. */
function bareName(action: string): string | undefined {
  if (action.startsWith(PREFIX)) return action.slice(PREFIX.length)
  if (action.startsWith('cos:')) return action.slice(4)
  return undefined
}

/**
 * `cos:PutObject` or `name/cos:PutObject` → `name/cos:PutObject`; undefined for anything that is
 * not a known COS action spelled exactly as documented (wildcards, other services, wrong case).
 */
export function normalizeAction(action: string): string | undefined {
  if (typeof action !== 'string') return undefined
  const name = bareName(action)
  return name !== undefined && ACTIONS.has(name) ? PREFIX + name : undefined
}

/**
 * True unless the action is a known read/list action. Unknown names and wildcards count as writes
 * so that a guard built on this fails closed.
 */
export function isWriteAction(action: string): boolean {
  const normalized = normalizeAction(action)
  if (normalized === undefined) return true
  return ACTIONS.get(normalized.slice(PREFIX.length)) !== 'read'
}

function set(...names: string[]): readonly string[] {
  return Object.freeze(names.map((name) => PREFIX + name))
}

const simpleUpload = set('PutObject', 'PostObject')
// cos-js-sdk-v5 lists existing uploads (ListMultipartUploads/ListParts) to resume a large upload.
const multipartUpload = set(
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'ListParts',
  'ListMultipartUploads',
  'AbortMultipartUpload',
)

/** Named action sets, so apps need not know COS's list. */
export const actionSets: Readonly<{
  simpleUpload: readonly string[]
  multipartUpload: readonly string[]
  upload: readonly string[]
  download: readonly string[]
  list: readonly string[]
}> = Object.freeze({
  simpleUpload,
  multipartUpload,
  upload: Object.freeze([...simpleUpload, ...multipartUpload]),
  download: set('GetObject', 'HeadObject'),
  list: set('GetBucket'),
})
