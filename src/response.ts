// The 200 body (qcloud-cos-sts's shape plus bucket, region, scope, serverTime and a chosen key) and the event onIssue receives.
import { scopeSummary, type GrantPlan } from './policy.js'
import type { IssuedKey } from './sts.js'
import type { CredentialsResponse, IssueEvent } from './types.js'

/**
 * How far before the key's issue the answered `startTime` lies. cos-js-sdk-v5 discards a cached key when its
 * device clock + 30 s is before StartTime; qcloud-cos-sts's StartTime (the issue time) makes a device whose
 * clock is slow ask again for every request. 15 minutes earlier keeps the key on clocks up to 15 minutes slow,
 * and COS only requires the signing window to contain the moment of the request (docs/uploads.md).
 */
export const SLOW_CLOCK_ALLOWANCE_SECONDS = 900

export function credentialsBody(key: IssuedKey, plan: GrantPlan, nowMs: number, objectKey?: string): CredentialsResponse {
  return {
    credentials: { tmpSecretId: key.tmpSecretId, tmpSecretKey: key.tmpSecretKey, sessionToken: key.sessionToken },
    startTime: key.startTime - SLOW_CLOCK_ALLOWANCE_SECONDS,
    expiredTime: key.expiredTime,
    expiration: key.expiration,
    requestId: key.requestId,
    bucket: plan.bucket,
    region: plan.region,
    scope: scopeSummary(plan.statements),
    serverTime: Math.floor(nowMs / 1000),
    ...(objectKey === undefined ? {} : { key: objectKey }),
  }
}

/** What onIssue sees: who got a key for what, until when; never the key itself. */
export function issueEvent(key: IssuedKey, plan: GrantPlan, cached: boolean): IssueEvent {
  return {
    subject: plan.subject,
    bucket: plan.bucket,
    region: plan.region,
    scope: scopeSummary(plan.statements),
    expiredTime: key.expiredTime,
    requestId: key.requestId,
    cached,
  }
}
