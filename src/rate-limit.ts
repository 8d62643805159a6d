// The two express-rate-limit layers: per IP (before authorize) and per subject (after it), answering the contract's 429.
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { rateLimit, type Options as RateLimitMiddlewareOptions, type RateLimitInfo } from 'express-rate-limit'
import { errorSummary, RouteError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import type { Logger, RateLimitLayerOptions } from './types.js'
import { KEY_TAGS, subjectKey, taggedStore } from './rate-limit-keys.js'

/**
 * Defaults, per 60 s window (the arithmetic: docs/rate-limits.md). Per subject 120 requests that need STS (cache
 * hits are not counted): one STS call per file, so a folder of 100 files fits, while one user can spend at most
 * 2 STS calls/s of the account's budget. Per IP 1000 requests of any kind: cos-js-sdk-v5 asks the route once per
 * upload step (about 4 to 6 per multipart file), so a folder of 100 multipart files makes some 500; one office or
 * carrier NAT puts many users behind one address; and the layer only has to keep floods off `authorize`.
 */
export const RATE_LIMIT_DEFAULTS = {
  perIp: { windowMs: 60_000, limit: 1000 },
  perSubject: { windowMs: 60_000, limit: 120 },
} as const

export interface RateLimitLayers {
  perIp: RequestHandler | undefined
  perSubject: RequestHandler | undefined
}

/** What the per-subject layer reads from the request's state, once authorize and the scope are done. */
export interface SubjectLayerInputs {
  subjectOf: (res: Response) => string | undefined
  /** True when the cache holds this request's key in process: it will cost no STS call, so it is not counted. */
  servable: (res: Response) => boolean
  /** True once the answer's key came from the cache after all (a shared store, a call in flight): the count is given back. */
  answeredFromCache: (res: Response) => boolean
}

/** Builds the enabled layers once, at start-up (express-rate-limit wants its limiters created outside requests). */
export function createRateLimitLayers(resolved: Pick<ResolvedOptions, 'rateLimit' | 'logger'>, inputs: SubjectLayerInputs): RateLimitLayers {
  const { rateLimit: layers, logger } = resolved
  if (layers === false) return { perIp: undefined, perSubject: undefined }
  const perIp = layers.perIp === false ? undefined : createLayer('per-ip', KEY_TAGS.perIp, { ...RATE_LIMIT_DEFAULTS.perIp }, layers.perIp, logger)
  let perSubject: RequestHandler | undefined
  if (layers.perSubject !== false) {
    const given = layers.perSubject
    const appSkip = given.skip
    perSubject = createLayer(
      'per-subject',
      KEY_TAGS.perSubject,
      {
        ...RATE_LIMIT_DEFAULTS.perSubject,
        // The request's plan and scope are known by now; without them this layer would not be reached.
        keyGenerator: (_req: Request, res: Response) => subjectKey(inputs.subjectOf(res) ?? ''),
        // A key the shared store or a call in flight answered cost no STS call either: express-rate-limit gives
        // the count back when the answer is sent. Only what reached STS, or failed, stays counted.
        skipSuccessfulRequests: true,
        requestWasSuccessful: (_req: Request, res: Response) => inputs.answeredFromCache(res),
      },
      {
        ...given,
        // Cache hits cost nothing: count only what may reach STS. An app's own skip is asked as well.
        skip: (req: Request, res: Response) => inputs.servable(res) || (appSkip === undefined ? false : appSkip(req, res)),
      },
      logger,
    )
  }
  return { perIp, perSubject }
}

function createLayer(
  name: 'per-ip' | 'per-subject',
  tag: string,
  defaults: RateLimitLayerOptions,
  given: RateLimitLayerOptions,
  logger: Logger,
): RequestHandler {
  const own = ownOptions(given)
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
    ...own,
    store: taggedStore(own.store, tag),
  })
  // express-rate-limit hands a store failure to next(); say what failed instead of a bare 500.
  return (req, res, next) =>
    limiter(req, res, (error?: unknown) => {
      if (error === undefined) return next()
      next(
        error instanceof RouteError
          ? error
          : new RouteError('InternalError', 'Rate limiting is unavailable; try again shortly.', { cause: errorSummary(error) }),
      )
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
function rateLimitLogger(
  logger: Logger,
  layer: string,
): { warn: (error: unknown, context?: string) => void; error: (error: unknown, context?: string) => void } {
  // Validation warnings come with no context: their own message (with its ERR_ERL_ code) is the line.
  const line = (error: unknown, context: string | undefined) =>
    [`express-cos-sts: rate limit ${layer}: ${context ?? String(errorSummary(error)['message'])}`, errorSummary(error)] as const
  return {
    warn: (error, context) => logger.warn(...line(error, context)),
    error: (error, context) => logger.error(...line(error, context)),
  }
}
