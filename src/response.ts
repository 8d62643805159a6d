// The 200 body (qcloud-cos-sts's shape plus bucket, region and scope) and the event onIssue receives.
import { scopeSummary, type GrantPlan } from './policy.js'
import type { IssuedKey } from './sts.js'
import type { CredentialsResponse, IssueEvent } from './types.js'

export function credentialsBody(key: IssuedKey, plan: GrantPlan): CredentialsResponse {
  return {
    credentials: { tmpSecretId: key.tmpSecretId, tmpSecretKey: key.tmpSecretKey, sessionToken: key.sessionToken },
    startTime: key.startTime,
    expiredTime: key.expiredTime,
    expiration: key.expiration,
    requestId: key.requestId,
    bucket: plan.bucket,
    region: plan.region,
    scope: scopeSummary(plan.statements),
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
