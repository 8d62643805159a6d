// Limits on a server-chosen upload's declared file (options and the grant's conditions): refuse with 400 UploadNotAllowed before STS, and bound the key's upload requests by size.
import { allConditions, maxBytes, parseNumber, parseOperator } from '../conditions.js'
import { RouteError } from '../errors.js'
import type { GrantPlan, PlannedStatement } from '../policy.js'
import type { CamCondition, DeclaredFile, UploadLimits } from '../types.js'
import { extensionOf } from './request.js'
import { BODY_UPLOAD_ACTIONS } from './file-scope.js'

/** The limits that apply to one object: the options' and those the grant's conditions put on its byte-carrying requests. */
export interface FileLimits {
  maxBytes: number | undefined
  /** Each list must be matched (one from the options, one per grant condition); `like` lists take `*`/`?` wildcards. */
  contentTypes: Array<{ values: string[]; like: boolean }>
  extensions: string[] | undefined
}

/**
 * The options' limits plus, given the object's plan, the grant's: the smallest `cos:content-length` bound and every
 * `cos:content-type` list on the object's PutObject/UploadPart statements.
 */
export function limitsFor(options: UploadLimits | undefined, objectPlan?: GrantPlan): FileLimits {
  const bounds: number[] = options?.maxBytes === undefined ? [] : [options.maxBytes]
  const contentTypes: FileLimits['contentTypes'] = options?.contentTypes === undefined ? [] : [{ values: options.contentTypes, like: true }]
  for (const statement of objectPlan?.statements ?? []) {
    if (!statement.actions.some((action) => BODY_UPLOAD_ACTIONS.includes(action))) continue
    for (const [operator, keys] of Object.entries(statement.condition ?? {})) {
      const spec = parseOperator(operator)
      if (spec === undefined || spec.negated) continue
      const values = ([] as unknown[]).concat(keys['cos:content-length'] ?? [])
      const numbers = values.map(parseNumber).filter((n): n is number => n !== undefined)
      if (spec.kind === 'numeric' && numbers.length > 0 && (spec.test === 'le' || spec.test === 'lt')) {
        bounds.push(Math.max(...numbers) - (spec.test === 'lt' ? 1 : 0))
      }
      const types = ([] as unknown[]).concat(keys['cos:content-type'] ?? []).filter((t): t is string => typeof t === 'string')
      if (spec.kind === 'string' && types.length > 0 && (spec.test === 'eq' || spec.test === 'like')) {
        contentTypes.push({ values: types, like: spec.test === 'like' })
      }
    }
  }
  return {
    maxBytes: bounds.length === 0 ? undefined : Math.min(...bounds),
    contentTypes,
    extensions: options?.extensions?.map((extension) => extension.toLowerCase()),
  }
}

/** Throws 400 UploadNotAllowed naming the broken limit. */
export function checkDeclaredFile(file: DeclaredFile, limits: FileLimits): void {
  if (limits.maxBytes !== undefined) {
    if (file.size === undefined) throw notAllowed(`Declare the file's size: files may be at most ${limits.maxBytes} bytes.`)
    if (file.size > limits.maxBytes) throw notAllowed(`The file is ${file.size} bytes; at most ${limits.maxBytes} are allowed.`)
  }
  for (const { values, like } of limits.contentTypes) {
    if (file.contentType === undefined) throw notAllowed(`Declare the file's contentType: allowed are ${values.join(', ')}.`)
    const contentType = file.contentType
    if (!values.some((value) => (like ? likeMatches(value, contentType) : value === contentType))) {
      throw notAllowed(`Files of type ${contentType} are not allowed; allowed are ${values.join(', ')}.`)
    }
  }
  if (limits.extensions !== undefined) {
    const extension = extensionOf(file.name)
    if (extension === undefined || !limits.extensions.includes(extension)) {
      throw notAllowed(
        `${extension === undefined ? 'A name without an extension is' : `The extension .${extension} is`} not allowed; allowed are ${limits.extensions.map((e) => `.${e}`).join(', ')}.`,
      )
    }
  }
}

/**
 * The object's plan with every byte-carrying request bounded to `bytes` (`cos:content-length`, checked by COS
 * per request: each part of a multipart upload, not the whole file). PostObject is left out: a form's length
 * is not the file's, so COS could not bound the file by it.
 */
export function boundSize(objectPlan: GrantPlan, bytes: number): GrantPlan {
  const statements: PlannedStatement[] = []
  for (const statement of objectPlan.statements) {
    const bounded = statement.actions.filter((action) => action === 'name/cos:PutObject' || action === 'name/cos:UploadPart')
    const others = statement.actions.filter((action) => !BODY_UPLOAD_ACTIONS.includes(action))
    if (bounded.length > 0) statements.push({ ...statement, actions: bounded, condition: withMaxBytes(statement.condition, bytes) })
    if (others.length > 0) statements.push({ ...statement, actions: others })
  }
  return { ...objectPlan, statements }
}

function withMaxBytes(condition: CamCondition | undefined, bytes: number): CamCondition {
  return condition === undefined ? maxBytes(bytes) : allConditions(condition, maxBytes(bytes))
}

/** CAM's string_like: `*` any run, `?` one character. */
function likeMatches(pattern: string, text: string): boolean {
  const source = Array.from(pattern, (c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')
  return new RegExp(`^${source}$`, 'su').test(text)
}

function notAllowed(message: string): RouteError {
  return new RouteError('UploadNotAllowed', message)
}
