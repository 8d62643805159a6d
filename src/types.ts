// Every public type of the package, documented where it is declared.
import type { Request } from 'express'
import type { Options as RateLimitMiddlewareOptions } from 'express-rate-limit'
import type { ERRORS } from './errors.js'

/** Codes of the contract's error table (`ERRORS` in errors.ts holds each code's status and default message). */
export type ErrorCode = keyof typeof ERRORS

/** What a RouteError may carry besides its code and message. */
export interface RouteErrorDetails {
  /** Another status than the table's: only for `InvalidRequest` (413, 405) and `RequestError` (the app's 4xx). */
  status?: number
  cause?: unknown
  /** Seconds, sent as `Retry-After` (429, 503). */
  retryAfter?: number
  /** STS's own code and RequestId: for onError/logger only, never the response. */
  stsCode?: string
  stsRequestId?: string
}

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
  /**
   * Start of the signing window cos-js-sdk-v5 uses: when STS issued the key, minus 15 minutes, so a device
   * whose clock is up to 15 minutes slow still keeps the key (it drops one whose StartTime is past its own
   * clock + 30 s). COS accepts a window that began before the key existed (docs/uploads.md).
   */
  startTime: number
  expiredTime: number
  expiration: string
  requestId: string
  bucket: string
  region: string
  scope: Array<{ actions: string[]; prefixes: string[] }>
  /** The server's clock (epoch seconds) when it answered: a front end may set the SDK's `SystemClockOffset` from it. */
  serverTime: number
  /** Only for a server-chosen upload (`{ upload }`): the object key the router chose; the key covers exactly it. */
  key?: string
}

/** The file a front end declares when it asks the router to name the object: POST `{ "upload": { name, size?, contentType? } }`. */
export interface DeclaredFile {
  /** The file's own name; by default only its extension is used (kept when 1–10 of `[a-z0-9]`, lower-cased). */
  name: string
  /** Bytes. Checked against the limits, and bounds each upload request's `cos:content-length`. */
  size?: number
  contentType?: string
}

/**
 * Limits on a declared file (server-chosen uploads), refused with 400 UploadNotAllowed before STS is asked.
 * The grant's own `cos:content-length` / `cos:content-type` conditions on the object also apply.
 */
export interface UploadLimits {
  /** Largest file in bytes; also a `cos:content-length` condition on the key's PutObject and UploadPart (COS checks each part, not the whole file). */
  maxBytes?: number
  /** Content types the declared `contentType` must match (`*` and `?` wildcards, e.g. `image/*`); a file declaring none is refused. */
  contentTypes?: string[]
  /** Extensions the name must end in, without the dot, case-insensitive (e.g. `['jpg', 'png']`). */
  extensions?: string[]
}

/** What `uploadKey` receives; `req` is undefined for `router.issue()`. */
export interface UploadKeyInput {
  subject: string
  grant: Grant
  file: DeclaredFile
  req: Request | undefined
}

/** What `router.issue(grant, request)` may ask for, as a POST body would: a requested scope, or a server-chosen upload (not both). */
export interface IssueOptions {
  scope?: Array<Partial<ScopeItem> & Pick<ScopeItem, 'action' | 'prefix'>>
  upload?: DeclaredFile
}

/** Names the object of a server-chosen upload; the key must lie inside a write prefix of the grant (else 500 InvalidGrant). */
export type UploadKeyHook = (input: UploadKeyInput) => string | Promise<string>

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
  /**
   * `https:` (default) or `http:`. Plain HTTP carries the temporary keys in clear, so it is accepted only for a
   * loopback or private-address endpoint (a local STS, a proxy in the VPC) unless `allowInsecureHttp` is true.
   */
  protocol?: 'https:' | 'http:' | 'https://' | 'http://'
  /** Accept `protocol: 'http:'` for an endpoint that is not a loopback or private address (default false). */
  allowInsecureHttp?: boolean
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
  /** For the operator, when STS refused: what is wrong and how to fix it (e.g. for AuthFailure.SignatureFailure). */
  hint?: string
  /** The original error, for 5xx answers (already stripped of secrets by the SDK). */
  cause?: unknown
  /** For 500 InvalidGrant: the broken rule, where it is explained, and the reference id the caller's answer shows. */
  rule?: string
  docs?: string
  ref?: string
}

