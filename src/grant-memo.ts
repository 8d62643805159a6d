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

/** Deeper than any grant: a cycle, or a structure not worth remembering. */
const MAX_DEPTH = 16

/**
 * The grant as JSON text when that text says everything planGrant reads from it, else undefined. Written by hand
 * rather than with a JSON.stringify replacer, which costs a call into JS per value: this runs on every request.
 * Each value is read once, so the text is what was read (a toJSON never enters it), and it is valid JSON.
 */
export function exactJson(value: unknown, depth = 0): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? String(value) : undefined
    case 'object':
      if (value === null) return 'null'
      if (depth === MAX_DEPTH) return undefined
      return Array.isArray(value) ? arrayJson(value, depth + 1) : objectJson(value, depth + 1)
    default:
      return undefined // undefined (also array holes), functions, symbols, BigInt
  }
}

function arrayJson(array: unknown[], depth: number): string | undefined {
  if (Object.getPrototypeOf(array) !== Array.prototype) return undefined
  let text = '['
  for (let i = 0; i < array.length; i++) {
    const item = exactJson(array[i], depth)
    if (item === undefined) return undefined
    text += i === 0 ? item : `,${item}`
  }
  return `${text}]`
}

function objectJson(object: object, depth: number): string | undefined {
  // Only plain objects whose every property JSON would see: planGrant may read a hidden one.
  if (Object.getPrototypeOf(object) !== Object.prototype) return undefined
  const names = Object.keys(object)
  if (Object.getOwnPropertyNames(object).length !== names.length || Object.getOwnPropertySymbols(object).length > 0) return undefined
  let text = '{'
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    const item = exactJson((object as Record<string, unknown>)[name], depth)
    if (item === undefined) return undefined
    text += `${i === 0 ? '' : ','}${JSON.stringify(name)}:${item}`
  }
  return `${text}}`
}

/** A remembered plan is shared by many requests: nothing may change it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
