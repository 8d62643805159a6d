// Validates and normalises createStsRouter's options once, at start-up, with errors that name the option and the fix.
import { BUCKET_PATTERN, REGION_PATTERN } from './cos/names.js'
import type { AuthorizeHook, CacheOptions, CacheStore, Logger, RateLimitLayerOptions, StsClientLike, StsOptions, StsRouterOptions } from './types.js'
import { resolveUploadOptions, type ResolvedUploadOptions } from './upload/options.js'
import { editDistance } from './edit-distance.js'
import { isPrivateEndpoint } from './sts-endpoint.js'

/** A configuration mistake, thrown by createStsRouter. `code` is stable: `ERR_COS_STS_<OPTION>`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code: string
  constructor(option: string, problem: string, fix: string) {
    super(`express-cos-sts: option \`${option}\` ${problem}. Fix: ${fix}`)
    this.code = `ERR_COS_STS_${option
      .replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/([a-z])([A-Z])/g, '$1_$2')
      .toUpperCase()}`
  }
}

/** STS duration bounds. GetFederationToken allows 7200 s for a root account and 129600 s for a sub-account; AssumeRole 900..43200. */
export const DURATION_LIMITS = {
  min: 900,
  federationMax: 129_600,
  assumeRoleMax: 43_200,
  defaultSeconds: 1800,
} as const

export interface ResolvedStsOptions {
  endpoint: string
  protocol: 'https:' | 'http:'
  region: string
  timeoutMs: number
  roleArn: string | undefined
  client: StsClientLike | undefined
  maxCallsPerSecond: number
  maxConcurrency: number
  maxQueue: number
  maxRetries: number
}

/** Each rate-limit layer: off, or the express-rate-limit options given (defaults are filled in by rate-limit.ts). */
export interface ResolvedRateLimit {
  perIp: false | RateLimitLayerOptions
  perSubject: false | RateLimitLayerOptions
}

/** The key cache's settings with defaults filled in (see CacheOptions for why these defaults). */
export interface ResolvedCacheOptions {
  max: number
  minRemainingSeconds: number
  store: CacheStore | undefined
  firstLevelTtlMs: number
}

export interface ResolvedOptions {
  secretId: string
  secretKey: string
  bucket: string
  region: string
  durationSeconds: number
  authorize: AuthorizeHook
  cache: false | ResolvedCacheOptions
  rateLimit: false | ResolvedRateLimit
  sts: ResolvedStsOptions
  authorizeTimeoutMs: number
  requireSubjectTemplates: boolean
  onIssue: StsRouterOptions['onIssue']
  onError: StsRouterOptions['onError']
  logger: Logger
  /** Server-chosen uploads (upload/options.ts). */
  uploadKey: ResolvedUploadOptions['uploadKey']
  uploadLimits: ResolvedUploadOptions['uploadLimits']
}

/**
 * Option names, typed from the option interfaces: `satisfies Record<keyof …, true>` makes the compiler refuse a
 * list that misses or invents a name, so "did you mean" can never drift from the types.
 */
const KNOWN_OPTIONS = Object.keys({
  secretId: true,
  secretKey: true,
  bucket: true,
  region: true,
  durationSeconds: true,
  authorize: true,
  cache: true,
  rateLimit: true,
  sts: true,
  authorizeTimeoutMs: true,
  requireSubjectTemplates: true,
  onIssue: true,
  onError: true,
  logger: true,
  uploadKey: true,
  uploadLimits: true,
} satisfies Record<keyof StsRouterOptions, true>)
const KNOWN_STS_OPTIONS = Object.keys({
  endpoint: true,
  protocol: true,
  region: true,
  timeoutMs: true,
  roleArn: true,
  client: true,
  maxCallsPerSecond: true,
  maxConcurrency: true,
  maxQueue: true,
  maxRetries: true,
  allowInsecureHttp: true,
} satisfies Record<keyof StsOptions, true>)
/** express-rate-limit's own option names, from its Options type (so an upgrade that adds one is known at once). */
const KNOWN_RATE_LIMIT_OPTIONS = Object.keys({
  windowMs: true,
  limit: true,
  max: true,
  message: true,
  statusCode: true,
  legacyHeaders: true,
  standardHeaders: true,
  identifier: true,
  retryAfter: true,
  requestPropertyName: true,
  skipFailedRequests: true,
  skipSuccessfulRequests: true,
  keyGenerator: true,
  ipv6Subnet: true,
  handler: true,
  skip: true,
  requestWasSuccessful: true,
  store: true,
  validate: true,
  headers: true,
  passOnStoreError: true,
  logger: true,
} satisfies Record<keyof RateLimitLayerOptions, true>)
/** STS documents 600 calls per second for GetFederationToken and for AssumeRole, per account. */
export const STS_RATE_LIMIT = 600

