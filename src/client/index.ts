// express-cos-sts/client: getAuthorization for cos-js-sdk-v5 / cos-wx-sdk-v5 that asks the credentials route once per file, waits out 429/503 and always calls back.
// One self-contained ES module with no imports, so a page can load it with <script type="module"> and no bundler.

/** One item of the `Scope` cos-js-sdk-v5 passes to getAuthorization (and the route's POST body takes). */
export interface ScopeItem {
  action: string
  bucket?: string
  region?: string
  prefix: string
}

/** The fields of the SDK's getAuthorization options that this module reads. */
export interface AuthorizationRequest {
  Bucket?: string
  Region?: string
  Key?: string
  Scope?: ScopeItem[]
  SystemClockOffset?: number
}

/** A temporary key in the form the SDK takes from getAuthorization's callback. */
export interface SdkCredentials {
  TmpSecretId: string
  TmpSecretKey: string
  SecurityToken: string
  StartTime: number
  ExpiredTime: number
  /** Set for per-file keys: the SDK then reuses the key only for the same Scope (this module serves the other steps). */
  ScopeLimit?: true
}

/**
 * getAuthorization's callback: a key. To fail a call the helper passes `{}` (no TmpSecretId), which the SDK turns
 * into an error at once; the type says SdkCredentials because that is what the SDKs' own types accept.
 */
export type AuthorizationCallback = (credentials: SdkCredentials) => void

/** The route's 200 body (the contract's response), as far as this module reads it. */
export interface CredentialsAnswer {
  credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string }
  startTime: number
  expiredTime: number
  expiration?: string
  requestId?: string
  bucket: string
  region: string
  /** What the key allows: actions on object keys or `prefix*`es. */
  scope?: Array<{ actions: string[]; prefixes: string[] }>
  /** Server-chosen uploads: the object key the route chose. */
  key?: string
  /** The server's clock when it answered, epoch seconds. */
  serverTime?: number
}

/** The part of WHATWG fetch this module uses; pass any function of this shape. */
export type FetchLike = (
  url: string,
  init: {
    method: string
    headers: Record<string, string>
    body?: string
    credentials?: 'omit' | 'same-origin' | 'include'
  },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>

/** A `wx.request`-style function (WeChat mini programs; uni.request and Taro.request take the same shape). */
export type RequestLike = (options: {
  url: string
  method: 'GET' | 'POST'
  header: Record<string, string>
  data?: string
  dataType: string
  responseType: 'text'
  success(result: { statusCode: number; data: unknown; header?: Record<string, string | undefined> }): void
  fail(error: { errMsg?: string }): void
}) => unknown

export interface ClientOptions {
  /** The credentials route; default '/api/cos-credentials'. Mini programs need an absolute https URL. */
  url?: string
  /** Default: the global fetch. */
  fetch?: FetchLike
  /** Instead of fetch: a `wx.request`-style function, e.g. `(options) => wx.request(options)`. */
  request?: RequestLike
  /** Extra request headers, or a function returning them (called for every request, so a token may change). */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>)
  /** fetch's `credentials`; default 'same-origin' (the page's cookies go to its own origin). */
  credentials?: 'omit' | 'same-origin' | 'include'
  /** How many times a 429 or 503 is asked again after waiting its Retry-After; default 3. */
  retries?: number
  /** A Retry-After longer than this fails at once instead of waiting; default 60 (seconds). */
  maxRetryWaitSeconds?: number
  /** A request the route has not answered after this long fails; default 30000 (ms). */
  timeoutMs?: number
  /** For tests: the clock (ms) and the wait used for Retry-After. */
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface GetAuthorizationOptions extends ClientOptions {
  /**
   * true (default): POST the SDK's Scope, so the key covers one object (the route answers all the
   * upload steps of one object with one key). false: one key for the user's whole grant, which the
   * SDK reuses for everything until it nears expiry.
   */
  perFile?: boolean
}

/** The function to pass as the SDK's getAuthorization, with the route's refusals kept for the page. */
export interface GetAuthorization {
  (this: unknown, request: AuthorizationRequest, callback: AuthorizationCallback): void
  /**
   * Why the latest SDK call for this object key got no key (the SDK itself only reports "missing
   * TmpSecretId"); undefined once a later call for it succeeds. Without a key: the latest failure of any call.
   */
  errorFor(key?: string): CredentialsError | undefined
}

export interface UploadFile {
  name: string
  size?: number
  contentType?: string
}

export interface ServerChosenUpload {
  /** The object key the route chose: upload to exactly this key. */
  key: string
  bucket: string
  region: string
  /** Serves this key's credentials to the SDK (and asks the route again only if they near expiry). */
  getAuthorization: GetAuthorization
}

/** The route refused (its `{ error: { code, message } }`), or could not be reached (status 0). */
export class CredentialsError extends Error {
  readonly status: number
  readonly code: string
  /** Seconds, from Retry-After (429, 503). */
  readonly retryAfter: number | undefined
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message)
    this.name = 'CredentialsError'
    this.status = status
    this.code = code
    this.retryAfter = retryAfter
  }
}

