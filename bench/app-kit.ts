// What the bench's app children share: the router as the bench runs it, the bare baseline route, per-router stats, serving.
import express, { type Express } from 'express'
import { createStsRouter, type StsRouter, type StsRouterOptions } from '../src/index.js'
import { BENCH_BUCKET, BENCH_REGION, BENCH_SECRET_ID, BENCH_SECRET_KEY } from './keys.js'

/** The router as the bench runs it: the `x-user` header is the user, who may upload to their own folder; rate limits off. */
export function benchRouter(stsEndpoint: string, cache: StsRouterOptions['cache']): StsRouter {
  return createStsRouter({
    secretId: BENCH_SECRET_ID,
    secretKey: BENCH_SECRET_KEY,
    bucket: BENCH_BUCKET,
    region: BENCH_REGION,
    authorize: (req) => {
      const user = req.get('x-user')
      return user ? { subject: user, actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: ['uploads/{subject}/*'] } : null
    },
    cache,
    rateLimit: false, // one address sends everything here; limits would measure themselves, not the cache
    sts: { endpoint: stsEndpoint, protocol: 'http:' },
    logger: { warn: (message) => console.error(message), error: (message) => console.error(message) },
  })
}

/** An app whose first route is the baseline: Express answering, with `res.json`, the very body the router answers. */
export function benchApp(): { app: Express; baseline: { body?: unknown } } {
  const app = express()
  const baseline: { body?: unknown } = {}
  app.get('/bare', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json(baseline.body)
  })
  return { app, baseline }
}

/** `GET /stats/<name>`: that router's cache counters, this process's RSS and its CPU time (user + system, µs). */
export function addStats(app: Express, routers: Record<string, StsRouter>): void {
  app.get('/stats/:router', (req, res) => {
    const router = routers[req.params.router]
    if (router) res.json({ ...router.cacheStats(), rss: process.memoryUsage().rss, cpuMicros: cpuMicros() })
    else res.status(404).end()
  })
}

/**
 * Listens on a free loopback port, takes the baseline's body from a first request to `primePath`, then prints
 * `{ url }` as the parent expects, and exits when the parent does (its end of stdin closes).
 */
export async function serve(app: Express, baseline: { body?: unknown }, primePath: string): Promise<void> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('app did not bind')
  const url = `http://127.0.0.1:${address.port}`
  const primed = await fetch(`${url}${primePath}`, { headers: { 'x-user': 'bench' } })
  if (!primed.ok) throw new Error(`priming ${primePath} failed: HTTP ${primed.status}`)
  baseline.body = await primed.json()
  process.stdout.write(`${JSON.stringify({ url })}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

/** CPU time this process has used (user + system): per request it is a figure the rest of a shared machine cannot inflate. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}
