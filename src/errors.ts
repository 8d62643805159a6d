// The contract's error table, the route's error class, and the JSON error writer.
import type { Response } from 'express'
import type { ErrorCode, RouteErrorDetails } from './types.js'

export type { ErrorCode, RouteErrorDetails } from './types.js'

/**
 * The contract's error table: code → status → default message. A RouteError takes its status from here, so
 * no file types an HTTP status by hand; `InvalidRequest` (413, 405) and `RequestError` (any 4xx the app's
 * authorize threw) may name another status.
 */
export const ERRORS = {
  InvalidRequest: { status: 400, message: 'The request is malformed.' },
  Unauthenticated: { status: 401, message: 'Sign in to get upload credentials.' },
  AccessDenied: { status: 403, message: 'You may not get upload credentials.' },
  ScopeNotAllowed: { status: 403, message: 'The requested scope is outside what you may do.' },
  TooManyRequests: { status: 429, message: 'Too many credential requests; try again later.' },
  UploadNotAllowed: { status: 400, message: 'This file may not be uploaded.' },
  InvalidGrant: { status: 500, message: 'The server refused to issue this key: its grant breaks a least-privilege rule.' },
  InternalError: { status: 500, message: 'Something went wrong issuing credentials.' },
  RequestError: { status: 400, message: 'The request was refused.' },
  StsError: { status: 502, message: 'STS refused to issue a key.' },
  StsThrottled: { status: 503, message: 'Too many credential requests right now; try again shortly.' },
  StsTimeout: { status: 504, message: 'STS did not answer in time; try again.' },
  AuthorizeTimeout: { status: 504, message: 'Could not check who is asking in time; try again.' },
} as const satisfies Record<string, { status: number; message: string }>

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

  /** `new RouteError(code, message?, details?)`; the 0.1 form `new RouteError(status, code, message, details?)` still works. */
  constructor(code: ErrorCode, message?: string, details?: RouteErrorDetails)
  constructor(status: number, code: ErrorCode, message: string, details?: RouteErrorDetails)
  constructor(...args: [ErrorCode, string?, RouteErrorDetails?] | [number, ErrorCode, string, RouteErrorDetails?]) {
    const [code, message, details = {}] = typeof args[0] === 'number' ? [args[1], args[2], { ...args[3], status: args[0] }] : [args[0], args[1], args[2] ?? {}]
    super(message ?? ERRORS[code].message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.status = details.status ?? ERRORS[code].status
    this.retryAfter = details.retryAfter
    this.stsCode = details.stsCode
    this.stsRequestId = details.stsRequestId
  }
}

/** The code of a 4xx status that the app's `authorize` threw, per the contract. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'InvalidRequest'
    case 401:
      return 'Unauthenticated'
    case 403:
      return 'AccessDenied'
    case 429:
      return 'TooManyRequests'
    default:
      return 'RequestError'
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

/** An error's message, or the thrown value as text: for log lines about errors that are not ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