// The SDKs refetch a key with 60 s or less left; one handed over with less than this would be dropped soon after.
const STALE_SECONDS = 90
// serverTime has whole seconds and the request takes a while: a smaller difference is noise, not a wrong clock.
const CLOCK_TOLERANCE_MS = 10_000
const KEPT_ANSWERS = 200
const KEPT_ERRORS = 100

interface Config {
  send: (method: 'GET' | 'POST', headers: Record<string, string>, body: string | undefined) => Promise<Reply>
  headers: ClientOptions['headers']
  retries: number
  maxRetryWaitSeconds: number
  timeoutMs: number
  now: () => number
  sleep: (ms: number) => Promise<void>
}

interface Reply {
  status: number
  retryAfter: string | null | undefined
  body: unknown // parsed JSON, or undefined when the body is not JSON
}

/** An answer with what it was asked for, and how far the device clock is behind the server's (ms). */
interface Issued {
  answer: CredentialsAnswer
  offsetMs: number | undefined
  exact: string // the scope asked for, as JSON ('' for a whole-grant or server-chosen ask)
  limited: boolean // asked for less than the whole grant: the SDK must not reuse it for other scopes
}

// Globals every host has (browsers, Node, mini programs, whose older runtimes lack globalThis), declared here because
// the module is compiled against the bare ES library.
declare function setTimeout(run: () => void, ms: number): unknown
declare function clearTimeout(id: unknown): void
declare const fetch: FetchLike | undefined

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function configOf(options: ClientOptions): Config {
  const { request, credentials = 'same-origin' } = options
  const url = options.url ?? '/api/cos-credentials'
  const fetchFn = options.fetch ?? (typeof fetch === 'function' ? fetch : undefined)
  if (!request && !fetchFn) {
    throw new TypeError('express-cos-sts/client: no global fetch here; pass options.fetch, or options.request (wx.request)')
  }
  const send: Config['send'] = request
    ? (method, header, data) =>
        new Promise((resolve, reject) => {
          request({
            url,
            method,
            header,
            data,
            dataType: 'text',
            responseType: 'text',
            success: (result) => {
              const header = result.header ?? {}
              const name = Object.keys(header).find((name) => name.toLowerCase() === 'retry-after')
              resolve({
                status: result.statusCode,
                retryAfter: name && header[name],
                body: typeof result.data === 'string' ? parseJson(result.data) : result.data,
              })
            },
            fail: (error) => reject(new Error(error?.errMsg ?? 'request failed')),
          })
        })
    : async (method, headers, body) => {
        // Called as a plain function: a browser's fetch refuses any other `this`.
        const response = await (fetchFn as FetchLike)(url, { method, headers, body, credentials })
        return { status: response.status, retryAfter: response.headers.get('retry-after'), body: parseJson(await response.text()) }
      }
  return {
    send,
    headers: options.headers,
    retries: options.retries ?? 3,
    maxRetryWaitSeconds: options.maxRetryWaitSeconds ?? 60,
    timeoutMs: options.timeoutMs ?? 30_000,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  }
}

/** Seconds to wait from Retry-After (the route sends seconds); 1 when it is missing or unreadable. */
function retryAfterSeconds(value: string | null | undefined): number {
  const seconds = Number(value)
  return value && seconds >= 0 ? seconds : 1
}

function answerOf(body: unknown): CredentialsAnswer | undefined {
  if (!isRecord(body) || !isRecord(body['credentials'])) return undefined
  const { tmpSecretId, tmpSecretKey, sessionToken } = body['credentials']
  const strings = [tmpSecretId, tmpSecretKey, sessionToken].every((value) => typeof value === 'string' && value !== '')
  return strings && typeof body['startTime'] === 'number' && typeof body['expiredTime'] === 'number' ? (body as unknown as CredentialsAnswer) : undefined
}

