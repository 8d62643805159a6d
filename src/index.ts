// Public exports of express-cos-sts.
export { createStsRouter, type StsRouter } from './router.js'
export { ConfigError } from './options.js'
export { RouteError, type ErrorCode } from './errors.js'
export type {
  AuthorizeHook, AuthorizeResult, CacheOptions, CamCondition, CamPolicy, CamStatement, CredentialsResponse,
  ErrorEvent, Grant, GrantStatement, IssueEvent, Logger, ScopeItem, StsClientLike, StsOptions, StsRouterOptions,
} from './types.js'
