// Who may do what: the temporary key behind a request (signature, token, expiry) and whether its issued policy allows the operation.
import type { IncomingMessage } from 'node:http'
import { isAllowed } from '../../src/simulator.js'
import type { CamPolicy } from '../../src/types.js'
import type { IssuedCredentials } from '../../src/testing/index.js'
import type { Operation } from './operations.js'
import { parseCosAuthorization, signatureMatches, type SignedParts } from './signature.js'
import { CosError } from './xml.js'

/** Where issued temporary keys are looked up: the local STS. */
export interface CredentialLookup {
  findByTmpSecretId(id: string): IssuedCredentials | undefined
  findByToken(token: string): IssuedCredentials | undefined
}

const ACCESS_DENIED = 'Access Denied.'

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * The temporary key that signed the request, checked in COS's order: a signature at all, a known
 * key id, the session token that belongs to it, the time windows, then the signature itself.
 */
export function authenticate(req: IncomingMessage, parts: SignedParts, keys: CredentialLookup, nowSeconds: number): IssuedCredentials {
  const auth = parseCosAuthorization(header(req, 'authorization'))
  if (typeof auth === 'string') {
    // An unsigned request to a private bucket is plain AccessDenied; a malformed signature is not.
    throw header(req, 'authorization') === undefined
      ? new CosError(403, 'AccessDenied', ACCESS_DENIED)
      : new CosError(403, 'SignatureDoesNotMatch', `The Authorization is malformed: ${auth}.`)
  }
  const credentials = keys.findByTmpSecretId(auth.secretId)
  if (!credentials) throw new CosError(403, 'InvalidAccessKeyId', 'The SecretId (q-ak) is not a key this COS issued.')
  const token = header(req, 'x-cos-security-token')
  if (token === undefined || token === '') {
    throw new CosError(403, 'InvalidAccessKeyId', 'A temporary key must be sent with its x-cos-security-token.')
  }
  if (keys.findByToken(token) !== credentials) {
    throw new CosError(403, 'InvalidAccessKeyId', 'The x-cos-security-token does not belong to the SecretId (q-ak).')
  }
  const inWindow = ([start, end]: [number, number]): boolean => start <= nowSeconds && nowSeconds <= end
  if (!inWindow(auth.signWindow) || !inWindow(auth.keyWindow) || nowSeconds > credentials.expiredTime) {
    throw new CosError(403, 'AccessDenied', 'Request has expired')
  }
  if (!signatureMatches(credentials.tmpSecretKey, auth, parts)) {
    throw new CosError(403, 'SignatureDoesNotMatch', 'The Signature you specified does not match what we calculated.')
  }
  return credentials
}

/** Evaluates the policy the key was issued with; a key issued without one is refused here (the example never asks for one). */
export function authorize(
  credentials: IssuedCredentials,
  operation: Operation,
  request: { bucket: string; region: string; context: Record<string, string | number> },
): void {
  const policy = credentials.policy as CamPolicy | undefined
  const allowed =
    policy !== undefined &&
    isAllowed(policy, {
      action: operation.action,
      bucket: request.bucket,
      region: request.region,
      key: operation.resourceKey,
      context: request.context,
    })
  if (!allowed) throw new CosError(403, 'AccessDenied', ACCESS_DENIED)
}
