// The benchmark's fake keys: permanent ones for its local STS (never a real key), and temporary keys of chosen sizes.
import { randomBytes } from 'node:crypto'
import type { IssuedKey } from '../src/sts.js'

export const BENCH_SECRET_ID = 'AKIDbenchmarkOnlyNotARealKey000000000'
export const BENCH_SECRET_KEY = 'benchmarkOnlyNotARealSecretKey0000000'
export const BENCH_BUCKET = 'examplebucket-1250000000'
export const BENCH_REGION = 'ap-guangzhou'

/** Key text sizes: as the local STS issues them, or the most STS documents (token 4096 bytes, id and key 1024 each). */
export const KEY_SIZES = {
  typical: { id: 48, key: 44, token: 664 },
  'documented-max': { id: 1024, key: 1024, token: 4096 },
} as const

/** A temporary key of those sizes, valid for 30 minutes from now, made of fresh strings as keys parsed from STS answers are. */
export function keyOfSize(sizes: { id: number; key: number; token: number }): IssuedKey {
  const text = (length: number) =>
    randomBytes(Math.ceil((length * 3) / 4))
      .toString('base64url')
      .slice(0, length)
  const expiredTime = Math.floor(Date.now() / 1000) + 1800
  return {
    tmpSecretId: text(sizes.id),
    tmpSecretKey: text(sizes.key),
    sessionToken: text(sizes.token),
    startTime: expiredTime - 1800,
    expiredTime,
    expiration: new Date(expiredTime * 1000).toISOString(),
    requestId: text(36),
  }
}
