// The local COS's bucket in memory: objects, multipart uploads and their parts, with COS's ETags and a bound on bytes held.
import { createHash, randomBytes } from 'node:crypto'
import { CosError } from './xml.js'

export interface StoredObject {
  key: string
  body: Buffer
  etag: string // quoted, as COS sends it
  contentType: string
  lastModified: Date
}

export interface StoredPart {
  partNumber: number
  body: Buffer
  etag: string
  lastModified: Date
}

export interface MultipartUpload {
  uploadId: string
  key: string
  contentType: string
  initiated: Date
  parts: Map<number, StoredPart>
}

export interface ListOptions {
  prefix: string
  marker: string
  maxKeys: number
  delimiter: string
}

/** COS numbers parts 1..10000. */
export const MAX_PART_NUMBER = 10_000

const quotedMd5 = (body: Buffer): string => `"${createHash('md5').update(body).digest('hex')}"`

export class ObjectStore {
  private readonly objects = new Map<string, StoredObject>()
  private readonly uploads = new Map<string, MultipartUpload>()
  private bytesHeld = 0

  constructor(private readonly maxStoredBytes: number) {}

  get(key: string): StoredObject | undefined {
    return this.objects.get(key)
  }

  keys(): string[] {
    return [...this.objects.keys()].sort()
  }

  put(key: string, body: Buffer, contentType: string): StoredObject {
    this.reserve(body.length - (this.objects.get(key)?.body.length ?? 0))
    const stored: StoredObject = { key, body, etag: quotedMd5(body), contentType, lastModified: new Date() }
    this.objects.set(key, stored)
    return stored
  }

  delete(key: string): void {
    const stored = this.objects.get(key)
    if (stored) this.bytesHeld -= stored.body.length
    this.objects.delete(key)
  }

  /** Keys in UTF-16 order after `marker`, grouped by `delimiter` like COS's GET Bucket. */
  list(options: ListOptions): { contents: StoredObject[]; commonPrefixes: string[]; truncated: boolean; nextMarker: string } {
    const contents: StoredObject[] = []
    const commonPrefixes: string[] = []
    let truncated = false
    let nextMarker = ''
    for (const key of this.keys()) {
      if (!key.startsWith(options.prefix) || key <= options.marker) continue
      const rest = key.slice(options.prefix.length)
      const cut = options.delimiter === '' ? -1 : rest.indexOf(options.delimiter)
      const group = cut === -1 ? undefined : options.prefix + rest.slice(0, cut + options.delimiter.length)
      if (group !== undefined && commonPrefixes.includes(group)) continue
      if (contents.length + commonPrefixes.length >= options.maxKeys) {
        truncated = true
        break
      }
      const stored = this.objects.get(key)
      if (group !== undefined) commonPrefixes.push(group)
      else if (stored) contents.push(stored)
      nextMarker = group ?? key
    }
    return { contents, commonPrefixes, truncated, nextMarker: truncated ? nextMarker : '' }
  }

  initiate(key: string, contentType: string): MultipartUpload {
    const upload: MultipartUpload = {
      uploadId: `${Date.now()}${randomBytes(12).toString('hex')}`,
      key,
      contentType,
      initiated: new Date(),
      parts: new Map(),
    }
    this.uploads.set(upload.uploadId, upload)
    return upload
  }

  /** The upload `uploadId` of `key`; COS answers NoSuchUpload for an id of another key too. */
  upload(uploadId: string, key: string): MultipartUpload {
    const upload = this.uploads.get(uploadId)
    if (!upload || upload.key !== key) throw new CosError(404, 'NoSuchUpload', 'The specified multipart upload does not exist.')
    return upload
  }

  uploadsUnder(prefix: string): MultipartUpload[] {
    return [...this.uploads.values()].filter((upload) => upload.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  putPart(upload: MultipartUpload, partNumber: number, body: Buffer): StoredPart {
    this.reserve(body.length - (upload.parts.get(partNumber)?.body.length ?? 0))
    const part: StoredPart = { partNumber, body, etag: quotedMd5(body), lastModified: new Date() }
    upload.parts.set(partNumber, part)
    return part
  }

  /** Joins the listed parts (ascending, ETags matching) into the object; the ETag is COS's `"md5-of-part-md5s-N"`. */
  complete(upload: MultipartUpload, listed: Array<{ partNumber: number; etag: string }>): StoredObject {
    const chosen: StoredPart[] = []
    let previous = 0
    for (const { partNumber, etag } of listed) {
      if (partNumber <= previous)
        throw new CosError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.')
      previous = partNumber
      const part = upload.parts.get(partNumber)
      if (!part || part.etag !== (etag.startsWith('"') ? etag : `"${etag}"`)) {
        throw new CosError(400, 'InvalidPart', `Part ${partNumber} was not uploaded, or its ETag does not match.`)
      }
      chosen.push(part)
    }
    const body = Buffer.concat(chosen.map((part) => part.body))
    const partsMd5 = createHash('md5')
    for (const part of chosen) partsMd5.update(Buffer.from(part.etag.slice(1, -1), 'hex'))
    this.abort(upload)
    const stored = this.put(upload.key, body, upload.contentType)
    stored.etag = `"${partsMd5.digest('hex')}-${chosen.length}"`
    return stored
  }

  abort(upload: MultipartUpload): void {
    for (const part of upload.parts.values()) this.bytesHeld -= part.body.length
    this.uploads.delete(upload.uploadId)
  }

  private reserve(bytes: number): void {
    if (this.bytesHeld + bytes > this.maxStoredBytes) {
      throw new CosError(400, 'EntityTooLarge', `The local COS holds at most ${this.maxStoredBytes} bytes in memory; restart it or delete objects.`)
    }
    this.bytesHeld += bytes
  }
}
