// Plan → CAM policy: one policy statement per planned statement, and the scope summary the 200 body reports.
import { serviceOf } from './cos/actions.js'
import { resourceOf, type Service } from './cos/names.js'
import type { CamCondition, CamPolicy } from './types.js'

/** A grant statement after checks: full action names, checked prefixes, its effective condition. */
export interface PlannedStatement {
  actions: string[]
  prefixes: string[]
  condition: CamCondition | undefined
  shared: boolean
}

/** Everything needed to ask STS for one key. */
export interface GrantPlan {
  subject: string
  bucket: string
  region: string
  durationSeconds: number
  statements: PlannedStatement[]
}

/**
 * The policy STS receives: one statement per planned statement, so one statement's actions never meet another's
 * resources. Each prefix is named in the form of every service the statement's actions belong to (COS, CI).
 */
export function buildPolicy(plan: Pick<GrantPlan, 'bucket' | 'region' | 'statements'>): CamPolicy {
  return {
    version: '2.0',
    statement: plan.statements.map((statement) => ({
      effect: 'allow' as const,
      action: [...statement.actions],
      resource: servicesOf(statement.actions).flatMap((service) => statement.prefixes.map((prefix) => resourceOf(service, plan.region, plan.bucket, prefix))),
      ...(statement.condition === undefined ? {} : { condition: statement.condition }),
    })),
  }
}

/** The services of a statement's actions, COS first. */
function servicesOf(actions: readonly string[]): Service[] {
  const services = new Set(actions.map(serviceOf))
  return (['cos', 'ci'] as const).filter((service) => services.has(service))
}

/** Where a key may be used, as the 200 body's `scope` reports it. */
export function scopeSummary(statements: PlannedStatement[]): Array<{ actions: string[]; prefixes: string[] }> {
  return statements.map(({ actions, prefixes }) => ({ actions: [...actions], prefixes: [...prefixes] }))
}
