// The contract's answers as test oracles: which codes each status may carry, and what every error and every 200 must look like.
import type { RawResponse } from './raw-request.js'

/** CONTRACT.md's error table (405 is the README's addition), status → the codes it may carry. */
export const CODES_BY_STATUS: Readonly<Record<number, readonly string[]>> = {
  400: ['InvalidRequest', 'UploadNotAllowed'],
  401: ['Unauthenticated'],
  403: ['AccessDenied', 'ScopeNotAllowed'],
  405: ['InvalidRequest'],
  413: ['InvalidRequest'],
  429: ['TooManyRequests'],
  500: ['InvalidGrant', 'InternalError'],
  502: ['StsError'],
  503: ['StsThrottled'],
  504: ['StsTimeout'],
}

// A stack frame, raw or JSON-escaped ("\\n    at f (file:1:2)"), or a Node internal path.
const STACK_FRAME = /(?:\n|\\n)\s+at \S|node:internal[\\/]/

/** What is wrong with an error answer, as a list (empty when it keeps the contract). */
export function errorAnswerProblems(res: RawResponse): string[] {
  const problems: string[] = []
  const codes = CODES_BY_STATUS[res.status]
  if (codes === undefined) problems.push(`status ${res.status} is not in the contract's error table`)
  if (res.headers['cache-control'] !== 'no-store') problems.push(`Cache-Control is ${String(res.headers['cache-control'])}`)
  if (!/^application\/json\b/.test(res.headers['content-type'] ?? '')) problems.push(`Content-Type is ${String(res.headers['content-type'])}`)
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | undefined
  if (body === undefined || typeof body !== 'object' || body === null) return [...problems, `body is not JSON: ${res.text.slice(0, 80)}`]
  if (Object.keys(body).join() !== 'error') problems.push(`body keys are ${Object.keys(body).join()}`)
  const { code, message } = body.error ?? {}
  if (typeof code !== 'string' || (codes !== undefined && !codes.includes(code))) problems.push(`code ${String(code)} does not go with ${res.status}`)
  if (typeof message !== 'string' || message.length === 0) problems.push('message is missing')
  if (STACK_FRAME.test(res.text)) problems.push('the body carries a stack trace')
  // 503 always says when to retry; a 429 does when a rate limit answered it, not when the app's authorize threw one.
  if (res.status === 503 && !(Number(res.headers['retry-after']) >= 1)) problems.push('Retry-After is missing')
  return problems
}

/** What is wrong with a 200 answer, as a list (empty when it keeps the contract's shape). */
export function credentialsAnswerProblems(res: RawResponse): string[] {
  const problems: string[] = []
  if (res.headers['cache-control'] !== 'no-store') problems.push(`Cache-Control is ${String(res.headers['cache-control'])}`)
  const body = res.json as Record<string, unknown> | undefined
  if (body === undefined || typeof body !== 'object' || body === null) return [...problems, 'body is not JSON']
  // `key` only answers a server-chosen upload ({ upload }).
  const keys = Object.keys(body)
    .filter((name) => name !== 'key')
    .sort()
    .join()
  if (keys !== 'bucket,credentials,expiration,expiredTime,region,requestId,scope,serverTime,startTime') problems.push(`body keys are ${keys}`)
  if ('key' in body && (typeof body['key'] !== 'string' || body['key'] === '')) problems.push('key is not an object key')
  const credentials = body['credentials'] as Record<string, unknown> | undefined
  for (const field of ['tmpSecretId', 'tmpSecretKey', 'sessionToken']) {
    if (typeof credentials?.[field] !== 'string' || credentials[field] === '') problems.push(`credentials.${field} is missing`)
  }
  if (typeof body['startTime'] !== 'number' || typeof body['expiredTime'] !== 'number' || body['startTime'] >= body['expiredTime']) {
    problems.push('startTime/expiredTime are wrong')
  }
  return problems
}

/** The credentials of a 200 answer (call after credentialsAnswerProblems found nothing). */
export function credentialsOf(res: RawResponse): { tmpSecretId: string; tmpSecretKey: string; sessionToken: string } {
  return (res.json as { credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string } }).credentials
}
