// COS names: bucket and region patterns, the APPID inside a bucket name, key limits, and the CAM resource strings of COS and CI.

/** `BucketName-APPID`: lower-case letters, digits and hyphens, then the numeric APPID. */
export const BUCKET_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-(\d{5,})$/
/** COS regions look like `ap-guangzhou`, `na-siliconvalley`, `ap-shanghai-fsi`. */
export const REGION_PATTERN = /^[a-z]{2,}-[a-z]+(?:-[a-z0-9]+)*$/
/** COS object keys are at most 850 bytes of UTF-8. */
export const MAX_KEY_BYTES = 850

export function isBucketName(value: unknown): value is string {
  return typeof value === 'string' && BUCKET_PATTERN.test(value)
}

export function isRegionName(value: unknown): value is string {
  return typeof value === 'string' && REGION_PATTERN.test(value)
}

/** The APPID part of `BucketName-APPID` ('' when the name is not one). */
export function appIdOf(bucket: string): string {
  return BUCKET_PATTERN.exec(bucket)?.[1] ?? ''
}

/** The services whose actions a key may carry: COS itself, and 数据万象 (Cloud Infinite, CI) jobs on the bucket. */
export type Service = 'cos' | 'ci'

/**
 * The CAM resource a request on `path` of the bucket is checked against, in each service's own form:
 * COS `qcs::cos:<region>:uid/<APPID>:<BucketName-APPID>/<path>`, CI `qcs::ci:<region>:uid/<APPID>:bucket/<BucketName-APPID>/<path>`.
 */
export function resourceOf(service: Service, region: string, bucket: string, path: string): string {
  return `${resourceBase(service, region, bucket)}${path}`
}

/** The resource string up to and including the `/` after the bucket name. */
export function resourceBase(service: Service, region: string, bucket: string): string {
  return service === 'ci' ? `qcs::ci:${region}:uid/${appIdOf(bucket)}:bucket/${bucket}/` : `qcs::cos:${region}:uid/${appIdOf(bucket)}:${bucket}/`
}
