// Start-up checks of the server-chosen upload options (uploadKey, uploadLimits); options.ts turns a problem into a ConfigError.
import type { UploadKeyHook, UploadLimits } from '../types.js'

export interface UploadOptionProblem {
  option: string
  problem: string
  fix: string
}

export interface ResolvedUploadOptions {
  uploadKey: UploadKeyHook | undefined
  uploadLimits: UploadLimits | undefined
}

const LIMIT_FIELDS = ['maxBytes', 'contentTypes', 'extensions']
/** COS takes objects up to 48.82 TB; 5 TB bounds a typo (a size in bits, or in the wrong unit) without limiting real uploads. */
const MAX_BYTES_CEILING = 5 * 1024 ** 4

/** The options checked and copied (so a later change by the app cannot widen them), or the first problem. */
export function resolveUploadOptions(options: { uploadKey?: unknown; uploadLimits?: unknown }): ResolvedUploadOptions | UploadOptionProblem {
  const { uploadKey, uploadLimits } = options
  if (uploadKey !== undefined && typeof uploadKey !== 'function') {
    return {
      option: 'uploadKey',
      problem: 'must be a function ({ subject, grant, file, req }) => object key',
      fix: 'pass a function, or leave uploadKey out for the default naming',
    }
  }
  if (uploadLimits === undefined) return { uploadKey: uploadKey as UploadKeyHook | undefined, uploadLimits: undefined }
  if (uploadLimits === null || typeof uploadLimits !== 'object' || Array.isArray(uploadLimits)) {
    return {
      option: 'uploadLimits',
      problem: 'must be an object { maxBytes?, contentTypes?, extensions? }',
      fix: "e.g. { maxBytes: 10 * 1024 * 1024, contentTypes: ['image/*'] }",
    }
  }
  const given = uploadLimits as Record<string, unknown>
  const unknown = Object.keys(given).find((name) => !LIMIT_FIELDS.includes(name))
  if (unknown !== undefined) return { option: `uploadLimits.${unknown}`, problem: 'is not a known limit', fix: `the limits are ${LIMIT_FIELDS.join(', ')}` }
  const { maxBytes, contentTypes, extensions } = given
  if (maxBytes !== undefined && (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_BYTES_CEILING)) {
    return {
      option: 'uploadLimits.maxBytes',
      problem: `must be a whole number of bytes from 0 to ${MAX_BYTES_CEILING}`,
      fix: 'e.g. 10 * 1024 * 1024 for 10 MiB',
    }
  }
  if (contentTypes !== undefined && !nonEmptyStrings(contentTypes, (t) => /^[\w.+*?-]+\/[\w.+*?-]+$/.test(t))) {
    return {
      option: 'uploadLimits.contentTypes',
      problem: "must be a non-empty array of media types, '*' and '?' allowed",
      fix: "e.g. ['image/*', 'application/pdf']",
    }
  }
  if (extensions !== undefined && !nonEmptyStrings(extensions, (e) => /^[a-z0-9]{1,10}$/i.test(e))) {
    return {
      option: 'uploadLimits.extensions',
      problem: 'must be a non-empty array of extensions without the dot (1–10 letters or digits)',
      fix: "e.g. ['jpg', 'png']",
    }
  }
  return {
    uploadKey: uploadKey as UploadKeyHook | undefined,
    uploadLimits: {
      ...(maxBytes === undefined ? {} : { maxBytes: maxBytes }),
      ...(contentTypes === undefined ? {} : { contentTypes: [...(contentTypes as string[])] }),
      ...(extensions === undefined ? {} : { extensions: (extensions as string[]).map((e) => e.toLowerCase()) }),
    },
  }
}

function nonEmptyStrings(value: unknown, valid: (item: string) => boolean): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && valid(item))
}
