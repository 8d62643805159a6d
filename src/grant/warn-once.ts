// Logs each grant warning the router meets once per router, not once per request.
import { LRUCache } from 'lru-cache'
import type { GrantFinding, Logger } from '../types.js'
import { docsLink } from './rules.js'

/** Most distinct warnings remembered per router; past that the least recent may be logged again. */
const REMEMBERED_WARNINGS = 1000

/**
 * Logs each warning once per router for the same statement content (rule, actions, prefix), not once per
 * request: a shared prefix that every user's grant names is one warning, however many users ask.
 */
export function onceWarner(logger: Logger): (finding: GrantFinding) => void {
  const seen = new LRUCache<string, true>({ max: REMEMBERED_WARNINGS })
  return (finding) => {
    // A literal prefix holds each user's own id: one warning for the template it should be, not one per user.
    const key = JSON.stringify([finding.rule, finding.actions ?? [], finding.rule === 'literal-subject-prefix' ? finding.fix : (finding.prefix ?? '')])
    if (seen.has(key)) return
    seen.set(key, true)
    logger.warn(`express-cos-sts: ${finding.message} (rule: ${finding.rule}). ${finding.fix}. See ${docsLink(finding.rule)}`, {
      rule: finding.rule,
      statement: finding.statement,
      ...(finding.actions === undefined ? {} : { actions: finding.actions }),
      ...(finding.prefix === undefined ? {} : { prefix: finding.prefix }),
    })
  }
}