/** One route request, asked again after Retry-After on 429/503 a bounded number of times. */
async function askRoute(config: Config, body: object | undefined, exact: string): Promise<Issued> {
  const method = body ? 'POST' : 'GET'
  for (let attempt = 0; ; attempt++) {
    let reply: Reply
    let timer: unknown
    try {
      const extra = typeof config.headers === 'function' ? await config.headers() : config.headers
      const headers = { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}), ...extra }
      reply = await Promise.race([
        config.send(method, headers, body && JSON.stringify(body)),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${config.timeoutMs} ms`)), config.timeoutMs)
        }),
      ])
    } catch (error) {
      throw new CredentialsError(0, 'NetworkError', `The credentials request failed: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      clearTimeout(timer)
    }
    const now = config.now()
    if (reply.status === 200) {
      const answer = answerOf(reply.body)
      if (!answer) throw new CredentialsError(200, 'InvalidResponse', 'The credentials route answered 200 without credentials.')
      const offsetMs = typeof answer.serverTime === 'number' ? answer.serverTime * 1000 - now : undefined
      return { answer, offsetMs, exact, limited: body !== undefined }
    }
    const routeError = isRecord(reply.body) && isRecord(reply.body['error']) ? reply.body['error'] : {}
    const { code, message } = routeError
    const wait = retryAfterSeconds(reply.retryAfter)
    const error = new CredentialsError(
      reply.status,
      typeof code === 'string' ? code : 'InvalidResponse',
      typeof message === 'string' ? message : `The credentials route answered HTTP ${reply.status}.`,
      reply.retryAfter ? wait : undefined,
    )
    if ((reply.status === 429 || reply.status === 503) && attempt < config.retries && wait <= config.maxRetryWaitSeconds) {
      await config.sleep(wait * 1000)
      continue
    }
    throw error
  }
}

const actionName = (action: string): string => (action.startsWith('name/') ? action : `name/${action}`)
const matches = (pattern: string, value: string): boolean => (pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value)

/** Whether the key the answer describes allows every item of the scope. */
function covers(answer: CredentialsAnswer, scope: ScopeItem[]): boolean {
  return (
    scope.length > 0 &&
    scope.every(
      (item) =>
        (!item.bucket || item.bucket === answer.bucket) &&
        (!item.region || item.region === answer.region) &&
        (answer.scope ?? []).some(
          (statement) =>
            statement.actions.some((action) => matches(actionName(action), actionName(item.action))) &&
            statement.prefixes.some((prefix) => matches(prefix, item.prefix)),
        ),
    )
  )
}

/** The one object a scope is about (all its items name the same key), or undefined. */
function objectOf(scope: ScopeItem[]): string | undefined {
  const first = scope[0]
  if (!first || first.prefix.endsWith('*')) return undefined
  return scope.every((item) => item.prefix === first.prefix && item.bucket === first.bucket && item.region === first.region)
    ? `${first.bucket ?? ''}/${first.region ?? ''}/${first.prefix}`
    : undefined
}

function forgetOldest<K, V>(map: Map<K, V>, keep: number): void {
  for (const key of map.keys()) {
    if (map.size <= keep) return
    map.delete(key)
  }
}

