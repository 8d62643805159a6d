// Calls the app's authorize hook and turns its outcome into a grant or the contract's error.
import type { Request } from 'express'
import { codeForStatus, RouteError } from './errors.js'
import type { AuthorizeHook, Grant } from './types.js'

/**
 * The hook's grant, or the contract's error. A hook that answers synchronously gets its answer synchronously (the
 * hit path then makes no promise and no timer). A hook that has not settled after `timeoutMs` (a hung session store)
 * answers 504 AuthorizeTimeout instead of holding the request; its late outcome is ignored, a late rejection too.
 */
export function authorizeRequest(authorize: AuthorizeHook, req: Request, timeoutMs: number): Grant | Promise<Grant> {
  let outcome: unknown
  try {
    outcome = authorize(req)
  } catch (error) {
    throw refusal(error)
  }
  if (!isThenable(outcome)) return grantOf(outcome)
  return settleWithin(outcome, timeoutMs).then(grantOf, (error: unknown) => {
    throw refusal(error)
  })
}

const refusal = (error: unknown): RouteError => (error instanceof RouteError && error.code === 'AuthorizeTimeout' ? error : fromThrown(error))

function grantOf(outcome: unknown): Grant {
  if (outcome === null || outcome === undefined) throw new RouteError('Unauthenticated')
  if (outcome === false) throw new RouteError('AccessDenied')
  if (typeof outcome !== 'object' || Array.isArray(outcome)) {
    throw new RouteError('InvalidGrant', `authorize must return a grant object, null or false (got ${Array.isArray(outcome) ? 'an array' : typeof outcome})`)
  }
  return outcome as Grant
}

/** A 4xx the app threw on purpose is passed on with its message; anything else is a generic 500. */
function fromThrown(error: unknown): RouteError {
  const status = statusOf(error)
  if (status !== undefined && status >= 400 && status < 500) {
    const message = error instanceof Error && error.message ? error.message : 'Request refused.'
    return new RouteError(codeForStatus(status), message, { status, cause: error })
  }
  return new RouteError('InternalError', 'Could not check who is asking.', { cause: error })
}

function statusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown }
  const value = status ?? statusCode
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}

/** The promise's outcome, or AuthorizeTimeout after `timeoutMs`; a rejection after that is swallowed, never unhandled. */
async function settleWithin(pending: PromiseLike<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const settled = Promise.resolve(pending)
  settled.catch(() => undefined)
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RouteError('AuthorizeTimeout', undefined, { cause: { message: `authorize did not settle within ${timeoutMs} ms` } })),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([settled, deadline])
  } finally {
    clearTimeout(timer)
  }
}
