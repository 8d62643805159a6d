// Parameter validation of STS GetFederationToken / AssumeRole (API 2018-08-13) as the real service documents it.
//
// Sources and choices (checked against the public API docs and the codes the official SDKs list):
// - Common codes: MissingParameter, InvalidParameter (format/type), InvalidParameterValue (value),
//   UnknownParameter (an undeclared parameter), InvalidAction, NoSuchVersion.
// - STS codes: InvalidParameter.StrategyFormatError (policy syntax), InvalidParameter.StrategyInvalid
//   (illegal policy: we use it for `principal`, which the docs forbid), InvalidParameter.ResouceError
//   (resource not six-segment; the misspelling is the real code), InvalidParameter.PolicyTooLong,
//   InvalidParameter.OverTimeError (duration above the ceiling).
// - GetFederationToken: Name is documented as "letters"; real callers (Tencent's own cos-sts-sdk sends
//   'cos-sts-nodejs') use more, so we accept [\w+=,.@-]{1,32} (32 is our choice, not documented).
//   DurationSeconds default 1800, root ceiling 7200, sub-account ceiling 129600; no minimum is documented.
// - AssumeRole: RoleSessionName 2..128 of [\w+=,.@-]; DurationSeconds default 7200, up to 43200, and we
//   hold 900 as the minimum; RoleArn in the four documented shapes.
// - Policy length: STS publishes no number; we use 6144 characters of decoded JSON, CAM's documented
//   limit for a custom policy.

export interface StsError {
  code: string
  message: string
}

export interface ParsedParams {
  name?: string
  roleArn?: string
  roleSessionName?: string
  durationSeconds?: number
  policy?: unknown
}

/** Fields that parsed cleanly are kept even when another one fails, so the call log can show them. */
export interface ValidationResult {
  parsed: ParsedParams
  error?: StsError
}

export type AccountType = 'root' | 'sub'

export const POLICY_MAX_CHARS = 6144
const FEDERATION_MAX: Record<AccountType, number> = { root: 7200, sub: 129600 }
const ASSUME_ROLE_MIN = 900
const ASSUME_ROLE_MAX = 43200

const NAME_RE = /^[\w+=,.@-]{1,32}$/
const SESSION_NAME_RE = /^[\w+=,.@-]{2,128}$/
const EXTERNAL_ID_RE = /^[\w+=,.@:/-]{2,128}$/
const ROLE_ARN_RE =
  /^qcs::cam::uin\/\d+:(?:role\/\d+|roleName\/[\w+=,.@-]{1,128}|role\/tencentcloudServiceRole\/\d+|role\/tencentcloudServiceRoleName\/[\w+=,.@-]{1,128})$/

const FEDERATION_PARAMS = new Set(['Name', 'Policy', 'DurationSeconds'])
const ASSUME_ROLE_PARAMS = new Set([
  'RoleArn',
  'RoleSessionName',
  'DurationSeconds',
  'Policy',
  'ExternalId',
  'Tags',
  'SourceIdentity',
  'SerialNumber',
  'TokenCode',
])

const fail = (code: string, message: string): StsError => ({ code, message })
const missing = (name: string): StsError => fail('MissingParameter', `The request is missing a required parameter \`${name}\`.`)

function unknownParam(params: Record<string, unknown>, known: Set<string>): StsError | undefined {
  const extra = Object.keys(params).find((k) => !known.has(k))
  return extra === undefined ? undefined : fail('UnknownParameter', `The parameter \`${extra}\` is not recognized.`)
}

/** A string parameter: absent -> MissingParameter, wrong type -> InvalidParameter, bad shape -> InvalidParameterValue. */
function stringParam(params: Record<string, unknown>, key: string, re: RegExp, rule: string): string | StsError {
  const v = params[key]
  if (v === undefined || v === '') return missing(key)
  if (typeof v !== 'string') return fail('InvalidParameter', `The parameter \`${key}\` must be a string.`)
  if (!re.test(v)) return fail('InvalidParameterValue', `The value of \`${key}\` is invalid: ${rule}.`)
  return v
}

function durationParam(v: unknown, fallback: number, min: number, max: number, maxWhy: string): number | StsError {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    return fail('InvalidParameter', 'The parameter `DurationSeconds` must be an integer.')
  }
  if (v < min) return fail('InvalidParameterValue', `\`DurationSeconds\` must be at least ${min}.`)
  if (v > max) return fail('InvalidParameter.OverTimeError', `\`DurationSeconds\` exceeds ${max} (${maxWhy}).`)
  return v
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function hasPrincipal(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasPrincipal)
  if (!isRecord(v)) return false
  return Object.entries(v).some(([k, child]) => k.toLowerCase() === 'principal' || hasPrincipal(child))
}

const stringOrList = (v: unknown): string[] | undefined => {
  const list = typeof v === 'string' ? [v] : v
  return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && s !== '') ? (list as string[]) : undefined
}

// qcs:project:service:region:account:resource (the last part may hold more colons), or '*'.
const isSixSegment = (r: string): boolean => r === '*' || (r.startsWith('qcs:') && r.split(':').length >= 6)

