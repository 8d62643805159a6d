// createStsRouter: wires the request's steps (rate limit → authorize → scope → policy → cache → STS → response), nothing else.
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express'
import { authorizeRequest, isThenable } from './authorize.js'
import { keyCacheFor } from './cache.js'
import { messageOf, RouteError, sendError, writeJson } from './errors.js'
import { resolveOptions, type ResolvedOptions } from './options.js'
import { GrantError } from './grant/review.js'
import { onceWarner } from './grant/warn-once.js'
import { createPlanner } from './grant-memo.js'
import type { GrantPlan } from './policy.js'
import { createIssuer, type Issued, type PreparedIssue } from './issue.js'
import { createRateLimitLayers } from './rate-limit.js'
import { createStsCaller } from './sts.js'
import { stsHint } from './sts-hints.js'
import type { CacheStats, CredentialsResponse, ErrorEvent, Grant, IssueEvent, IssueOptions, StsRouterOptions } from './types.js'

/** Largest POST body accepted: a full 50-item scope fits in a few kB. */
export const BODY_LIMIT = '16kb'

/** Per-request state shared by the steps, kept on res.locals so each step stays a plain Express handler. */
interface RouteState {
  plan?: GrantPlan
  prepared?: PreparedIssue
  /** The answer's key came from the cache (or a call already in flight): it cost no STS call. */
  fromCache?: boolean
}

/** The Express router, plus the key cache's controls. */
export type StsRouter = Router & {
  /** Drops every cached key of `subject` (logout, role change), in the shared store too; resolves false if the store could not be told (logged). */
  invalidate(subject: string): Promise<boolean>
  /** The cache's counters: hits, misses, joined in-flight calls, STS calls, errors, store errors, entries. */
  cacheStats(): CacheStats
  /**
   * A key for `grant` without an HTTP request (e.g. inside the app's own "new post" answer): the route's rules,
   * cache and STS budget, resolving to the route's 200 body, rejecting with a RouteError. Rate limits do not apply.
   */
  issue(grant: Grant, request?: IssueOptions): Promise<CredentialsResponse>
}

