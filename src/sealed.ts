// Seals cached keys for a shared store (AES-256-GCM, key derived with HKDF from the seal secret: the store's sealSecret or the permanent SecretKey) and names store entries by keyed digests.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

/** Turns cache entries into what a shared store may hold: opaque names and ciphertext. */
export interface Sealer {
  /** HMAC-SHA256 of `text` (base64url): stable for one permanent key, meaningless and unguessable without it. */
  digest(text: string): string
  /** Encrypts `plaintext`, bound to `storeKey`: the result opens only under that same key. */
  seal(plaintext: string, storeKey: string): string
  /** The plaintext, or undefined when the value was not sealed by this permanent key for this store key (tampered, moved, foreign). */
  open(sealed: string, storeKey: string): string | undefined
}

const VERSION = 'v1.'
const IV_BYTES = 12 // GCM's standard nonce size; random per value
const TAG_BYTES = 16
// Fixed, public salt: HKDF's input is already a high-entropy secret; the labels keep the two derived keys independent.
const SALT = Buffer.from('express-cos-sts key cache')

export function createSealer(secretKey: string): Sealer {
  const sealKey = Buffer.from(hkdfSync('sha256', secretKey, SALT, 'seal v1', 32))
  const nameKey = Buffer.from(hkdfSync('sha256', secretKey, SALT, 'names v1', 32))

  return {
    digest: (text) => createHmac('sha256', nameKey).update(text).digest('base64url'),

    seal(plaintext, storeKey) {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv)
      cipher.setAAD(Buffer.from(storeKey))
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return VERSION + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
    },

    open(sealed, storeKey) {
      if (!sealed.startsWith(VERSION)) return undefined
      const raw = Buffer.from(sealed.slice(VERSION.length), 'base64url')
      if (raw.length < IV_BYTES + TAG_BYTES) return undefined
      try {
        const decipher = createDecipheriv('aes-256-gcm', sealKey, raw.subarray(0, IV_BYTES))
        decipher.setAAD(Buffer.from(storeKey))
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
      } catch {
        return undefined // authentication failed: not ours, or altered
      }
    },
  }
}
