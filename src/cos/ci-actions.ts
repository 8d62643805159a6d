// Known 数据万象 (Cloud Infinite, CI) CAM action names a front-end key may carry, and the CI configuration actions it never may.

/*
 * Source: CAM "数据万象" API list (https://cloud.tencent.com/document/product/598/98114), CI "授权粒度详情"
 * (https://cloud.tencent.com/document/product/460/41741) and "API 授权策略使用指引"
 * (https://cloud.tencent.com/document/product/460/104297): actions are written `ci:<Name>` (CAM also takes
 * `name/ci:<Name>`), resources `qcs::ci:<region>:uid/<APPID>:bucket/<BucketName-APPID>/<path>`.
 * Job actions start or read processing of the bucket's objects; they change no object, so the write rule
 * treats them as reads (a job on `job/*` is allowed) and the audit still reports them outside the user's path.
 */

/** Jobs a front end may start, cancel or read. */
export const CI_JOB_ACTIONS: ReadonlySet<string> = new Set([
  // Content moderation (内容审核)
  'CreateAuditingPictureJob',
  'CreateAuditingTextJob',
  'CreateAuditingJobs',
  'DescribeAuditingTextJob',
  'CancelAuditingJobs',
  // Media, document and file processing
  'CreateMediaJobs',
  'DescribeMediaJob',
  'DescribeMediaJobs',
  'CancelMediaJob',
  'CreateDocProcessJobs',
  'CancelDocProcessJob',
  'CreateFileProcessJobs',
  'CancelFileProcessJob',
])

/** CI's bucket configuration: binding, domains, hotlink and origin protection, automatic moderation, templates. Never for a front end. */
export const CI_CONFIG_ACTIONS: ReadonlySet<string> = new Set([
  'CreateCIBucket',
  'DeleteCIBucket',
  'CreateMediaBucket',
  'SetDomain',
  'SetCDNAccelerate',
  'Set4XXResponse',
  'SetRefer',
  'SetOriginProtect',
  'SetAuditingPicture',
  'SetAuditingVideo',
  'CreateMediaTemplate',
  'UpdateMediaTemplate',
])
