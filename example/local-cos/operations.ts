// Which COS API a request is (method, object key, sub-resource) and the CAM action and resource key the policy is checked against.
import { CosError } from './xml.js'

export type OperationName =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'GetBucket'
  | 'HeadBucket'
  | 'InitiateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'ListMultipartUploads'

export interface Operation {
  name: OperationName
  /** `name/cos:<name>`, the action the issued policy must allow. */
  action: string
  /** The object key; '' for bucket operations. */
  key: string
  /**
   * The key the policy's resources are matched against: the object key, or for listings the
   * `prefix` parameter (cos-js-sdk-v5 scopes GetBucket and ListMultipartUploads by it too), so a
   * key for `uploads/alice/*` may list `uploads/alice/` and nothing wider.
   */
  resourceKey: string
  /** Decoded query parameters by name (first value wins). */
  params: ReadonlyMap<string, string>
}

/** The object key of a path: COS keys have no leading '/', and the path is percent-decoded. */
export function keyOfPath(pathname: string): string {
  if (!pathname.startsWith('/')) throw new CosError(400, 'InvalidURI', "Couldn't parse the specified URI.")
  try {
    return decodeURIComponent(pathname).slice(1)
  } catch {
    throw new CosError(400, 'InvalidURI', "Couldn't parse the specified URI.")
  }
}

/** `a=1&b` → [['a','1'], ['b','']], percent-decoded; '+' is a literal plus, as in COS's own encoding. */
export function parseQuery(search: string): Array<[string, string]> {
  if (search === '' || search === '?') return []
  try {
    return search
      .replace(/^\?/, '')
      .split('&')
      .filter((pair) => pair !== '')
      .map((pair) => {
        const eq = pair.indexOf('=')
        const name = eq === -1 ? pair : pair.slice(0, eq)
        const value = eq === -1 ? '' : pair.slice(eq + 1)
        return [decodeURIComponent(name), decodeURIComponent(value)]
      })
  } catch {
    throw new CosError(400, 'InvalidURI', "Couldn't parse the specified URI.")
  }
}

export function identifyOperation(method: string, key: string, query: ReadonlyArray<readonly [string, string]>): Operation {
  const params = new Map<string, string>()
  for (const [name, value] of query) if (!params.has(name)) params.set(name, value)
  const name = operationName(method, key, params)
  const resourceKey = key === '' ? (params.get('prefix') ?? '') : key
  return { name, action: `name/cos:${name}`, key, resourceKey, params }
}

// Sub-resources of APIs the local COS does not have: answering them as plain GET/PUT would be wrong.
const OTHER_SUBRESOURCES = [
  'acl',
  'tagging',
  'cors',
  'policy',
  'lifecycle',
  'versions',
  'versioning',
  'restore',
  'append',
  'select',
  'referer',
  'website',
  'domain',
  'logging',
  'inventory',
  'encryption',
  'accelerate',
  'origin',
  'replication',
  'location',
  'delete',
]

function operationName(method: string, key: string, params: ReadonlyMap<string, string>): OperationName {
  const has = (name: string): boolean => params.has(name)
  const other = OTHER_SUBRESOURCES.find(has)
  if (other !== undefined) throw notImplemented(`${method} ?${other}`, key === '' ? 'the bucket' : 'an object')
  if (key === '') {
    if (method === 'GET') return has('uploads') ? 'ListMultipartUploads' : 'GetBucket'
    if (method === 'HEAD') return 'HeadBucket'
    throw notImplemented(method, 'the bucket')
  }
  switch (method) {
    case 'PUT':
      if (has('uploadId') || has('partNumber')) return 'UploadPart'
      return 'PutObject'
    case 'POST':
      if (has('uploads')) return 'InitiateMultipartUpload'
      if (has('uploadId')) return 'CompleteMultipartUpload'
      break
    case 'GET':
      return has('uploadId') ? 'ListParts' : 'GetObject'
    case 'HEAD':
      return 'HeadObject'
    case 'DELETE':
      return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject'
  }
  throw notImplemented(method, 'an object')
}

function notImplemented(method: string, target: string): CosError {
  return new CosError(501, 'NotImplemented', `The local COS does not implement ${method} on ${target} with these parameters.`)
}
