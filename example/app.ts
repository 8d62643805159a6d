// The example's Express app: a toy login (signed cookie), the credentials route fed by it, and the upload page.
import { dirname, join } from 'node:path'
import express, { type Express, type Request } from 'express'
import cookieParser from 'cookie-parser'
import { createStsRouter, type StsRouterOptions } from '../src/index.js'
import { grantFor, isUser, USERS, type User } from './grant.js'
import { serveClientModule } from './client-module.js'

export interface ExampleAppOptions {
  /** createStsRouter's options, less `authorize`, which the toy login provides. */
  router: Omit<StsRouterOptions, 'authorize'>
  /** How the page reaches COS: a local COS (`Domain`/`Protocol` for cos-js-sdk-v5), or real COS when undefined. */
  cos: () => { domain: string; protocol: 'http:' | 'https:' } | undefined
  /** Signs the login cookie; a random one per process is fine for a demo. */
  cookieSecret: string
}

const SESSION_COOKIE = 'example_user'
const PUBLIC_DIR = join(__dirname, 'public')
// cos-js-sdk-v5's browser bundle, served from node_modules: no CDN, works offline.
const COS_SDK_DIR = dirname(require.resolve('cos-js-sdk-v5'))

/** The logged-in user, from the signed cookie; a missing or tampered cookie is nobody. */
export function userOf(req: Request): User | undefined {
  const signed = req.signedCookies as Record<string, unknown> | undefined
  const user = signed?.[SESSION_COOKIE]
  return isUser(user) ? user : undefined
}

export function createExampleApp(options: ExampleAppOptions): Express {
  const app = express()
  app.disable('x-powered-by')
  app.use(cookieParser(options.cookieSecret))

  app.use(
    '/api/cos-credentials',
    createStsRouter({
      ...options.router,
      authorize: (req) => {
        const user = userOf(req)
        return user === undefined ? null : grantFor(user)
      },
    }),
  )

  app.get('/api/session', (req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json({ user: userOf(req) ?? null, users: USERS, bucket: options.router.bucket, region: options.router.region, cos: options.cos() ?? null })
  })

  app.post('/api/login', express.json({ limit: '1kb' }), (req, res) => {
    const user: unknown = (req.body as { user?: unknown } | undefined)?.user
    if (!isUser(user)) {
      res.status(400).json({ error: { code: 'InvalidRequest', message: `Pick one of: ${USERS.join(', ')}.` } })
      return
    }
    res.cookie(SESSION_COOKIE, user, { signed: true, httpOnly: true, sameSite: 'strict', path: '/' })
    res.status(204).end()
  })

  app.post('/api/logout', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/' })
    res.status(204).end()
  })

  app.get('/vendor/cos-js-sdk-v5.min.js', (_req, res) => res.sendFile(join(COS_SDK_DIR, 'cos-js-sdk-v5.min.js')))
  // express-cos-sts/client, which the page imports as an ES module.
  app.get('/vendor/express-cos-sts-client.js', serveClientModule)
  app.use(express.static(PUBLIC_DIR))
  return app
}