/** `qcs::cam::uin/<uin>:roleName/<name>` or `qcs::cam::uin/<uin>:role/<roleId>`. */
const ROLE_ARN_PATTERN = /^qcs::cam::uin\/\d+:(?:roleName\/[\w+=,.@-]{1,128}|role\/\d+)$/
/** Host with optional port, no scheme or path. */
const ENDPOINT_PATTERN = /^[A-Za-z0-9.-]+(?::\d{1,5})?$/

export function resolveOptions(options: StsRouterOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', 'must be an object', 'call createStsRouter({ bucket, region, authorize, ... })')
  }
  rejectUnknown('', options, KNOWN_OPTIONS)
  const { secretId, secretKey } = resolvePermanentKey(options, env)
  const { bucket, region } = resolveBucket(options)
  if (typeof options.authorize !== 'function') {
    throw new ConfigError('authorize', 'must be a function (req) => grant | null | false', 'pass the hook that tells who is asking and what they may do')
  }
  const sts = resolveSts(options.sts, region)
  const durationSeconds = options.durationSeconds ?? DURATION_LIMITS.defaultSeconds
  const durationProblem = checkDuration(durationSeconds, sts.roleArn !== undefined)
  if (durationProblem) throw new ConfigError('durationSeconds', durationProblem.problem, durationProblem.fix)
  const logger = resolveObservers(options)
  const authorizeTimeoutMs = wholeNumber(
    'authorizeTimeoutMs',
    options.authorizeTimeoutMs,
    10_000,
    100,
    120_000,
    'use a few seconds more than your session store or database lookup can take, e.g. 10000',
  )
  const requireSubjectTemplates = options.requireSubjectTemplates ?? false
  if (typeof requireSubjectTemplates !== 'boolean') {
    throw new ConfigError(
      'requireSubjectTemplates',
      `must be true or false (got ${describe(requireSubjectTemplates)})`,
      "pass true to refuse write prefixes without a '{subject}' template, or leave it out",
    )
  }
  const cache = resolveCache(options.cache, durationSeconds)
  const rateLimit = resolveRateLimit(options.rateLimit)
  const uploads = resolveUploadOptions(options)
  if ('problem' in uploads) throw new ConfigError(uploads.option, uploads.problem, uploads.fix)

  return {
    secretId,
    secretKey,
    bucket,
    region,
    durationSeconds,
    authorize: options.authorize,
    authorizeTimeoutMs,
    requireSubjectTemplates,
    cache,
    rateLimit,
    sts,
    onIssue: options.onIssue,
    onError: options.onError,
    logger,
    uploadKey: uploads.uploadKey,
    uploadLimits: uploads.uploadLimits,
  }
}

/** The permanent key, from the options or the two environment variables; never echoed in an error. */
function resolvePermanentKey(options: StsRouterOptions, env: NodeJS.ProcessEnv): { secretId: string; secretKey: string } {
  const secretId = options.secretId ?? env['TENCENTCLOUD_SECRET_ID']
  const secretKey = options.secretKey ?? env['TENCENTCLOUD_SECRET_KEY']
  if (!isCleanString(secretId)) {
    throw new ConfigError(
      'secretId',
      'is missing or not a plain string',
      'pass secretId or set TENCENTCLOUD_SECRET_ID to the SecretId of a CAM sub-account key',
    )
  }
  if (!isCleanString(secretKey)) {
    // Never echo the value: it may be the real key with a stray character.
    throw new ConfigError(
      'secretKey',
      'is missing or not a plain string',
      'pass secretKey or set TENCENTCLOUD_SECRET_KEY to the SecretKey of the same key pair',
    )
  }
  return { secretId, secretKey }
}

/** The default bucket and region of every grant. */
function resolveBucket(options: StsRouterOptions): { bucket: string; region: string } {
  const bucket = options.bucket
  if (typeof bucket !== 'string' || !BUCKET_PATTERN.test(bucket) || bucket.length > 50) {
    throw new ConfigError(
      'bucket',
      `must be \`BucketName-APPID\` (got ${describe(bucket)})`,
      "use the full bucket name shown in the COS console, e.g. 'examplebucket-1250000000'",
    )
  }
  const region = options.region
  if (typeof region !== 'string' || !REGION_PATTERN.test(region)) {
    throw new ConfigError('region', `must be a COS region such as 'ap-guangzhou' (got ${describe(region)})`, "pass the bucket's region from the COS console")
  }
  return { bucket, region }
}

