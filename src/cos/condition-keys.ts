// The condition keys COS documents, so a misspelt key (which makes COS refuse every request) is caught with a did-you-mean.
import { editDistance } from '../edit-distance.js'

/*
 * Source: COS "生效条件" / "Conditions" (https://cloud.tencent.com/document/product/436/71306,
 * https://www.tencentcloud.com/document/product/436/46205) and "条件键说明及使用示例"
 * (https://cloud.tencent.com/document/product/436/71307); qcs:current_time from CAM's "生效条件"
 * (https://cloud.tencent.com/document/product/598/10608).
 */
export const CONDITION_KEYS: ReadonlySet<string> = new Set([
  // Every request
  'qcs:ip',
  'qcs:vpc',
  'vpc:requester_vpc',
  'qcs:current_time',
  'cos:secure-transport',
  'cos:tls-version',
  // Request headers and parameters of particular requests
  'cos:content-length',
  'cos:content-type',
  'cos:x-cos-storage-class',
  'cos:x-cos-acl',
  'cos:versionid',
  'cos:prefix',
  'cos:response-content-type',
])

/** The documented key `key` was probably meant to be: same after case and `_`/`-` folding, or at most two edits away. */
export function nearestConditionKey(key: string): string | undefined {
  const fold = (text: string): string => text.toLowerCase().replace(/_/g, '-')
  const known = [...CONDITION_KEYS]
  return known.find((candidate) => fold(candidate) === fold(key)) ?? known.find((candidate) => editDistance(candidate, key) <= 2)
}
