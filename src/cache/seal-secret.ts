// Which secret seals a shared store's values, and the refusal of one too weak to keep them from whoever reads the store.
import { ConfigError } from '../options.js'
import type { CacheStore } from '../types.js'

/** Tencent Cloud SecretKeys are 32 letters and digits; a seal secret must be at least that. */
export const MIN_SEAL_SECRET_CHARS = 32

/** Why `secret` is too weak to seal with, or undefined when it is strong enough: 32+ characters, 3 of 4 kinds, 12+ distinct. */
export function sealSecretWeakness(secret: string): string | undefined {
  if (secret.length < MIN_SEAL_SECRET_CHARS) return `it has ${secret.length} characters, fewer than ${MIN_SEAL_SECRET_CHARS}`
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((kind) => kind.test(secret)).length
  if (kinds < 3) return `it uses ${kinds} of the 4 kinds of character (lower case, upper case, digits, others), fewer than 3`
  if (new Set(secret).size < 12) return `it has only ${new Set(secret).size} distinct characters, fewer than 12`
  return undefined
}

/**
 * The secret for a store outside this process: the store's own `sealSecret`, else the permanent `secretKey`. Anyone who
 * reads the store could decrypt every cached key with a guessable one (e.g. a placeholder `secretKey` beside `sts.client`).
 */
export function checkSealSecret(store: CacheStore, secretKey: string): string {
  if (store.sealSecret !== undefined) {
    const weakness = typeof store.sealSecret === 'string' ? sealSecretWeakness(store.sealSecret) : 'it is not a string'
    if (weakness !== undefined) {
      throw new ConfigError(
        'cache.store.sealSecret',
        `is too weak to seal cached keys: ${weakness}`,
        'use 32 or more random characters, e.g. from `openssl rand -base64 33`, kept as secret as the SecretKey',
      )
    }
    return store.sealSecret
  }
  const weakness = sealSecretWeakness(secretKey)
  if (weakness !== undefined) {
    throw new ConfigError(
      'secretKey',
      `is too weak to seal keys in a shared cache store (${weakness}): whoever reads the store could decrypt every cached key`,
      'pass the real SecretKey, or give the store its own secret: createRedisCacheStore({ client, sealSecret: process.env.COS_STS_SEAL_SECRET }) with 32+ random characters',
    )
  }
  return secretKey
}
