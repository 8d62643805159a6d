// Public entry of `express-cos-sts/testing`: the local STS used by tests and the example app, and the cache store conformance kit.
export { startLocalSts } from './local-sts.js'
export type { IssuedCredentials, LocalSts, LocalStsCall, LocalStsFault, LocalStsOptions } from './local-sts.js'
export { cacheStoreChecks, testCacheStore, type CacheStoreCheck, type CacheStoreFactory } from './cache-store-kit.js'
