// Every public type of the package, documented where it is declared.
import type { Request } from 'express'
import type { Options as RateLimitMiddlewareOptions } from 'express-rate-limit'

/** A CAM condition block: operator → condition key → value or values. */
export type CamCondition = Record<string, Record<string, string | number | boolean | Array<string | number>>>

/** One statement of a CAM policy as STS receives it. Never has a `principal`. */
export interface CamStatement {
  effect: 'allow'
  /** Full action names, always in the `name/cos:Action` form. */
  action: string[]
  /** `qcs::cos:<region>:uid/<APPID>:<BucketName-APPID>/<key or prefix*>` */
  resource: string[]
  condition?: CamCondition
}

/** The policy sent to STS: one statement per grant statement, never merged. */
export interface CamPolicy {
  version: '2.0'
  statement: CamStatement[]
}

/** One explicit action/resource pair of a grant. */
export interface GrantStatement {
  /** `name/cos:PutObject` or `cos:PutObject`. No wildcards. */
  actions: string[]
  /** Object keys, or prefixes ending in `*` (e.g. `uploads/alice/*`). */
  prefixes: string[]
  /** Overrides the grant's top-level `condition` for this statement. */
  condition?: CamCondition
  /** Marks a deliberate multi-user write prefix (the guard then only warns, once). */
  shared?: boolean
}

/** What `authorize(req)` returns for a user who may receive a key. */
export interface Grant {
  /** Stable id of the user: cache key, rate-limit key and audit name. */
  subject: string
  actions?: string[]
  prefixes?: string[]
  condition?: CamCondition
  /** Explicit action/resource pairs; when present they are the grant (`actions`/`prefixes` are ignored). */
  statements?: GrantStatement[]
  durationSeconds?: number
  bucket?: string
  region?: string
}

/** `authorize` outcome: a grant, `null`/`undefined` (401) or `false` (403). */
export type AuthorizeResult = Grant | null | undefined | false

export type AuthorizeHook = (req: Request) => AuthorizeResult | Promise<AuthorizeResult>

/** An item of a requested scope, in the form cos-js-sdk-v5 passes as `options.Scope`. */
export interface ScopeItem {
  action: string
  bucket: string
  region: string
  prefix: string
}

/** The 200 body: the shape of the official qcloud-cos-sts SDK plus where the key may be used. */
export interface CredentialsResponse {
  credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string }
  startTime: number
  expiredTime: number
  expiration: string
  requestId: string
  bucket: string
  region: string
  scope: Array<{ actions: string[]; prefixes: string[] }>
}

/** Minimal logger; `console` fits. Never receives a secret in clear. */
export interface Logger {
  info?(message: string, details?: Record<string, unknown>): void
  warn(message: string, details?: Record<string, unknown>): void
  error(message: string, details?: Record<string, unknown>): void
}

/** Anything with the SDK client's two methods (injected with `sts.client`). */
export interface StsClientLike {
  GetFederationToken(req: { Name: string; Policy: string; DurationSeconds?: number }): Promise<StsAnswer>
  AssumeRole(req: { RoleArn: string; RoleSessionName: string; Policy?: string; DurationSeconds?: number }): Promise<StsAnswer>
}

/** The fields of an STS answer the router reads. */
export interface StsAnswer {
  Credentials?: { Token?: string; TmpSecretId?: string; TmpSecretKey?: string }
  ExpiredTime?: number
  Expiration?: string
  RequestId?: string
}

export interface StsOptions {
  /** Host with optional port, no scheme: `sts.internal.tencentcloudapi.com`, `127.0.0.1:9000`. Default `sts.tencentcloudapi.com`. */
  endpoint?: string
  /** `https:` (default) or `http:` for a local STS. */
  protocol?: 'https:' | 'http:' | 'https://' | 'http://'
  /** Region of the STS call; defaults to the `region` option. */
  region?: string
  /**
   * Upper bound of one issue's STS work, in ms (default 5000): waiting for the call budget, every attempt and
   * every backoff. Past it the answer is 504 StsTimeout, or 503 StsThrottled if it was still waiting for the budget.
   */
  timeoutMs?: number
  /** `qcs::cam::uin/<uin>:roleName/<name>`: switches from GetFederationToken to AssumeRole. */
  roleArn?: string
  /** Use this client instead of building the SDK's one. */
  client?: StsClientLike
  /**
   * Most STS calls started in any one second by this router, retries included (default 500, at most 600).
   * STS allows 600/s per action per account, shared by every instance and every other app on the account:
   * with N instances give each about 500 / N. Calls over the budget wait in a queue, within `timeoutMs`.
   */
  maxCallsPerSecond?: number
  /** Most STS calls in flight at once (default 50: at STS's usual ~100 ms a call, that sustains the 500/s budget). */
  maxConcurrency?: number
  /** Most requests waiting for a budget slot (default 1000, 0: none wait); past it the answer is 503 StsThrottled at once. */
  maxQueue?: number
  /** Retries of RequestLimitExceeded, InternalError, HTTP 5xx and failed connections, with jittered backoff, within `timeoutMs` (default 2, at most 5). */
  maxRetries?: number
}

