// The text a store keeps for one cached key: the key's fields and the invalidation mark it was written under, one per line.
import type { IssuedKey } from '../sts.js'

/**
 * A key with more text than STS documents (token ≤ 4096 bytes, id and key ≤ 1024 each) is served but not kept,
 * so `max` entries have a hard memory ceiling.
 */
export const MAX_CACHED_KEY_CHARS = 6400

const VERSION = 'e1'
const FIELDS = 9

/** What a store holds for a scope: the key and the mark of its subject when it was written. */
export interface Entry {
  key: IssuedKey
  mark: string
}

/** Whether the key may be kept at all: within STS's documented sizes, and no field that would break the line format. */
export function keepable(key: IssuedKey): boolean {
  const texts = [key.tmpSecretId, key.tmpSecretKey, key.sessionToken, key.expiration, key.requestId]
  return texts.reduce((sum, text) => sum + text.length, 0) <= MAX_CACHED_KEY_CHARS && texts.every((text) => !text.includes('\n'))
}

/** Lines, not JSON: splitting gives the fields as slices of the stored text, so a hit copies no key material. */
export function encodeEntry(entry: Entry): string {
  const { key, mark } = entry
  return [VERSION, mark, key.tmpSecretId, key.tmpSecretKey, key.sessionToken, key.startTime, key.expiredTime, key.expiration, key.requestId].join('\n')
}

/** The entry, or undefined for text that is not one (another version, or damaged). */
export function decodeEntry(text: string): Entry | undefined {
  const fields = text.split('\n')
  if (fields.length !== FIELDS || fields[0] !== VERSION) return undefined
  const [, mark, tmpSecretId, tmpSecretKey, sessionToken, start, expired, expiration, requestId] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ]
  const startTime = Number(start)
  const expiredTime = Number(expired)
  if (mark === '' || !Number.isSafeInteger(startTime) || !Number.isSafeInteger(expiredTime)) return undefined
  return { key: { tmpSecretId, tmpSecretKey, sessionToken, startTime, expiredTime, expiration, requestId }, mark }
}