/**
 * The per-scope key cache. A scope is { subject, bucket, region, the exact policy, duration, STS mode }:
 * one STS call per scope per key lifetime, however many requests come. Failures are never cached.
 */
export interface CacheOptions {
  /**
   * Most scopes kept in process (default 10000), least recently used dropped first. Worst case about 6.5 kB
   * a scope (STS documents tokens up to 4096 bytes and ids/keys up to 1024; larger keys are served, never
   * cached): 10000 scopes ≤ 65 MB. With a shared `store`, keys live there and the process keeps a first level of at most `max` in front of it.
   */
  max?: number
  /**
   * A cached key is served only while it has at least this many seconds left (default 300, must be below
   * `durationSeconds`). cos-js-sdk-v5 refetches below 60 s; 300 leaves an upload minutes to finish.
   */
  minRemainingSeconds?: number
  /** A shared store (e.g. `createRedisCacheStore` from `express-cos-sts/redis`) so several instances share keys. */
  store?: CacheStore
  /**
   * With a shared store: how long (ms, default 2000, 0 to 60000) a key read from it is served from this process before
   * the store is asked again. It bounds how long a key can outlive `invalidate()` on another instance when the store's
   * pub/sub message does not arrive; with pub/sub it is dropped at once. 0 asks the store on every request.
   */
  firstLevelTtlMs?: number
}

/**
 * Where several instances share cached keys. It only ever sees names made of keyed digests and values sealed
 * with AES-256-GCM (key derived from `sealSecret`, or from the permanent secret): never a subject or a temporary key in clear.
 * Any method may reject or hang: the router bounds each call to 200 ms, then serves the keys it holds in process and calls STS
 * only for the rest. `testCacheStore` in `express-cos-sts/testing` checks a store against this contract.
 */
export interface CacheStore {
  /** The values of `keys`, in order; `null` or `undefined` where a key is missing. One round trip where possible. */
  get(keys: string[]): Promise<Array<string | null | undefined>>
  /** Stores `value` under `key` for `ttlMs`; with `onlyIfAbsent`, only when `key` is free. Resolves whether it stored. */
  set(key: string, value: string, ttlMs: number, onlyIfAbsent?: boolean): Promise<boolean>
  /** Deletes `key` only while it still holds `value` (an instance releasing the fill lock it took). */
  deleteIfValue(key: string, value: string): Promise<void>
  /**
   * Optional: the values of `keys` at once, from this process's memory (`createMemoryCacheStore` has it). A store with
   * `peek` is trusted as in-process: its values are not sealed and no first level is kept in front of it.
   */
  peek?(keys: string[]): Array<string | null | undefined>
  /** Optional, for in-process stores: deletes every value whose name starts with `prefix` (frees a subject's keys at `invalidate`). */
  deletePrefix?(prefix: string): Promise<void>
  /** Optional, with `subscribe`: sends `message` to every subscriber of `channel` on every instance (Redis PUBLISH). */
  publish?(channel: string, message: string): Promise<void>
  /**
   * Optional: calls `listener` with every message published on `channel`; resolves with a function that stops it.
   * With pub/sub an `invalidate()` reaches every instance's first level at once, and a waiting instance learns at
   * once that another filled the key; without it, the first level's lifetime and polling with backoff bound both.
   */
  subscribe?(channel: string, listener: (message: string) => void): Promise<() => void>
  /**
   * Optional: the secret that seals values and names keys in this store, instead of one derived from `secretKey`.
   * Use it when `secretKey` is a placeholder (e.g. with `sts.client`); at least 32 characters of 3 kinds.
   */
  readonly sealSecret?: string
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
  /** Store operations that failed or timed out; each such request was served a key held in process, or called STS. */
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
  /**
   * Names the object of a server-chosen upload (`{ upload }` bodies). Default: inside the grant's first write
   * prefix ending in `*`, a `YYYY/MM/DD/` date path (UTC), 24 random hex digits and the name's extension.
   */
  uploadKey?: UploadKeyHook
  /** Limits on the file of a server-chosen upload (docs/uploads.md). */
  uploadLimits?: UploadLimits
  /**
   * Most milliseconds `authorize` may take (default 10000): a hung session store answers 504 AuthorizeTimeout
   * instead of holding the request and its socket.
   */
  authorizeTimeoutMs?: number
  /**
   * Refuse (500 InvalidGrant, rule literal-subject-prefix) a write prefix that is the user's own only because a
   * literal path segment equals the subject, instead of logging a one-time warning: grants must say where the
   * subject sits with a `{subject}` template (`uploads/{subject}/*`). Default false.
   */
  requireSubjectTemplates?: boolean
  /** Told after every 200. May be async: a throw or a rejection is logged, never crashes the process or changes the answer. */
  onIssue?: (event: IssueEvent) => unknown
  /** Told after every error answer. May be async, like onIssue. */
  onError?: (event: ErrorEvent) => unknown
  logger?: Logger
}

