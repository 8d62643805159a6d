// Remembers the plans of grants already checked, so a user's repeat request skips the least-privilege rules' work.
import { LRUCache } from 'lru-cache'
import { planGrant, type PlanDefaults } from './grant/plan.js'
import type { GrantPlan } from './policy.js'
import type { Grant } from './types.js'

/** Distinct grants remembered; a grant is small, and a miss only costs the checks it would have run anyway. */
export const REMEMBERED_GRANTS = 1000

/**
 * planGrant with a memory: a grant whose JSON text equals one already accepted gets that plan. Only grants
 * that JSON describes exactly (plain objects and arrays, strings, finite numbers, booleans, null) are
 * remembered; anything JSON would blur (undefined, NaN, functions, class instances, toJSON, hidden
 * properties) is checked afresh every time. Refused grants are never remembered.
 */
export function createPlanner(defaults: PlanDefaults): (grant: Grant) => GrantPlan {
  const plans = new LRUCache<string, GrantPlan>({ max: REMEMBERED_GRANTS })
  return (grant) => {
    const text = exactJson(grant)
    const known = text === undefined ? undefined : plans.get(text)
    if (known !== undefined) return known
    const plan = planGrant(grant, defaults)
    if (text !== undefined) plans.set(text, deepFreeze(plan))
    return plan
  }
}

/** The grant as JSON text when that text says everything planGrant reads from it, else undefined. */
export function exactJson(grant: unknown): string | undefined {
  let exact = true
  let text: string | undefined
  try {
    text = JSON.stringify(grant, function (this: Record<string, unknown>, key: string, value: unknown) {
      if (this[key] !== value) exact = false // a toJSON changed what JSON sees
      if (typeof value === 'number') {
        if (!Number.isFinite(value) || Object.is(value, -0)) exact = false
      } else if (typeof value === 'object' && value !== null) {
        const proto: unknown = Object.getPrototypeOf(value)
        if (Array.isArray(value)) {
          if (proto !== Array.prototype) exact = false
        } else if (
          proto !== Object.prototype ||
          Object.getOwnPropertyNames(value).length !== Object.keys(value).length ||
          Object.getOwnPropertySymbols(value).length > 0
        ) {
          exact = false
        }
      } else if (typeof value !== 'string' && typeof value !== 'boolean' && value !== null) {
        exact = false // undefined (also array holes), functions, symbols
      }
      return value
    })
  } catch {
    return undefined // cycles, BigInt
  }
  return exact ? text : undefined
}

/** A remembered plan is shared by many requests: nothing may change it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
