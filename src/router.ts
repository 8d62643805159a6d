// createStsRouter: wires the request's steps (rate limit → authorize → scope → policy → cache → STS → response), nothing else.
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express'
import { authorizeRequest } from './authorize.js'
import { keyCacheFor } from './cache.js'
import { RouteError, sendError, writeJson } from './errors.js'
import { resolveOptions, type ResolvedOptions } from './options.js'
import { onceWarner } from './guard.js'
import { createPlanner } from './grant-memo.js'
import { buildPolicy, type GrantPlan } from './policy.js'
import { credentialsBody, issueEvent } from './response.js'
import { createRateLimitLayers } from './rate-limit.js'
import { narrowPlan, parseRequestedScope } from './scope.js'
import { createStsCaller } from './sts.js'
import type { CacheStats, ErrorEvent, StsRouterOptions } from './types.js'

/** Largest POST body accepted: a full 50-item scope fits in a few kB. */
export const BODY_LIMIT = '16kb'

/** Per-request state shared by the steps, kept on res.locals so each step stays a plain Express handler. */
interface RouteState {
  plan?: GrantPlan
}

/** The Express router, plus the key cache's controls. */
export type StsRouter = Router & {
  /** Drops every cached key of `subject` (logout, role change), in the shared store too; resolves false if the store could not be told (logged). */
  invalidate(subject: string): Promise<boolean>
  /** The cache's counters: hits, misses, joined in-flight calls, STS calls, errors, store errors, entries. */
  cacheStats(): CacheStats
}

export function createStsRouter(options: StsRouterOptions): StsRouter {
  const resolved = resolveOptions(options)
  const callSts = createStsCaller(resolved)
  const cache = keyCacheFor(resolved)
  // Per IP before anything else (floods never reach authorize or the body parser); per subject once the grant names one.
  const rateLimits = createRateLimitLayers(resolved, (res) => state(res).plan?.subject)
  const perIp = rateLimits.perIp ? [rateLimits.perIp] : []
  const perSubject = rateLimits.perSubject ? [rateLimits.perSubject] : []
  const assumeRole = resolved.sts.roleArn !== undefined
  // A deliberate shared write prefix is logged once per statement content, not on every request.
  const onWarning = onceWarner(resolved.logger)

  const planFor = createPlanner({ bucket: resolved.bucket, region: resolved.region, durationSeconds: resolved.durationSeconds, assumeRole, onWarning })

  const authorizeStep: RequestHandler = async (req, res, next) => {
    try {
      const grant = await authorizeRequest(resolved.authorize, req)
      state(res).plan = planFor(grant)
      next()
    } catch (error) {
      next(error)
    }
  }

  const issueStep: RequestHandler = async (req, res, next) => {
    try {
      const granted = state(res).plan as GrantPlan
      const requested = req.method === 'POST' ? parseRequestedScope(req.body) : undefined
      const plan = requested === undefined ? granted : narrowPlan(granted, requested)
      const policy = buildPolicy(plan)
      const scope = { subject: plan.subject, bucket: plan.bucket, region: plan.region, policy, durationSeconds: plan.durationSeconds }
      const { key, cached } = await cache.issue(scope, () => callSts({ subject: plan.subject, policy, durationSeconds: plan.durationSeconds }))
      writeJson(res, 200, credentialsBody(key, plan))
      notify(resolved, () => resolved.onIssue?.(issueEvent(key, plan, cached)))
    } catch (error) {
      next(error)
    }
  }

  const router = express.Router()
  router.route('/')
    .head(methodNotAllowed)
    .get(...perIp, authorizeStep, ...perSubject, issueStep)
    .post(...perIp, requireJsonBody, readJsonBody, authorizeStep, ...perSubject, issueStep)
    .all(methodNotAllowed)
  router.use(errorHandler(resolved))
  return Object.assign(router, { invalidate: (subject: string) => cache.invalidate(subject), cacheStats: () => cache.stats() })
}

function state(res: Response): RouteState {
  return (res.locals['cosSts'] ??= {}) as RouteState
}

/** A POST body that is not JSON would be silently ignored by express.json; say so instead. */
function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
  if (hasBody && !req.is('application/json')) next(new RouteError('InvalidRequest', 'Send the POST body as application/json.'))
  else next()
}

const parseJsonBody = express.json({ limit: BODY_LIMIT })

/** express.json; a corrupt gzip/deflate/br body's zlib error comes out of it with a 4xx status but no `type`: still the client's bad body, not a 500. */
function readJsonBody(req: Request, res: Response, next: NextFunction): void {
  parseJsonBody(req, res, (error?: unknown) => {
    const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown }
    const undecodable = typeof status === 'number' && status >= 400 && status < 500 && type === undefined
    next(undecodable ? new RouteError('InvalidRequest', 'The body could not be decoded.', { cause: error }) : error)
  })
}

function methodNotAllowed(req: Request, res: Response, next: NextFunction): void {
  if (req.method === 'OPTIONS') return next() // CORS preflights belong to the app's cors middleware
  res.setHeader('Allow', 'GET, POST')
  next(new RouteError('InvalidRequest', `Use GET or POST, not ${req.method}.`, { status: 405 }))
}

/** Turns every failure inside this router into the contract's JSON error, and tells onError/logger. */
function errorHandler(resolved: ResolvedOptions) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(error)
    const routeError = toRouteError(error)
    const event: ErrorEvent = { status: routeError.status, code: routeError.code, message: routeError.message }
    const subject = (res.locals['cosSts'] as RouteState | undefined)?.plan?.subject
    if (subject !== undefined) event.subject = subject
    if (routeError.stsCode !== undefined) event.stsCode = routeError.stsCode
    if (routeError.stsRequestId !== undefined) event.stsRequestId = routeError.stsRequestId
    if (routeError.status >= 500) {
      event.cause = routeError.cause
      // The budget refusing calls is the router protecting the account, not a fault: under a flood, one warn per refusal.
      const level = routeError.code === 'StsThrottled' && routeError.stsCode === undefined ? 'warn' : 'error'
      resolved.logger[level](`express-cos-sts: ${routeError.code}: ${routeError.message}`, { ...event })
    }
    notify(resolved, () => resolved.onError?.(event))
    sendError(res, routeError)
  }
}

/** body-parser's own errors carry `type` and `status`; they become the contract's InvalidRequest. */
function toRouteError(error: unknown): RouteError {
  if (error instanceof RouteError) return error
  const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown }
  if (typeof type === 'string' && typeof status === 'number') {
    if (status === 413) return new RouteError('InvalidRequest', `The body is over the ${BODY_LIMIT} limit.`, { status: 413 })
    if (status < 500) return new RouteError('InvalidRequest', type === 'entity.parse.failed' ? 'The body is not valid JSON.' : 'The body could not be read.')
  }
  return new RouteError('InternalError', undefined, { cause: error })
}

/** An observer that throws must not turn a served answer into a crash. */
function notify(resolved: ResolvedOptions, call: () => void): void {
  try {
    call()
  } catch (error) {
    resolved.logger.error('express-cos-sts: an onIssue/onError hook threw', { message: error instanceof Error ? error.message : String(error) })
  }
}