/** The hooks must be functions when given; the logger (default console) needs warn() and error(). */
function resolveObservers(options: StsRouterOptions): Logger {
  for (const hook of ['onIssue', 'onError'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new ConfigError(hook, 'must be a function', `pass a function or leave ${hook} out`)
    }
  }
  const logger = options.logger ?? console
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function' || typeof logger.error !== 'function') {
    throw new ConfigError('logger', 'must have warn() and error() methods', 'pass console, a pino/winston logger, or leave logger out')
  }
  return logger
}

/** Checks a duration against what the STS action allows; returns what is wrong and the fix, or undefined. */
export function checkDuration(seconds: unknown, assumeRole: boolean): { problem: string; fix: string } | undefined {
  const max = assumeRole ? DURATION_LIMITS.assumeRoleMax : DURATION_LIMITS.federationMax
  if (typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= DURATION_LIMITS.min && seconds <= max) return undefined
  return {
    problem: `must be a whole number of seconds from ${DURATION_LIMITS.min} to ${max} for ${assumeRole ? 'AssumeRole' : 'GetFederationToken'} (got ${describe(seconds)})`,
    fix: assumeRole
      ? 'AssumeRole keys live at most 43200 s (12 h); 1800 is a good default'
      : 'GetFederationToken allows up to 7200 s with a root-account key and 129600 s with a sub-account key; 1800 is a good default',
  }
}

function resolveSts(sts: StsRouterOptions['sts'], region: string): ResolvedStsOptions {
  if (sts === undefined) sts = {}
  if (typeof sts !== 'object' || sts === null) {
    throw new ConfigError('sts', 'must be an object { endpoint, protocol, region, timeoutMs, roleArn, client }', 'leave sts out for the public STS endpoint')
  }
  rejectUnknown('sts.', sts, KNOWN_STS_OPTIONS)
  const { endpoint, protocol } = resolveStsTarget(sts)
  const stsRegion = sts.region ?? region
  if (typeof stsRegion !== 'string' || !REGION_PATTERN.test(stsRegion)) {
    throw new ConfigError('sts.region', `must be a region such as 'ap-guangzhou' (got ${describe(stsRegion)})`, 'leave it out to use the region option')
  }
  const timeoutMs = sts.timeoutMs ?? 5000
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000) {
    throw new ConfigError(
      'sts.timeoutMs',
      `must be a whole number of milliseconds from 100 to 60000 (got ${describe(timeoutMs)})`,
      'use a few seconds, e.g. 5000',
    )
  }
  const roleArn = sts.roleArn
  if (roleArn !== undefined && (typeof roleArn !== 'string' || !ROLE_ARN_PATTERN.test(roleArn))) {
    throw new ConfigError(
      'sts.roleArn',
      `must look like 'qcs::cam::uin/100000000001:roleName/cos-uploader' (got ${describe(roleArn)})`,
      'copy the role ARN from the CAM console, or leave it out to use GetFederationToken',
    )
  }
  const client = sts.client
  if (
    client !== undefined &&
    (typeof client !== 'object' || client === null || typeof client.GetFederationToken !== 'function' || typeof client.AssumeRole !== 'function')
  ) {
    throw new ConfigError('sts.client', 'must have GetFederationToken and AssumeRole methods', 'pass an instance of the SDK client, or leave it out')
  }
  const maxCallsPerSecond = wholeNumber(
    'sts.maxCallsPerSecond',
    sts.maxCallsPerSecond,
    500,
    1,
    STS_RATE_LIMIT,
    `STS allows ${STS_RATE_LIMIT} calls/s per account, shared by every instance: give each of N instances about 500 / N`,
  )
  const maxConcurrency = wholeNumber('sts.maxConcurrency', sts.maxConcurrency, 50, 1, 1000, 'use a few dozen, e.g. 50')
  const maxQueue = wholeNumber('sts.maxQueue', sts.maxQueue, 1000, 0, 100_000, 'use 0 to refuse at once when the budget is spent, or e.g. 1000')
  const maxRetries = wholeNumber('sts.maxRetries', sts.maxRetries, 2, 0, 5, 'use 0 to never retry, or e.g. 2')
  return { endpoint, protocol, region: stsRegion, timeoutMs, roleArn, client, maxCallsPerSecond, maxConcurrency, maxQueue, maxRetries }
}

