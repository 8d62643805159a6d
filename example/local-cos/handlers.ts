// What each COS API does to the in-memory bucket, and the headers and XML it answers with.
import { createHash } from 'node:crypto'
import type { Operation } from './operations.js'
import { MAX_PART_NUMBER, type ObjectStore, type StoredObject } from './store.js'
import { CosError, readCompleteParts, xmlDocument, type XmlNode } from './xml.js'

export interface CosReply {
  status: number
  headers: Record<string, string>
  body?: Buffer | string
}

export interface CosRequest {
  operation: Operation
  bucket: string
  contentType: string
  contentMd5: string | undefined
  body: Buffer
  /** `http://host/` of the request, for Location. */
  origin: string
}

const httpDate = (date: Date): string => date.toUTCString()
const xmlReply = (root: XmlNode): CosReply => ({ status: 200, headers: { 'Content-Type': 'application/xml' }, body: xmlDocument(root) })

/** Content-MD5, when sent, must be the body's (BadDigest otherwise): the one way a COS signature covers the bytes. */
function checkContentMd5(request: CosRequest): void {
  if (request.contentMd5 === undefined) return
  const actual = createHash('md5').update(request.body).digest('base64')
  if (request.contentMd5 !== actual) {
    throw new CosError(400, 'BadDigest', 'The Content-MD5 you specified did not match what was received.')
  }
}

function objectHeaders(stored: StoredObject): Record<string, string> {
  return {
    'Content-Type': stored.contentType,
    'Content-Length': String(stored.body.length),
    ETag: stored.etag,
    'Last-Modified': httpDate(stored.lastModified),
  }
}

function found(store: ObjectStore, key: string): StoredObject {
  const stored = store.get(key)
  if (!stored) throw new CosError(404, 'NoSuchKey', 'The specified key does not exist.')
  return stored
}

function partNumberOf(operation: Operation): number {
  const text = operation.params.get('partNumber') ?? ''
  const partNumber = /^\d{1,5}$/.test(text) ? Number(text) : 0
  if (partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw new CosError(400, 'InvalidArgument', `partNumber must be an integer from 1 to ${MAX_PART_NUMBER}.`)
  }
  return partNumber
}

function maxKeysOf(operation: Operation): number {
  const text = operation.params.get('max-keys') ?? '1000'
  if (!/^\d{1,4}$/.test(text)) throw new CosError(400, 'InvalidArgument', 'max-keys must be an integer from 0 to 1000.')
  return Math.min(Number(text), 1000)
}

export function perform(store: ObjectStore, request: CosRequest): CosReply {
  const { operation } = request
  const { key, params } = operation
  switch (operation.name) {
    case 'PutObject': {
      checkContentMd5(request)
      const stored = store.put(key, request.body, request.contentType)
      return { status: 200, headers: { ETag: stored.etag } }
    }
    case 'GetObject': {
      const stored = found(store, key)
      return { status: 200, headers: objectHeaders(stored), body: stored.body }
    }
    case 'HeadObject':
      return { status: 200, headers: objectHeaders(found(store, key)) }
    case 'DeleteObject':
      store.delete(key)
      return { status: 204, headers: {} }
    case 'HeadBucket':
      return { status: 200, headers: {} }
    case 'GetBucket': {
      const prefix = params.get('prefix') ?? ''
      const listing = store.list({ prefix, marker: params.get('marker') ?? '', maxKeys: maxKeysOf(operation), delimiter: params.get('delimiter') ?? '' })
      return xmlReply([
        'ListBucketResult',
        [
          ['Name', request.bucket],
          ['Prefix', prefix],
          ['Marker', params.get('marker') ?? ''],
          ['MaxKeys', maxKeysOf(operation)],
          ['Delimiter', params.get('delimiter') ?? ''],
          ['IsTruncated', String(listing.truncated)],
          ...(listing.truncated ? [['NextMarker', listing.nextMarker] as XmlNode] : []),
          ...listing.commonPrefixes.map((group): XmlNode => ['CommonPrefixes', [['Prefix', group]]]),
          ...listing.contents.map((stored): XmlNode => [
            'Contents',
            [
              ['Key', stored.key],
              ['LastModified', stored.lastModified.toISOString()],
              ['ETag', stored.etag],
              ['Size', stored.body.length],
              ['StorageClass', 'STANDARD'],
            ],
          ]),
        ],
      ])
    }
    case 'InitiateMultipartUpload': {
      const upload = store.initiate(key, request.contentType)
      return xmlReply([
        'InitiateMultipartUploadResult',
        [
          ['Bucket', request.bucket],
          ['Key', key],
          ['UploadId', upload.uploadId],
        ],
      ])
    }
    case 'UploadPart': {
      const upload = store.upload(params.get('uploadId') ?? '', key)
      checkContentMd5(request)
      const part = store.putPart(upload, partNumberOf(operation), request.body)
      return { status: 200, headers: { ETag: part.etag } }
    }
    case 'CompleteMultipartUpload': {
      const upload = store.upload(params.get('uploadId') ?? '', key)
      checkContentMd5(request)
      const stored = store.complete(upload, readCompleteParts(request.body.toString('utf8')))
      return xmlReply([
        'CompleteMultipartUploadResult',
        [
          ['Location', `${request.origin}${encodeURI(key)}`],
          ['Bucket', request.bucket],
          ['Key', key],
          ['ETag', stored.etag],
        ],
      ])
    }
    case 'AbortMultipartUpload':
      store.abort(store.upload(params.get('uploadId') ?? '', key))
      return { status: 204, headers: {} }
    case 'ListParts': {
      const upload = store.upload(params.get('uploadId') ?? '', key)
      const parts = [...upload.parts.values()].sort((a, b) => a.partNumber - b.partNumber)
      return xmlReply([
        'ListPartsResult',
        [
          ['Bucket', request.bucket],
          ['Key', key],
          ['UploadId', upload.uploadId],
          ['IsTruncated', 'false'],
          ...parts.map((part): XmlNode => [
            'Part',
            [
              ['PartNumber', part.partNumber],
              ['LastModified', part.lastModified.toISOString()],
              ['ETag', part.etag],
              ['Size', part.body.length],
            ],
          ]),
        ],
      ])
    }
    case 'ListMultipartUploads': {
      const prefix = params.get('prefix') ?? ''
      return xmlReply([
        'ListMultipartUploadsResult',
        [
          ['Bucket', request.bucket],
          ['Prefix', prefix],
          ['IsTruncated', 'false'],
          ...store.uploadsUnder(prefix).map((upload): XmlNode => [
            'Upload',
            [
              ['Key', upload.key],
              ['UploadId', upload.uploadId],
              ['StorageClass', 'STANDARD'],
              ['Initiated', upload.initiated.toISOString()],
            ],
          ]),
        ],
      ])
    }
  }
}
