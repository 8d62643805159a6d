// Names a scope: everything that makes two requests want the same key, hashed to one id.
import { hash } from 'node:crypto'
import type { CamPolicy } from '../types.js'

/** Everything that makes two requests want the same key. */
export interface ScopeRequest {
  subject: string
  bucket: string
  region: string
  /** The exact policy STS will receive: a changed grant is a new scope. */
  policy: CamPolicy
  durationSeconds: number
}

const DIGEST_VERSION = 'scope v1'

/**
 * A plain SHA-256 of the scope, the permanent SecretId and the STS mode (a key of one account or mode never answers
 * another). It names the scope in process; a shared store only ever sees a keyed digest of it.
 */
export function scopeIdOf(scope: ScopeRequest, secretId: string, mode: string): string {
  return hash(
    'sha256',
    JSON.stringify([DIGEST_VERSION, secretId, mode, scope.subject, scope.bucket, scope.region, scope.durationSeconds, scope.policy]),
    'base64url',
  )
}
