// What the operator should do about an STS error: the caller sees a generic 502, onError/logger and `doctor` get the remedy.

/** STS error code (exact, or a family ending in '.') → what is wrong and how to fix it, in plain words. */
const HINTS: Array<[code: string, hint: string]> = [
  [
    'AuthFailure.SignatureFailure',
    'the SecretKey does not match the SecretId: copy both again from the CAM console (API keys) into TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY, with no spaces',
  ],
  [
    'AuthFailure.SecretIdNotFound',
    'STS does not know this SecretId: the key was deleted or disabled in the CAM console, or TENCENTCLOUD_SECRET_ID is mistyped',
  ],
  ['AuthFailure.InvalidSecretId', 'the SecretId is not a Tencent Cloud API key: use an API key of a CAM sub-account (AKID…)'],
  ['AuthFailure.SignatureExpire', "this server's clock is more than 5 minutes off: STS refuses the signature; sync the clock (NTP)"],
  [
    'AuthFailure.UnauthorizedOperation',
    'the CAM user of this key may not call STS: grant it sts:GetFederationToken (or sts:AssumeRole on the role) in the CAM console',
  ],
  ['UnauthorizedOperation', 'the CAM user of this key may not call STS: grant it sts:GetFederationToken (or sts:AssumeRole on the role) in the CAM console'],
  ['AuthFailure.', 'STS refused the permanent key: check TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY and that the key is enabled'],
  [
    'InvalidParameter.GrantOtherResource',
    "the policy names a resource the permanent key's own account may not grant: check that the bucket's APPID (BucketName-APPID) belongs to the account of this SecretId, and that its CAM user holds the COS permissions it hands out",
  ],
  ['InvalidParameter.PolicyTooLong', "the policy is over CAM's length limit: grant fewer, shorter prefixes (see docs/security.md#policy-too-large)"],
  [
    'InvalidParameter.OverTimeError',
    'durationSeconds is over what STS allows for this key: at most 7200 s with a root-account key, 129600 s with a sub-account key, 43200 s for AssumeRole',
  ],
  ['InvalidParameter.StrategyFormatError', 'STS could not parse the policy: report it as a bug of express-cos-sts with the onError event'],
  ['InvalidParameter.ResouceError', 'STS refused a resource name of the policy: check the bucket (BucketName-APPID) and region options'],
  ['InvalidParameter.', 'STS refused a parameter of the call: check bucket, region, durationSeconds and sts.roleArn; the STS message in `cause` names it'],
  [
    'InternalError.GetRoleError',
    "STS could not find the role in sts.roleArn, or the role does not trust this key's account: check the ARN and the role's trust policy",
  ],
  ['ResourceNotFound.RoleNotExist', 'the role in sts.roleArn does not exist: copy its ARN from the CAM console'],
  [
    'RequestLimitExceeded',
    'STS throttled the account (600 calls/s per action, shared by every instance and app on it): lower sts.maxCallsPerSecond per instance, and keep the key cache on',
  ],
]

/** The remedy for an STS error code, or undefined when there is nothing more to say than the code. */
export function stsHint(stsCode: string | undefined): string | undefined {
  if (stsCode === undefined) return undefined
  return HINTS.find(([code]) => (code.endsWith('.') ? stsCode.startsWith(code) : stsCode === code))?.[1]
}
