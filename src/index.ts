// Public exports of express-cos-sts.
export { createStsRouter, type StsRouter } from './router.js'
export { ConfigError } from './options.js'
export { ERRORS, RouteError, type ErrorCode, type RouteErrorDetails } from './errors.js'
export { actionSets, knownActions } from './cos-actions.js'
export { allConditions, contentTypes, maxBytes, sourceIps } from './conditions.js'
export { isAllowed, isPrefixAllowed, type PrefixRequest, type SimulatedRequest } from './simulator.js'
export { auditGrant, type AuditOptions, type AuditReport, type AuditRow } from './audit.js'
export { GRANT_LIMITS, type GrantFinding, type GrantRule } from './guard.js'
export type {
  AuthorizeHook, AuthorizeResult, CacheOptions, CacheStats, CacheStore, CamCondition, CamPolicy, CamStatement, CredentialsResponse,
  ErrorEvent, Grant, GrantStatement, IssueEvent, Logger, RateLimitLayerOptions, RateLimitOptions, ScopeItem, StsClientLike, StsOptions, StsRouterOptions,
} from './types.js'
export type { DeclaredFile, IssueOptions, UploadKeyHook, UploadKeyInput, UploadLimits } from './types.js'