/**
 * One rate-limit layer: any express-rate-limit option (`limit`, `windowMs`, `store`, `passOnStoreError`, …).
 * The router's defaults (docs/rate-limits.md) fill in what is left out. A `store` serves one layer only.
 */
export type RateLimitLayerOptions = Partial<RateLimitMiddlewareOptions>

/** `perIp` runs before `authorize` (keyed by IP, IPv6 by /56 subnet); `perSubject` after it (keyed by the grant's subject). `false` turns a layer off. */
export interface RateLimitOptions {
  perIp?: false | RateLimitLayerOptions
  perSubject?: false | RateLimitLayerOptions
}

/** Event given to `onIssue` after every 200. Carries no secret. */
export interface IssueEvent {
  subject: string
  bucket: string
  region: string
  scope: Array<{ actions: string[]; prefixes: string[] }>
  expiredTime: number
  requestId: string
  cached: boolean
}

/** Event given to `onError` for every error answer. Carries no secret. */
export interface ErrorEvent {
  status: number
  code: string
  message: string
  subject?: string
  /** The STS error code and RequestId, when STS answered with an error. */
  stsCode?: string
  stsRequestId?: string
  /** The original error, for 5xx answers (already stripped of secrets by the SDK). */
  cause?: unknown
}

/**
 * The per-scope key cache. A scope is { subject, bucket, region, the exact policy, duration, STS mode }:
 * one STS call per scope per key lifetime, however many requests come. Failures are never cached.
 */
export interface CacheOptions {
  /**
   * Most scopes kept in process (default 10000), least recently used dropped first. Worst case about 6.5 kB
   * a scope (STS documents tokens up to 4096 bytes and ids/keys up to 1024; larger keys are served, never
   * cached): 10000 scopes ≤ 65 MB. With a `store`, keys live in the store; the process keeps them only while the store fails.
   */
  max?: number
  /**
   * A cached key is served only while it has at least this many seconds left (default 300, must be below
   * `durationSeconds`). cos-js-sdk-v5 refetches below 60 s; 300 leaves an upload minutes to finish.
   */
  minRemainingSeconds?: number
  /** A shared store (e.g. `createRedisCacheStore` from `express-cos-sts/redis`) so several instances share keys. */
  store?: CacheStore
}

/**
 * Where several instances share cached keys. It only ever sees names made of keyed digests and values sealed
 * with AES-256-GCM (key derived from the permanent secret): never a subject or a temporary key in clear.
 * Any method may reject or hang: the router bounds each call to 200 ms, then keeps keys in process and calls STS itself.
 */
export interface CacheStore {
  /** The values of `keys`, in order; `null` or `undefined` where a key is missing. One round trip where possible. */
  get(keys: string[]): Promise<Array<string | null | undefined>>
  /** Stores `value` under `key` for `ttlMs`; with `onlyIfAbsent`, only when `key` is free. Resolves whether it stored. */
  set(key: string, value: string, ttlMs: number, onlyIfAbsent?: boolean): Promise<boolean>
  /** Deletes `key` only while it still holds `value` (an instance releasing the fill lock it took). */
  deleteIfValue(key: string, value: string): Promise<void>
}

/** The cache's counters since the router was created (`router.cacheStats()`). */
export interface CacheStats {
  /** Requests answered with a cached key (in process or from the store) without waiting for STS. */
  hits: number
  /** Requests that found no usable key and started an STS call. */
  misses: number
  /** Requests that joined a call already in flight for the same scope (in this process, or another instance's through the store). */
  joined: number
  /** STS calls made (successful or not). */
  stsCalls: number
  /** STS calls that failed; their errors went to every request waiting on them and nothing was cached. */
  errors: number
  /** Store operations that failed or timed out; each such request called STS instead. */
  storeErrors: number
  /** Keys cached in process now (at most `cache.max`). */
  entries: number
  /** STS calls in flight now. */
  inFlight: number
}

export interface StsRouterOptions {
  /** Permanent SecretId; default `process.env.TENCENTCLOUD_SECRET_ID`. */
  secretId?: string
  /** Permanent SecretKey; default `process.env.TENCENTCLOUD_SECRET_KEY`. Never leaves the server. */
  secretKey?: string
  /** Default bucket of every grant, `BucketName-APPID`. */
  bucket: string
  /** Default region of every grant, e.g. `ap-guangzhou`. */
  region: string
  /** Key lifetime in seconds (default 1800). */
  durationSeconds?: number
  /** The app's hook: who is asking and what may they do. */
  authorize: AuthorizeHook
  cache?: false | CacheOptions
  /** Two express-rate-limit layers, on by default; `false` turns both off. */
  rateLimit?: false | RateLimitOptions
  sts?: StsOptions
  onIssue?: (event: IssueEvent) => void
  onError?: (event: ErrorEvent) => void
  logger?: Logger
}
