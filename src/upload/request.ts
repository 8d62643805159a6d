// A server-chosen upload's declared file (`{ "upload": { name, size?, contentType? } }`): parse it, or refuse with 400 InvalidRequest.
import { RouteError } from '../errors.js'
import type { DeclaredFile } from '../types.js'

/** Longer than any real file name; bounds what one request can make the router store or log. */
export const MAX_NAME_LENGTH = 255
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/
/** `type/subtype` with optional parameters, as browsers report File.type. */
const CONTENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(?:\s*;.*)?$/
const EXTENSION = /^[a-z0-9]{1,10}$/

export function parseDeclaredFile(upload: unknown): DeclaredFile {
  if (upload === null || typeof upload !== 'object' || Array.isArray(upload)) throw badRequest('upload must be an object { name, size?, contentType? }.')
  const { name, size, contentType, ...rest } = upload as Record<string, unknown>
  const unknown = Object.keys(rest)
  if (unknown.length > 0) throw badRequest(`upload has an unknown field ${JSON.stringify(unknown[0])}; the fields are name, size, contentType.`)
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH || CONTROL_CHARACTERS.test(name)) {
    throw badRequest(`upload.name must be the file's name: 1 to ${MAX_NAME_LENGTH} characters, no control characters.`)
  }
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0))
    throw badRequest('upload.size must be the file size in bytes, a non-negative integer.')
  if (contentType !== undefined && (typeof contentType !== 'string' || contentType.length > MAX_NAME_LENGTH || !CONTENT_TYPE.test(contentType))) {
    throw badRequest("upload.contentType must be a media type such as 'image/jpeg'.")
  }
  return { name, ...(size === undefined ? {} : { size }), ...(contentType === undefined ? {} : { contentType }) }
}

/** The name's extension, lower-cased, when it is 1–10 of `[a-z0-9]`; else undefined (`archive.tar.gz` → `gz`, `.env` → undefined). */
export function extensionOf(name: string): string | undefined {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1)
  const dot = base.lastIndexOf('.')
  if (dot <= 0) return undefined
  const extension = base.slice(dot + 1).toLowerCase()
  return EXTENSION.test(extension) ? extension : undefined
}

function badRequest(message: string): RouteError {
  return new RouteError('InvalidRequest', message)
}
