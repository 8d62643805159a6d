// Test fixture: a real Express app with the router mounted, a real local STS, and capturing hooks.
import express, { type Express } from 'express'
import { createStsRouter, type StsRouter } from '../../src/index.js'
import { startLocalSts, type LocalSts } from '../../src/testing/index.js'
import type { ErrorEvent, IssueEvent, Logger, StsRouterOptions } from '../../src/types.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './keys.js'
import { scanForSecret } from './leak-watch.js'

/** A logger that keeps every line and scans it for the permanent key. */
export function capturingLogger(): Logger & { lines: Array<{ level: string; message: string; details?: unknown }> } {
  const lines: Array<{ level: string; message: string; details?: unknown }> = []
  const log = (level: string) => (message: string, details?: Record<string, unknown>) => {
    lines.push({ level, message, details })
    scanForSecret(`logger.${level}`, message + JSON.stringify(details ?? {}, replacer))
  }
  return { lines, info: log('info'), warn: log('warn'), error: log('error') }
}

/** JSON.stringify replacer that keeps Error fields (message, code, cause) visible to the scan. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { ...value, name: value.name, message: value.message, cause: value.cause }
  return value
}

export interface Fixture {
  app: Express
  router: StsRouter
  sts: LocalSts
  logger: ReturnType<typeof capturingLogger>
  issues: IssueEvent[]
  errors: ErrorEvent[]
  close(): Promise<void>
}

export type FixtureOptions = Partial<StsRouterOptions> & { mount?: string; sts?: StsRouterOptions['sts'] }

/** Starts a local STS and mounts createStsRouter on a fresh app at /creds (or `mount`). */
export async function startFixture(options: FixtureOptions = {}, stsOptions: Parameters<typeof startLocalSts>[0] = {}): Promise<Fixture> {
  const sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY, ...stsOptions })
  const logger = capturingLogger()
  const issues: IssueEvent[] = []
  const errors: ErrorEvent[] = []
  const { mount = '/creds', ...rest } = options
  const router = createStsRouter({
    secretId: TEST_SECRET_ID,
    secretKey: TEST_SECRET_KEY,
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    authorize: (req) => {
      const user = req.get('x-user')
      return user ? { subject: user, actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: [`uploads/${user}/*`] } : null
    },
    logger,
    onIssue: (event) => {
      issues.push(event)
      scanForSecret('onIssue', JSON.stringify(event))
    },
    onError: (event) => {
      errors.push(event)
      scanForSecret('onError', JSON.stringify(event, replacer))
    },
    // Suites send many requests from one address; the rate-limit suites turn the layers on themselves.
    rateLimit: false,
    // Suites count STS calls per request; the cache suites turn the cache on themselves.
    cache: false,
    ...rest,
    sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 2000, ...rest.sts },
  })
  const app = express()
  app.use(mount, router)
  return { app, router, sts, logger, issues, errors, close: () => sts.close() }
}
