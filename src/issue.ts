// One key request without HTTP: the body's scope or upload → the plan to issue → cache or STS → the 200 body; shared by the route and router.issue().
import type { Request } from 'express'
import type { KeyCache, ScopeRequest } from './cache.js'
import { RouteError } from './errors.js'
import { deepFreeze } from './grant-memo.js'
import { isRecord } from './grant/describe.js'
import type { ResolvedOptions } from './options.js'
import { buildPolicy, type GrantPlan } from './policy.js'
import { credentialsBody, issueEvent } from './response.js'
import { narrowPlan, parseRequestedScope } from './scope.js'
import type { IssuedKey, StsCaller } from './sts.js'
import type { CredentialsResponse, Grant, IssueEvent } from './types.js'
import { chooseUpload } from './upload/key.js'
import { parseDeclaredFile } from './upload/request.js'

/** What one request will be issued: the plan, the cache's scope for it, and a server-chosen object key. */
export interface PreparedIssue {
  plan: GrantPlan
  scope: ScopeRequest
  objectKey: string | undefined
}

/** The 200 body, whether its key cost no STS call, and onIssue's event, built only when there is a hook. */
export interface Issued {
  body: CredentialsResponse
  cached: boolean
  event: () => IssueEvent
}

export interface Issuer {
  /**
   * Reads `{ scope }`, `{ upload }` or nothing (the whole grant) against the granted plan; throws the contract's
   * 4xx/500 before STS. Synchronous except for `{ upload }`, whose uploadKey hook may be asynchronous.
   */
  prepare(granted: GrantPlan, grant: Grant, body: unknown, req: Request | undefined): PreparedIssue | Promise<PreparedIssue>
  /** The answer from a key this process holds, synchronously (counted as a hit), or undefined: then `issue`. */
  held(prepared: PreparedIssue): Issued | undefined
  /** The key from the cache or STS, as the 200 body. */
  issue(prepared: PreparedIssue): Promise<Issued>
}

export function createIssuer(
  resolved: Pick<ResolvedOptions, 'uploadKey' | 'uploadLimits'>,
  cache: KeyCache,
  callSts: StsCaller,
  now: () => number = Date.now,
): Issuer {
  // A remembered grant's plan is frozen and shared by all its requests (grant-memo.ts): its scope is built once, and
  // frozen too, so the cache may remember the scope's id. Narrowed and upload plans are new objects each request.
  const scopes = new WeakMap<GrantPlan, ScopeRequest>()
  const scopeOf = (plan: GrantPlan): ScopeRequest => {
    const known = scopes.get(plan)
    if (known !== undefined) return known
    const scope = { subject: plan.subject, bucket: plan.bucket, region: plan.region, policy: buildPolicy(plan), durationSeconds: plan.durationSeconds }
    if (Object.isFrozen(plan)) scopes.set(plan, deepFreeze(scope))
    return scope
  }
  const prepared = (plan: GrantPlan, objectKey: string | undefined): PreparedIssue => ({ plan, scope: scopeOf(plan), objectKey })

  const answer = (key: IssuedKey, cached: boolean, { plan, objectKey }: PreparedIssue): Issued => ({
    body: credentialsBody(key, plan, now(), objectKey),
    cached,
    event: () => issueEvent(key, plan, cached),
  })

  return {
    prepare(granted, grant, body, req) {
      if (isRecord(body) && body['upload'] !== undefined) {
        if (body['scope'] !== undefined) {
          throw new RouteError('InvalidRequest', 'Send either scope (the steps the SDK asks for) or upload (a file for the server to name), not both.')
        }
        const file = parseDeclaredFile(body['upload'])
        return chooseUpload({ plan: granted, grant, file, req, uploadKey: resolved.uploadKey, limits: resolved.uploadLimits }).then((chosen) =>
          prepared(chosen.plan, chosen.key),
        )
      }
      const requested = parseRequestedScope(body)
      return prepared(requested === undefined ? granted : narrowPlan(granted, requested), undefined)
    },

    held(preparedIssue) {
      const key = cache.held(preparedIssue.scope)
      return key === undefined ? undefined : answer(key, true, preparedIssue)
    },

    async issue(preparedIssue) {
      const { plan, scope } = preparedIssue
      const { key, cached } = await cache.issue(scope, () => callSts({ subject: plan.subject, policy: scope.policy, durationSeconds: plan.durationSeconds }))
      return answer(key, cached, preparedIssue)
    },
  }
}
