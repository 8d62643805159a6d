// The two ways to judge a grant: planGrant for the router (first error throws) and reviewGrant for the audit (every finding).
import type { GrantPlan } from '../policy.js'
import type { Grant, GrantFinding } from '../types.js'
import { GrantReview } from './review.js'
import { GRANT_RULES } from './rules.js'
import { walkGrant, type GrantWalk, type WalkDefaults } from './walk.js'

export interface PlanDefaults extends WalkDefaults {
  /** Told about each warning of an accepted grant that the router logs (a deliberate `shared: true` write prefix); the router logs each once. */
  onWarning?: (finding: GrantFinding) => void
}

/** Turns the app's grant into a checked plan, or throws GrantError (500 InvalidGrant) naming the first broken rule, its statement and the fix. */
export function planGrant(grant: Grant, defaults: PlanDefaults): GrantPlan {
  const review = new GrantReview('first-error')
  const { plan } = walkGrant(review, grant, defaults)
  for (const finding of review.findings) {
    if (GRANT_RULES[finding.rule].logged) defaults.onWarning?.(finding)
  }
  return plan as GrantPlan // first-error mode: any error has thrown
}

/** Every finding about a grant (errors and warnings), what the walk saw, and the plan the router would use when there is no error. */
export function reviewGrant(grant: unknown, defaults: WalkDefaults): GrantWalk & { findings: GrantFinding[] } {
  const review = new GrantReview('collect')
  const walk = walkGrant(review, grant, defaults)
  return { ...walk, plan: review.hasErrors ? undefined : walk.plan, findings: review.findings }
}