// ---- grant rules, the audit and the simulator ----

/** Stable names of the rules a grant is checked against; each finding names one, and docs/security.md has a heading for each. */
export type GrantRule =
  | 'grant-shape'
  | 'subject'
  | 'anonymous-subject'
  | 'bucket'
  | 'region'
  | 'duration'
  | 'wildcard-action'
  | 'unknown-action'
  | 'prefix-shape'
  | 'condition'
  | 'too-many-statements'
  | 'too-many-prefixes'
  | 'too-many-actions'
  | 'policy-too-large'
  | 'write-outside-subject'
  | 'shared-write'
  | 'read-outside-subject'
  | 'long-duration'
  | 'literal-subject-prefix'
  | 'bucket-config'
  | 'bucket-listing'
  | 'condition-conflict'

/** One thing wrong with (or worth knowing about) a grant. */
export interface GrantFinding {
  rule: GrantRule
  /** `error` refuses the grant (500 InvalidGrant, no STS call); `warning` is reported by the audit, and some are logged once by the router. */
  severity: 'error' | 'warning'
  /** The statement concerned: `grant` (top level, or the one built from actions + prefixes) or `grant.statements[i]`. */
  statement: string
  /** What is wrong, starting with where. */
  message: string
  /** How to put it right. */
  fix: string
  /** The actions the finding concerns, when it is about some cells of the action × resource matrix. */
  actions?: string[]
  /** The prefix the finding concerns, when it is about some cells of the matrix. */
  prefix?: string
}

/** Where and as whom to audit a grant: what createStsRouter's options and the signed-in user would supply. */
export interface AuditOptions {
  /** Audit as this user: replaces `grant.subject` and every `${subject}` in the grant's prefixes. */
  subject?: string
  /** The router's default bucket (`BucketName-APPID`); a grant's own `bucket` wins, as in the router. */
  bucket: string
  /** The router's default region; a grant's own `region` wins. */
  region: string
  /** The router's `durationSeconds` (default 1800); a grant's own wins. */
  durationSeconds?: number
  /** Judge durations by AssumeRole's limits (the router's `sts.roleArn`). */
  assumeRole?: boolean
}

/** One cell of the matrix: one action on one resource, as one statement grants it. */
export interface AuditRow {
  /** `grant` or `grant.statements[i]`. */
  statement: string
  /** `name/cos:…`, or the name as given when it is not a COS action. */
  action: string
  prefix: string
  /** The CAM resource the policy names (the prefix alone when bucket or region is invalid). */
  resource: string
  /** True for actions that change state (unknown names count as writes). */
  write: boolean
  /** Rules of the findings about this cell. */
  findings: GrantRule[]
}

/** What auditGrant finds: the matrix, every finding, and the policy the router would send. */
export interface AuditReport {
  subject: string | undefined
  bucket: string | undefined
  region: string | undefined
  rows: AuditRow[]
  /** Every finding in the order the rules ran: shape, each statement, writes, policy size, then the audit-only warnings. */
  findings: GrantFinding[]
  errors: number
  warnings: number
  /** The policy the router would send to STS; only when nothing is an error. */
  policy?: CamPolicy
  /** Its URL-encoded length, against GRANT_LIMITS.policyEncodedChars. */
  policyLength?: number
  /** Each statement's effective condition: its own and the grant's merged, as the policy carries it (statements without one left out). */
  conditions: Array<{ statement: string; condition: CamCondition }>
}

/** One object request for the simulator: `key` is a literal object key. */
export interface SimulatedRequest {
  action: string
  bucket: string
  region: string
  key: string
  /** Request context for conditions, e.g. `{ 'cos:content-length': 1024, 'qcs:ip': '203.0.113.7' }`. */
  context?: Record<string, string | number>
}

/** A requested scope item for the simulator: `prefix` is a key, or a key prefix ending in `*`. The same type as ScopeItem. */
export type PrefixRequest = ScopeItem
