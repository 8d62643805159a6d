// Requested scope (POST body): parse the cos-js-sdk-v5 Scope items and narrow the plan to exactly them, or refuse.
import { RouteError } from './errors.js'
import { normalizeAction } from './cos/actions.js'
import { buildPolicy, type GrantPlan, type PlannedStatement } from './policy.js'
import { prefixProblem } from './grant/statement.js'
import { findCoveringStatement } from './simulator.js'
import { encodedPolicyLength, GRANT_LIMITS } from './grant/limits.js'
import type { ScopeItem } from './types.js'
import { objectUploadPlan, singleUploadKey, type CheckedItem } from './upload/file-scope.js'

/** More items than any real upload asks for at once; bounds the work one request can cause. */
export const MAX_SCOPE_ITEMS = 50

/** Reads `body.scope`; undefined when the caller asked for its whole grant. Throws 400 on a malformed body. */
export function parseRequestedScope(body: unknown): Array<Partial<ScopeItem> & Pick<ScopeItem, 'action' | 'prefix'>> | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('The body must be a JSON object such as { "scope": [...] }.')
  const scope = (body as { scope?: unknown }).scope
  if (scope === undefined) return undefined
  if (!Array.isArray(scope) || scope.length === 0 || scope.length > MAX_SCOPE_ITEMS) {
    throw badRequest(`scope must be an array of 1 to ${MAX_SCOPE_ITEMS} items { action, prefix, bucket?, region? }.`)
  }
  return scope.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw badRequest(`scope[${i}] must be an object { action, prefix, bucket?, region? }.`)
    const { action, prefix, bucket, region } = item as Record<string, unknown>
    if (typeof action !== 'string') throw badRequest(`scope[${i}].action must be a COS action name such as 'name/cos:PutObject'.`)
    const problem = prefixProblem(prefix)
    if (problem) throw badRequest(`scope[${i}].prefix ${problem}.`)
    if (bucket !== undefined && typeof bucket !== 'string') throw badRequest(`scope[${i}].bucket must be a string.`)
    if (region !== undefined && typeof region !== 'string') throw badRequest(`scope[${i}].region must be a string.`)
    return { action, prefix: prefix as string, ...(bucket === undefined ? {} : { bucket }), ...(region === undefined ? {} : { region }) }
  })
}

/**
 * Narrows the plan to the requested items. Each item must lie inside one grant statement (same bucket and
 * region, action in that statement, key or prefix inside one of its prefixes); the new statement keeps that
 * statement's condition. Prefixes are merged into one statement only when they came from the same grant
 * statement with the same actions, so every action × prefix pair of the key was checked on its own.
 * Items that are all upload steps of one object key get the key for that whole upload (upload/file-scope.ts):
 * cos-js-sdk-v5 asks once per step, and every step then names the same scope, so one STS call per file.
 */
export function narrowPlan(plan: GrantPlan, items: NonNullable<ReturnType<typeof parseRequestedScope>>): GrantPlan {
  const policy = buildPolicy(plan)
  const actionsByPrefix = new Map<string, { covering: number; prefix: string; actions: string[] }>()
  const checked: CheckedItem[] = []
  items.forEach((item, i) => {
    const action = normalizeAction(item.action)
    if (action === undefined) throw badRequest(`scope[${i}].action ${JSON.stringify(item.action)} is not a COS action name.`)
    const bucket = item.bucket ?? plan.bucket
    const region = item.region ?? plan.region
    const covering = bucket === plan.bucket && region === plan.region ? findCoveringStatement(policy, { action, bucket, region, prefix: item.prefix }) : -1
    if (covering < 0) {
      throw new RouteError('ScopeNotAllowed', `scope[${i}] (${action} on ${bucket}/${item.prefix} in ${region}) is outside what you may do.`)
    }
    checked.push({ action, bucket, region, prefix: item.prefix })
    const key = `${covering}\u0000${item.prefix}`
    const entry = actionsByPrefix.get(key) ?? { covering, prefix: item.prefix, actions: [] }
    if (!entry.actions.includes(action)) entry.actions.push(action)
    actionsByPrefix.set(key, entry)
  })
  const uploadKey = singleUploadKey(plan, checked)
  const wholeUpload = uploadKey === undefined ? undefined : objectUploadPlan(plan, uploadKey)
  if (wholeUpload !== undefined) return wholeUpload

  const statements = new Map<string, PlannedStatement>()
  for (const { covering, prefix, actions } of actionsByPrefix.values()) {
    const key = `${covering}\u0000${actions.join(',')}`
    const grantStatement = plan.statements[covering] as PlannedStatement
    const statement = statements.get(key)
    if (statement === undefined) statements.set(key, { actions, prefixes: [prefix], condition: grantStatement.condition, shared: grantStatement.shared })
    else statement.prefixes.push(prefix)
  }
  const narrowed = { ...plan, statements: [...statements.values()] }
  if (encodedPolicyLength(buildPolicy(narrowed)) > GRANT_LIMITS.policyEncodedChars) {
    throw badRequest('The requested scope makes a policy too long for STS; ask for fewer items or a common prefix.')
  }
  return narrowed
}

function badRequest(message: string): RouteError {
  return new RouteError('InvalidRequest', message)
}