/** Decodes a URL-encoded CAM policy and checks the parts STS documents. */
export function decodePolicy(raw: unknown): { policy: unknown } | { error: StsError } {
  const syntax = (why: string) => ({ error: fail('InvalidParameter.StrategyFormatError', `Policy syntax error: ${why}.`) })
  if (typeof raw !== 'string') return { error: fail('InvalidParameter', 'The parameter `Policy` must be a string.') }
  let text: string
  try {
    text = decodeURIComponent(raw)
  } catch {
    return syntax('it is not valid URL encoding')
  }
  if (text.length > POLICY_MAX_CHARS) {
    return { error: fail('InvalidParameter.PolicyTooLong', `Policy is longer than ${POLICY_MAX_CHARS} characters.`) }
  }
  let policy: unknown
  try {
    policy = JSON.parse(text)
  } catch {
    return syntax('it is not JSON after URL decoding')
  }
  if (!isRecord(policy)) return syntax('it must be a JSON object')
  if (policy['version'] !== '2.0') return syntax('`version` must be "2.0"')
  const statements = policy['statement']
  if (!Array.isArray(statements) || statements.length === 0) return syntax('`statement` must be a non-empty array')
  if (hasPrincipal(policy)) {
    return { error: fail('InvalidParameter.StrategyInvalid', 'The policy must not contain a `principal` element.') }
  }
  for (const [i, st] of statements.entries()) {
    if (!isRecord(st)) return syntax(`statement[${i}] must be an object`)
    if (st['effect'] !== 'allow' && st['effect'] !== 'deny') return syntax(`statement[${i}].effect must be allow or deny`)
    if (!stringOrList(st['action'])) return syntax(`statement[${i}].action must be a string or a non-empty string array`)
    const resources = stringOrList(st['resource'])
    if (!resources) return syntax(`statement[${i}].resource must be a string or a non-empty string array`)
    const bad = resources.find((r) => !isSixSegment(r))
    if (bad !== undefined) {
      return { error: fail('InvalidParameter.ResouceError', `statement[${i}] resource \`${bad}\` is not a six-segment qcs resource.`) }
    }
    if (st['condition'] !== undefined && !isRecord(st['condition'])) return syntax(`statement[${i}].condition must be an object`)
  }
  return { policy }
}

export function validateGetFederationToken(params: Record<string, unknown>, accountType: AccountType): ValidationResult {
  const parsed: ParsedParams = {}
  const errors: StsError[] = []
  const unknown = unknownParam(params, FEDERATION_PARAMS)
  if (unknown) errors.push(unknown)

  const name = stringParam(params, 'Name', NAME_RE, 'use 1 to 32 of letters, digits and +=,.@_-')
  if (typeof name === 'string') parsed.name = name
  else errors.push(name)

  if (params['Policy'] === undefined || params['Policy'] === '') errors.push(missing('Policy'))
  else {
    const decoded = decodePolicy(params['Policy'])
    if ('error' in decoded) errors.push(decoded.error)
    else parsed.policy = decoded.policy
  }

  const max = FEDERATION_MAX[accountType]
  const duration = durationParam(params['DurationSeconds'], 1800, 1, max, `${accountType} account ceiling`)
  if (typeof duration === 'number') parsed.durationSeconds = duration
  else errors.push(duration)

  return errors[0] ? { parsed, error: errors[0] } : { parsed }
}

function optionalAssumeRoleExtras(params: Record<string, unknown>): StsError | undefined {
  const ext = params['ExternalId']
  if (ext !== undefined && (typeof ext !== 'string' || !EXTERNAL_ID_RE.test(ext))) {
    return fail('InvalidParameterValue', 'The value of `ExternalId` is invalid: use 2 to 128 of [\\w+=,.@:/-].')
  }
  const tags = params['Tags']
  if (tags === undefined) return undefined
  const tagOk = (t: unknown) =>
    isRecord(t) && typeof t['Key'] === 'string' && t['Key'].length <= 128 && typeof t['Value'] === 'string' && t['Value'].length <= 256
  if (!Array.isArray(tags) || tags.length > 50 || !tags.every(tagOk)) {
    return fail('InvalidParameter', '`Tags` must be at most 50 {Key (<=128), Value (<=256)} pairs.')
  }
  const keys = tags.map((t: Record<string, unknown>) => t['Key'])
  if (new Set(keys).size !== keys.length) return fail('InvalidParameter', '`Tags` must not repeat a key.')
  return undefined
}

export function validateAssumeRole(params: Record<string, unknown>): ValidationResult {
  const parsed: ParsedParams = {}
  const errors: StsError[] = []
  const unknown = unknownParam(params, ASSUME_ROLE_PARAMS)
  if (unknown) errors.push(unknown)

  const arn = stringParam(params, 'RoleArn', ROLE_ARN_RE, 'expected qcs::cam::uin/<uin>:roleName/<name> or :role/<id>')
  if (typeof arn === 'string') parsed.roleArn = arn
  else errors.push(arn)

  const session = stringParam(params, 'RoleSessionName', SESSION_NAME_RE, 'use 2 to 128 of [\\w+=,.@-]')
  if (typeof session === 'string') parsed.roleSessionName = session
  else errors.push(session)

  const duration = durationParam(params['DurationSeconds'], 7200, ASSUME_ROLE_MIN, ASSUME_ROLE_MAX, 'AssumeRole ceiling')
  if (typeof duration === 'number') parsed.durationSeconds = duration
  else errors.push(duration)

  if (params['Policy'] !== undefined) {
    const decoded = decodePolicy(params['Policy'])
    if ('error' in decoded) errors.push(decoded.error)
    else parsed.policy = decoded.policy
  }

  const extra = optionalAssumeRoleExtras(params)
  if (extra) errors.push(extra)
  return errors[0] ? { parsed, error: errors[0] } : { parsed }
}