/** Where the STS calls go: a host with an optional port, and a protocol that never sends keys in clear across a network. */
function resolveStsTarget(sts: StsOptions): { endpoint: string; protocol: 'https:' | 'http:' } {
  const endpoint = sts.endpoint ?? 'sts.tencentcloudapi.com'
  if (typeof endpoint !== 'string' || !ENDPOINT_PATTERN.test(endpoint)) {
    throw new ConfigError(
      'sts.endpoint',
      `must be a host with an optional port and no scheme (got ${describe(endpoint)})`,
      "use e.g. 'sts.internal.tencentcloudapi.com' or '127.0.0.1:9000' and put the scheme in sts.protocol",
    )
  }
  const protocol = sts.protocol === undefined ? 'https:' : String(sts.protocol).replace(/\/\/$/, '')
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw new ConfigError(
      'sts.protocol',
      `must be 'https:' or 'http:' (got ${describe(sts.protocol)})`,
      "leave it out for HTTPS, or pass 'http:' for a local STS",
    )
  }
  if (sts.allowInsecureHttp !== undefined && typeof sts.allowInsecureHttp !== 'boolean') {
    throw new ConfigError(
      'sts.allowInsecureHttp',
      `must be true or false (got ${describe(sts.allowInsecureHttp)})`,
      'leave it out unless a plain-HTTP STS outside loopback and private addresses is really meant',
    )
  }
  if (protocol === 'http:' && !isPrivateEndpoint(endpoint) && sts.allowInsecureHttp !== true) {
    throw new ConfigError(
      'sts.protocol',
      `is 'http:' for ${describe(endpoint)}, which is not a loopback or private address: the temporary keys would cross the network in clear`,
      "use 'https:' (the default), or set sts.allowInsecureHttp: true if a plain-HTTP hop is really safe here",
    )
  }
  return { endpoint, protocol }
}

function wholeNumber(option: string, value: unknown, fallback: number, min: number, max: number, fix: string): number {
  if (value === undefined) return fallback
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value
  throw new ConfigError(option, `must be a whole number from ${min} to ${max} (got ${describe(value)})`, fix)
}

function resolveRateLimit(rateLimit: StsRouterOptions['rateLimit']): false | ResolvedRateLimit {
  if (rateLimit === false) return false
  if (rateLimit === undefined) rateLimit = {}
  if (typeof rateLimit !== 'object' || rateLimit === null || Array.isArray(rateLimit)) {
    throw new ConfigError('rateLimit', 'must be false or an object { perIp, perSubject }', 'pass rateLimit: false to disable, or per-layer options')
  }
  rejectUnknown('rateLimit.', rateLimit, ['perIp', 'perSubject'])
  const perIp = resolveRateLimitLayer('rateLimit.perIp', rateLimit.perIp)
  const perSubject = resolveRateLimitLayer('rateLimit.perSubject', rateLimit.perSubject)
  const ipStore = perIp === false ? undefined : perIp.store
  const subjectStore = perSubject === false ? undefined : perSubject.store
  if (ipStore !== undefined && ipStore === subjectStore) {
    throw new ConfigError(
      'rateLimit.perSubject.store',
      'is the same store instance as rateLimit.perIp.store (express-rate-limit refuses one store for two limiters)',
      "create one store per layer, e.g. two RedisStores with prefixes 'cos-sts:ip:' and 'cos-sts:subject:'",
    )
  }
  const prefixOf = (store: unknown): unknown => (store !== null && typeof store === 'object' ? (store as { prefix?: unknown }).prefix : undefined)
  if (ipStore !== undefined && subjectStore !== undefined && typeof prefixOf(ipStore) === 'string' && prefixOf(ipStore) === prefixOf(subjectStore)) {
    throw new ConfigError(
      'rateLimit.perSubject.store',
      `has the same key prefix as rateLimit.perIp.store (${describe(prefixOf(ipStore))}), so a subject that looks like an IP would share its count`,
      "give each layer's store its own prefix, e.g. 'cos-sts:ip:' and 'cos-sts:subject:'",
    )
  }
  return { perIp, perSubject }
}

