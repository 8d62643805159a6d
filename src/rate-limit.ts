// The two express-rate-limit layers: per IP (before authorize) and per subject (after it), answering the contract's 429.
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { rateLimit, type Options as RateLimitMiddlewareOptions, type RateLimitInfo } from 'express-rate-limit'
import { errorSummary, RouteError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import type { Logger, RateLimitLayerOptions } from './types.js'

/**
 * Defaults, per 60 s window. Per subject 120: cos-js-sdk-v5 asks once per upload when the front end
 * sends a scope (once per key lifetime without), so a user dropping a folder of 100 files still fits,
 * while one account can spend at most 2 STS calls/s of the shared budget. Per IP 300: one office or
 * mobile carrier NAT puts many users behind one address, and the layer only needs to keep floods off
 * `authorize` (often a session or database lookup).
 */
export const RATE_LIMIT_DEFAULTS = {
  perIp: { windowMs: 60_000, limit: 300 },
  perSubject: { windowMs: 60_000, limit: 120 },
} as const

export interface RateLimitLayers {
  perIp: RequestHandler | undefined
  perSubject: RequestHandler | undefined
}

/** Builds the enabled layers once, at start-up (express-rate-limit wants its limiters created outside requests). */
export function createRateLimitLayers(resolved: Pick<ResolvedOptions, 'rateLimit' | 'logger'>, subjectOf: (res: Response) => string | undefined): RateLimitLayers {
  const { rateLimit: layers, logger } = resolved
  if (layers === false) return { perIp: undefined, perSubject: undefined }
  const perIp = layers.perIp === false ? undefined : createLayer('per-ip', { ...RATE_LIMIT_DEFAULTS.perIp }, layers.perIp, logger)
  const perSubject = layers.perSubject === false ? undefined : createLayer('per-subject', {
    ...RATE_LIMIT_DEFAULTS.perSubject,
    // authorizeStep has stored the plan; without one this layer would not be reached.
    keyGenerator: (_req: Request, res: Response) => subjectOf(res) ?? '',
  }, layers.perSubject, logger)
  return { perIp, perSubject }
}

function createLayer(name: 'per-ip' | 'per-subject', defaults: RateLimitLayerOptions, given: RateLimitLayerOptions, logger: Logger): RequestHandler {
  const limiter = rateLimit({
    ...defaults,
    // The standard RateLimit / RateLimit-Policy fields (IETF draft 8): each layer appends its own named entry.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    // Fail open when the store (e.g. Redis) errors: a store outage must not stop every upload; the STS
    // budget, which lives in process, still caps what reaches STS. Pass false to fail closed (500).
    passOnStoreError: true,
    handler: tooManyRequests,
    logger: rateLimitLogger(logger, name),
    ...ownOptions(given),
  })
  // express-rate-limit hands a store failure to next(); say what failed instead of a bare 500.
  return (req, res, next) => limiter(req, res, (error?: unknown) => {
    if (error === undefined) return next()
    next(error instanceof RouteError ? error : new RouteError('InternalError', 'Rate limiting is unavailable; try again shortly.', { cause: errorSummary(error) }))
  })
}

/**
 * The app's options as overrides of ours: an `undefined` must not blank a default (express-rate-limit would then
 * fall back to its own limit of 5), and the older name `max` must win over our default `limit`.
 */
function ownOptions(given: RateLimitLayerOptions): RateLimitLayerOptions {
  const { max, ...rest } = given
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as RateLimitLayerOptions
  return defined.limit === undefined && max !== undefined ? { ...defined, limit: max } : defined
}

/** The contract's 429: JSON TooManyRequests with Retry-After (express-rate-limit's own, or the window's reset). */
function tooManyRequests(req: Request, res: Response, next: NextFunction, options: RateLimitMiddlewareOptions): void {
  const info = (req as Request & Record<string, RateLimitInfo | undefined>)[options.requestPropertyName]
  const set = Number(res.getHeader('Retry-After'))
  const resetMs = info?.resetTime instanceof Date ? info.resetTime.getTime() - Date.now() : options.windowMs
  const retryAfter = Number.isFinite(set) && set > 0 ? set : Math.ceil(resetMs / 1000)
  next(new RouteError('TooManyRequests', undefined, { retryAfter }))
}

/** express-rate-limit logs (error, context); the router's logger takes (message, details). */
function rateLimitLogger(logger: Logger, layer: string): { warn: (error: unknown, context?: string) => void; error: (error: unknown, context?: string) => void } {
  // Validation warnings come with no context: their own message (with its ERR_ERL_ code) is the line.
  const line = (error: unknown, context: string | undefined) =>
    [`express-cos-sts: rate limit ${layer}: ${context ?? String(errorSummary(error)['message'])}`, errorSummary(error)] as const
  return {
    warn: (error, context) => logger.warn(...line(error, context)),
    error: (error, context) => logger.error(...line(error, context)),
  }
}
