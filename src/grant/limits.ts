// Bounds on a grant's size and the policy it makes, so a bug cannot build a giant policy.
import type { CamPolicy } from '../types.js'

/**
 * Bounds that keep a bug from building a giant policy. A real upload page needs a handful of statements,
 * prefixes and actions (the full upload set is 8 actions); each bound is several times that. The policy's
 * URL-encoded length (what is sent; never shorter than the JSON STS decodes) stays 1 KiB under CAM's
 * 6144-character policy limit, whichever of the two forms STS measures.
 */
export const GRANT_LIMITS = Object.freeze({
  statements: 20,
  prefixesPerStatement: 20,
  actionsPerStatement: 30,
  policyEncodedChars: 5120,
})

/** Length of the Policy parameter as it is sent to STS. */
export function encodedPolicyLength(policy: CamPolicy): number {
  return encodeURIComponent(JSON.stringify(policy)).length
}
