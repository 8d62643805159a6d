// Public entry of `express-cos-sts/testing`: the local STS used by tests and the example app.
export { startLocalSts } from './local-sts.js'
export type { IssuedCredentials, LocalSts, LocalStsCall, LocalStsFault, LocalStsOptions } from './local-sts.js'
