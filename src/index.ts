// Public exports of express-cos-sts.
export { createStsRouter, type StsRouter } from './router.js'
export { ConfigError } from './options.js'
export { createMemoryCacheStore, type MemoryCacheStore, type MemoryCacheStoreOptions } from './cache/memory-store.js'
export { ERRORS, RouteError } from './errors.js'
export { actionSets, knownActions, knownCiActions } from './cos/actions.js'
export { allConditions, contentTypes, maxBytes, sourceIps } from './conditions.js'
export { isAllowed, isPrefixAllowed } from './simulator.js'
export { auditGrant } from './audit.js'
export { GRANT_LIMITS } from './grant/limits.js'
export { GRANT_RULES } from './grant/rules.js'
export { GrantError } from './grant/review.js'
export type {
  AuditOptions,
  AuditReport,
  AuditRow,
  AuthorizeHook,
  ErrorCode,
  RouteErrorDetails,
  AuthorizeResult,
  CacheOptions,
  CacheStats,
  CacheStore,
  CamCondition,
  CamPolicy,
  CamStatement,
  CredentialsResponse,
  ErrorEvent,
  Grant,
  GrantFinding,
  GrantRule,
  GrantStatement,
  IssueEvent,
  Logger,
  RateLimitLayerOptions,
  PrefixRequest,
  RateLimitOptions,
  ScopeItem,
  SimulatedRequest,
  StsAnswer,
  StsClientLike,
  StsOptions,
  StsRouterOptions,
} from './types.js'
export type { DeclaredFile, IssueOptions, UploadKeyHook, UploadKeyInput, UploadLimits } from './types.js'