export function createStsRouter(options: StsRouterOptions): StsRouter {
  const resolved = resolveOptions(options)
  const callSts = createStsCaller(resolved)
  const cache = keyCacheFor(resolved)
  const issuer = createIssuer(resolved, cache, callSts)
  // Per IP before anything else (floods never reach authorize or the body parser); per subject once the request's
  // key is known, counting only requests the cache cannot answer in process (those are the ones that cost STS calls).
  const rateLimits = createRateLimitLayers(resolved, {
    subjectOf: (res) => state(res).plan?.subject,
    servable: (res) => {
      const prepared = state(res).prepared
      return prepared !== undefined && cache.isServable(prepared.scope)
    },
    answeredFromCache: (res) => state(res).fromCache === true,
  })
  const perIp = rateLimits.perIp ? [rateLimits.perIp] : []
  const perSubject = rateLimits.perSubject ? [rateLimits.perSubject] : []
  const assumeRole = resolved.sts.roleArn !== undefined
  // A deliberate shared write prefix is logged once per statement content, not on every request.
  const onWarning = onceWarner(resolved.logger)

  const planFor = createPlanner({
    bucket: resolved.bucket,
    region: resolved.region,
    durationSeconds: resolved.durationSeconds,
    assumeRole,
    onWarning,
    requireSubjectTemplates: resolved.requireSubjectTemplates,
  })

  // Who asks, what for, and the plan and scope that answer it: everything the per-subject limit needs to decide.
  const prepare = (req: Request, res: Response): void | PromiseLike<void> =>
    andThen(authorizeRequest(resolved.authorize, req, resolved.authorizeTimeoutMs), (grant) => {
      const plan = planFor(grant)
      state(res).plan = plan
      return andThen(issuer.prepare(plan, grant, req.method === 'POST' ? req.body : undefined, req), (prepared) => {
        state(res).prepared = prepared
      })
    })
  // The event is built only when there is an onIssue hook to receive it.
  const announce = (event: () => IssueEvent): void => {
    if (resolved.onIssue !== undefined) notify(resolved, () => resolved.onIssue?.(event()))
  }
  const send = (res: Response, { body, cached, event }: Issued): void => {
    state(res).fromCache = cached
    writeJson(res, 200, body)
    announce(event)
  }
  const answer = (res: Response): void | PromiseLike<void> => {
    const prepared = state(res).prepared as PreparedIssue
    const held = issuer.held(prepared)
    return held === undefined ? issuer.issue(prepared).then((issued) => send(res, issued)) : send(res, held)
  }
  // A step's work is synchronous when the app's hooks are and the key is held (the common case): no promise, no tick.
  const step =
    (run: (req: Request, res: Response) => void | PromiseLike<void>): RequestHandler =>
    (req, res, next) => {
      const done = () => {
        if (!res.headersSent) next()
      }
      let running: void | PromiseLike<void>
      try {
        running = run(req, res)
      } catch (error) {
        next(error)
        return
      }
      if (isThenable(running)) running.then(done, next)
      else done()
    }
  // The per-subject layer sits between preparing and answering; without it they are one step (one Express layer less per request).
  const issueSteps =
    perSubject.length > 0
      ? [step(prepare), ...perSubject, step((_req, res) => answer(res))]
      : [step((req, res) => andThen(prepare(req, res), () => answer(res)))]

  const issue = async (grant: Grant, request: IssueOptions = {}): Promise<CredentialsResponse> => {
    try {
      const body: unknown = request
      const prepared = await issuer.prepare(planFor(grant), grant, body, undefined)
      const { body: answer, event } = await issuer.issue(prepared)
      announce(event)
      return answer
    } catch (error) {
      throw toRouteError(error)
    }
  }

  const router = express.Router()
  router
    .route('/')
    .head(methodNotAllowed)
    .get(...perIp, ...issueSteps)
    .post(...perIp, requireJsonBody, readJsonBody, ...issueSteps)
    .all(methodNotAllowed)
  router.use(errorHandler(resolved))
  return Object.assign(router, { invalidate: (subject: string) => cache.invalidate(subject), cacheStats: () => cache.stats(), issue })
}

/** `then(value)` now, or once the promise settles: synchronous work stays synchronous. */
function andThen<T, R>(value: T | PromiseLike<T>, then: (value: T) => R | PromiseLike<R>): R | PromiseLike<R> {
  return isThenable(value) ? Promise.resolve(value).then(then) : then(value)
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
    const hint = stsHint(routeError.stsCode)
    if (hint !== undefined) event.hint = hint
    // A refused grant: the rule, its docs and a reference go to onError/logger; the caller sees only the reference.
    if (routeError instanceof GrantError) Object.assign(event, routeError.details)
    if (routeError.status >= 500) {
      event.cause = routeError.cause
      // The budget refusing calls is the router protecting the account, not a fault: under a flood, one warn per refusal.
      const level = routeError.code === 'StsThrottled' && routeError.stsCode === undefined ? 'warn' : 'error'
      resolved.logger[level](`express-cos-sts: ${routeError.code}: ${routeError.message}${hint === undefined ? '' : ` (${routeError.stsCode}: ${hint})`}`, {
        ...event,
      })
    }
    notify(resolved, () => resolved.onError?.(event))
    sendError(res, routeError instanceof GrantError ? routeError.answer : routeError)
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

/** An observer that throws, or an async one that rejects (a metrics sink that is down), must not turn a served answer into a crash. */
function notify(resolved: ResolvedOptions, call: () => unknown): void {
  const failed = (error: unknown) => {
    resolved.logger.error('express-cos-sts: an onIssue/onError hook failed', { message: messageOf(error) })
  }
  try {
    const returned = call()
    if (isThenable(returned)) returned.then(undefined, failed)
  } catch (error) {
    failed(error)
  }
}