function resolveRateLimitLayer(option: string, layer: unknown): false | RateLimitLayerOptions {
  if (layer === false) return false
  if (layer === undefined) return {}
  if (typeof layer !== 'object' || layer === null || Array.isArray(layer)) {
    throw new ConfigError(
      option,
      'must be false or an object of express-rate-limit options',
      `pass ${option}: false to turn this layer off, or e.g. { limit: 100, windowMs: 60000 }`,
    )
  }
  rejectUnknown(`${option}.`, layer, KNOWN_RATE_LIMIT_OPTIONS)
  const given = layer as Record<string, unknown>
  const limit = given['limit'] ?? given['max']
  if (limit !== undefined && typeof limit !== 'function' && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 1)) {
    throw new ConfigError(
      `${option}.limit`,
      `must be a whole number of requests >= 1 or a function (got ${describe(limit)})`,
      `use e.g. 100, or ${option}: false to turn the layer off`,
    )
  }
  const windowMs = given['windowMs']
  if (windowMs !== undefined && !(typeof windowMs === 'number' && Number.isInteger(windowMs) && windowMs >= 1000 && windowMs <= 2 ** 31 - 1)) {
    throw new ConfigError(
      `${option}.windowMs`,
      `must be a whole number of milliseconds from 1000 to 2147483647 (got ${describe(windowMs)})`,
      'use e.g. 60000 for a one-minute window',
    )
  }
  const store = given['store']
  if (store !== undefined) {
    const methods = store !== null && typeof store === 'object' ? (store as Record<string, unknown>) : {}
    if (!['increment', 'decrement', 'resetKey'].every((name) => typeof methods[name] === 'function')) {
      throw new ConfigError(
        `${option}.store`,
        'must be an express-rate-limit store (increment, decrement and resetKey methods)',
        "pass e.g. new RedisStore({ sendCommand: (command, ...args) => client.call(command, ...args), prefix: 'cos-sts:ip:' })",
      )
    }
  }
  for (const flag of ['passOnStoreError', 'skipFailedRequests', 'skipSuccessfulRequests', 'legacyHeaders'] as const) {
    if (given[flag] !== undefined && typeof given[flag] !== 'boolean') {
      throw new ConfigError(`${option}.${flag}`, `must be true or false (got ${describe(given[flag])})`, `pass a boolean or leave ${flag} out`)
    }
  }
  return { ...given }
}

const KNOWN_CACHE_OPTIONS = Object.keys({ max: true, minRemainingSeconds: true, store: true, firstLevelTtlMs: true } satisfies Record<keyof CacheOptions, true>)
export const CACHE_DEFAULTS = { max: 10_000, minRemainingSeconds: 300, firstLevelTtlMs: 2000 } as const

function resolveCache(cache: StsRouterOptions['cache'], durationSeconds: number): false | ResolvedCacheOptions {
  if (cache === false) return false
  if (cache === undefined) cache = {}
  if (typeof cache !== 'object' || cache === null) {
    throw new ConfigError(
      'cache',
      'must be false or an object { max, minRemainingSeconds, store }',
      'pass cache: false to disable caching, or an options object',
    )
  }
  rejectUnknown('cache.', cache, KNOWN_CACHE_OPTIONS)
  const max = wholeNumber('cache.max', cache.max, CACHE_DEFAULTS.max, 1, 10_000_000, 'use the number of users active within one key lifetime, e.g. 10000')
  const minRemainingSeconds = wholeNumber(
    'cache.minRemainingSeconds',
    cache.minRemainingSeconds,
    CACHE_DEFAULTS.minRemainingSeconds,
    0,
    DURATION_LIMITS.federationMax,
    'use a few minutes, e.g. 300: cos-js-sdk-v5 refetches below 60 s',
  )
  if (minRemainingSeconds >= durationSeconds) {
    throw new ConfigError(
      'cache.minRemainingSeconds',
      `must be below durationSeconds (${minRemainingSeconds} >= ${durationSeconds}), or no key could ever be served from the cache`,
      `lower it well under ${durationSeconds}, e.g. 300`,
    )
  }
  const store = cache.store
  if (
    store !== undefined &&
    (typeof store !== 'object' ||
      store === null ||
      !['get', 'set', 'deleteIfValue'].every((method) => typeof (store as unknown as Record<string, unknown>)[method] === 'function'))
  ) {
    throw new ConfigError(
      'cache.store',
      'must be a cache store with get, set and deleteIfValue methods',
      "pass createRedisCacheStore({ client }) from 'express-cos-sts/redis', or leave it out",
    )
  }
  // How long another instance's invalidate() can go unseen here if its pub/sub message is lost (docs/caching.md).
  const firstLevelTtlMs = wholeNumber(
    'cache.firstLevelTtlMs',
    cache.firstLevelTtlMs,
    CACHE_DEFAULTS.firstLevelTtlMs,
    0,
    60_000,
    'use a few seconds, e.g. 2000, or 0 to ask the shared store on every request',
  )
  return { max, minRemainingSeconds, store, firstLevelTtlMs }
}

function rejectUnknown(path: string, given: object, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue
    const near = known.find((candidate) => editDistance(candidate.toLowerCase(), name.toLowerCase()) <= 2)
    throw new ConfigError(path + name, 'is not an option', near ? `did you mean \`${path}${near}\`?` : `the options are ${known.join(', ')}`)
  }
}

function isCleanString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && !/\s/.test(value)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  return typeof value
}
