// The contract's error table, the route's error class, and the JSON error writer.
import type { Response } from 'express'

/** Codes of the contract's error table. */
export type ErrorCode =
  | 'InvalidRequest'
  | 'Unauthenticated'
  | 'AccessDenied'
  | 'ScopeNotAllowed'
  | 'TooManyRequests'
  | 'InvalidGrant'
  | 'InternalError'
  | 'RequestError'
  | 'StsError'
  | 'StsThrottled'
  | 'StsTimeout'

/** An answer the route gives instead of credentials. `message` is safe to show the caller. */
export class RouteError extends Error {
  override readonly name = 'RouteError'
  readonly status: number
  readonly code: ErrorCode
  /** Seconds, sent as `Retry-After` (429, 503). */
  retryAfter: number | undefined
  /** STS's own code and RequestId: for onError/logger only, never the response. */
  stsCode: string | undefined
  stsRequestId: string | undefined

  constructor(status: number, code: ErrorCode, message: string, details: { cause?: unknown; retryAfter?: number; stsCode?: string; stsRequestId?: string } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.status = status
    this.code = code
    this.retryAfter = details.retryAfter
    this.stsCode = details.stsCode
    this.stsRequestId = details.stsRequestId
  }
}

/** The code of a 4xx status that the app's `authorize` threw, per the contract. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'InvalidRequest'
    case 401: return 'Unauthenticated'
    case 403: return 'AccessDenied'
    case 429: return 'TooManyRequests'
    default: return 'RequestError'
  }
}

/** Writes `{ error: { code, message } }` with the contract's headers. */
export function sendError(res: Response, error: RouteError): void {
  if (error.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.retryAfter))))
  writeJson(res, error.status, { error: { code: error.code, message: error.message } })
}

/**
 * Every answer of the router, keys and errors alike: `Cache-Control: no-store`, so no browser or proxy keeps it.
 * Written directly rather than with res.json, whose ETag (a hash of every body) and 304 handling mean nothing for
 * an answer that must never be stored or revalidated.
 */
export function writeJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(text)
}

/** An error's identifying fields only: never the request, headers, client or socket that came with it. */
export function errorSummary(error: unknown): Record<string, unknown> {
  if (error === null || typeof error !== 'object') return { message: String(error) }
  const { name, message, code, requestId, httpCode, type } = error as Record<string, unknown>
  return Object.fromEntries(Object.entries({ name, message, code, requestId, httpCode, type }).filter(([, value]) => value !== undefined && value !== ''))
}