function makeGetAuthorization(config: Config, perFile: boolean, seed?: Issued): GetAuthorization {
  const issued = new Map<string, Issued>() // by `exact`, oldest first
  const pending = new Map<string, Promise<Issued>>()
  const errors = new Map<string, CredentialsError>()
  let lastError: CredentialsError | undefined
  if (seed) issued.set(seed.exact, seed)

  const fresh = ({ answer, offsetMs }: Issued): boolean => answer.expiredTime - (config.now() + (offsetMs ?? 0)) / 1000 > STALE_SECONDS

  /** Concurrent asks under one share key wait for the same request. */
  function shared(shareKey: string, body: object | undefined, exact: string): Promise<Issued> {
    let request = pending.get(shareKey)
    if (!request) {
      request = askRoute(config, body, exact).then((result) => {
        issued.delete(result.exact)
        issued.set(result.exact, result)
        forgetOldest(issued, KEPT_ANSWERS)
        return result
      })
      const forget = (): void => {
        pending.delete(shareKey)
      }
      request.then(forget, forget)
      pending.set(shareKey, request)
    }
    return request
  }

  async function issue(scope: ScopeItem[]): Promise<Issued> {
    const scoped = perFile && scope.length > 0 // an ask without a Scope can only be for the whole grant
    const exact = scoped ? JSON.stringify(scope) : ''
    let hit: Issued | undefined
    for (const [key, candidate] of issued) {
      if (!fresh(candidate)) issued.delete(key)
      else if ((candidate.exact === exact && !candidate.limited === !scoped) || (scoped && covers(candidate.answer, scope))) hit = candidate
    }
    if (hit) return hit
    const body = scoped ? { scope } : undefined
    // Per file, every step of one object shares the first step's request: the route answers it with a key for the whole upload.
    const first = await shared(scoped ? (objectOf(scope) ?? exact) : '', body, exact)
    if (!scoped || first.exact === exact || covers(first.answer, scope)) return first
    return shared(exact, body, exact) // a route that narrows to each step exactly: ask for this one
  }

  function toSdk({ answer, offsetMs, limited }: Issued, sdk: unknown, request: AuthorizationRequest): SdkCredentials {
    // The SDK drops a key whose StartTime is ahead of its clock + 30 s and signs with the key's own window: correct its
    // clock the way it corrects itself after a RequestTimeTooSkewed from COS, so it keeps (and retires) keys in time.
    const sdkOptions = isRecord(sdk) && isRecord(sdk['options']) ? sdk['options'] : undefined
    let sdkOffset = Number(sdkOptions?.['SystemClockOffset'] ?? request?.SystemClockOffset ?? 0) || 0
    if (offsetMs !== undefined && sdkOptions && sdkOptions['CorrectClockSkew'] !== false && Math.abs(offsetMs - sdkOffset) >= CLOCK_TOLERANCE_MS) {
      sdkOptions['SystemClockOffset'] = sdkOffset = offsetMs
    }
    const sdkNow = Math.floor((config.now() + sdkOffset) / 1000)
    const { tmpSecretId, tmpSecretKey, sessionToken } = answer.credentials
    return {
      TmpSecretId: tmpSecretId,
      TmpSecretKey: tmpSecretKey,
      SecurityToken: sessionToken,
      // Never ahead of the SDK's clock (a start in the past is valid for COS), so an uncorrected slow clock keeps it too.
      StartTime: Math.min(answer.startTime, sdkNow),
      ExpiredTime: answer.expiredTime,
      ...(limited ? { ScopeLimit: true as const } : {}),
    }
  }

  const getAuthorization = function (this: unknown, request: AuthorizationRequest, callback: AuthorizationCallback): void {
    let object = ''
    let settled: SdkCredentials
    // Every path ends in exactly one callback: the SDK waits forever for a getAuthorization that never calls back.
    void Promise.resolve()
      .then(() => {
        const scope = Array.isArray(request?.Scope) ? request.Scope : []
        object = scope[0]?.prefix && objectOf(scope) ? scope[0].prefix : (request?.Key ?? '')
        return issue(scope)
      })
      .then((result) => toSdk(result, this, request)) // `this` is the SDK instance that asked
      .then(
        (credentials) => {
          settled = credentials
          errors.delete(object)
        },
        (error: unknown) => {
          lastError = error instanceof CredentialsError ? error : new CredentialsError(0, 'ClientError', error instanceof Error ? error.message : String(error))
          errors.delete(object)
          errors.set(object, lastError)
          forgetOldest(errors, KEPT_ERRORS)
          settled = {} as SdkCredentials
        },
      )
      .then(() => callback(settled))
  } as GetAuthorization
  getAuthorization.errorFor = (key) => (key === undefined ? lastError : errors.get(key))
  return getAuthorization
}

/** A getAuthorization for cos-js-sdk-v5 / cos-wx-sdk-v5 fed by the credentials route. */
export function createGetAuthorization(options: GetAuthorizationOptions = {}): GetAuthorization {
  return makeGetAuthorization(configOf(options), options.perFile !== false)
}

/** Asks the route to name the object (POST { upload }) and returns that key with a getAuthorization serving its credentials. */
export async function requestUpload(file: UploadFile, options: ClientOptions = {}): Promise<ServerChosenUpload> {
  if (!isRecord(file) || typeof file.name !== 'string' || file.name === '') throw new TypeError('requestUpload: file.name must be a non-empty string.')
  const config = configOf(options)
  const upload = { name: file.name, size: file.size, contentType: file.contentType || undefined }
  const seed = await askRoute(config, { upload }, '')
  const { key, bucket, region } = seed.answer
  if (typeof key !== 'string')
    throw new CredentialsError(200, 'InvalidResponse', 'The credentials route answered without a key: is it express-cos-sts 0.2 or later?')
  return { key, bucket, region, getAuthorization: makeGetAuthorization(config, true, seed) }
}
