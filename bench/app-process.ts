// Benchmark child: one Express app with a bare JSON route and the credentials route cached, uncached and fresh (for the load case).
import express from 'express'
import { createStsRouter, type StsRouter } from '../src/index.js'
import { BENCH_BUCKET, BENCH_REGION, BENCH_SECRET_ID, BENCH_SECRET_KEY } from './keys.js'

async function main(): Promise<void> {
  const stsEndpoint = process.argv[2]
  if (!stsEndpoint) throw new Error('usage: app-process.ts <sts endpoint>')
  const routerFor = (cache: false | object): StsRouter =>
    createStsRouter({
      secretId: BENCH_SECRET_ID,
      secretKey: BENCH_SECRET_KEY,
      bucket: BENCH_BUCKET,
      region: BENCH_REGION,
      authorize: (req) => {
        const user = req.get('x-user')
        return user ? { subject: user, actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: [`uploads/${user}/*`] } : null
      },
      cache,
      rateLimit: false, // one address sends everything here; limits would measure themselves, not the cache
      sts: { endpoint: stsEndpoint, protocol: 'http:' },
      logger: { warn: (message) => console.error(message), error: (message) => console.error(message) },
    })
  const routers = { cached: routerFor({}), uncached: routerFor(false), load: routerFor({}) }

  const app = express()
  const baseline: { body?: unknown } = {}
  // The baseline: Express answering the very body the cached route answers, with the same header.
  app.get('/bare', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json(baseline.body)
  })
  // The same body written as the router writes it (no ETag, as befits a no-store answer): what the route costs beyond writing.
  app.get('/bare-raw', (_req, res) => {
    const text = JSON.stringify(baseline.body)
    res.statusCode = 200
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Content-Length', Buffer.byteLength(text))
    res.end(text)
  })
  app.use('/cached', routers.cached)
  app.use('/uncached', routers.uncached)
  app.use('/load', routers.load)
  app.get('/stats/:router', (req, res) => {
    const router = routers[req.params.router as keyof typeof routers] as StsRouter | undefined
    if (router) res.json({ ...router.cacheStats(), rss: process.memoryUsage().rss, cpuMicros: cpuMicros() })
    else res.status(404).end()
  })

  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('app did not bind')
  const url = `http://127.0.0.1:${address.port}`
  const primed = await fetch(`${url}/cached`, { headers: { 'x-user': 'bench' } })
  if (!primed.ok) throw new Error(`priming the cached route failed: HTTP ${primed.status}`)
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

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
