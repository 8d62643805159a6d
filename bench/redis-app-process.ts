// Redis bench child: one app instance with a bare route and the credentials route on the in-process cache and on the Redis store.
import express from 'express'
import { Redis } from 'ioredis'
import { createStsRouter, type StsRouter } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'
import { BENCH_BUCKET, BENCH_REGION, BENCH_SECRET_ID, BENCH_SECRET_KEY } from './keys.js'

async function main(): Promise<void> {
  const [stsEndpoint, redisPort, prefix] = process.argv.slice(2)
  if (!stsEndpoint || !redisPort || !prefix) throw new Error('usage: redis-app-process.ts <sts endpoint> <redis port> <key prefix>')
  const client = new Redis({ host: '127.0.0.1', port: Number(redisPort), lazyConnect: true })
  client.on('error', () => undefined) // the store reports its own failures
  await client.connect()
  const routerFor = (cache: object): StsRouter =>
    createStsRouter({
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
  // Each case has a router (and so a Redis prefix) of its own; the instances of one run share the prefixes.
  const routers = {
    memory: routerFor({}),
    redis: routerFor({ store: createRedisCacheStore({ client, prefix: `${prefix}hit:` }) }),
    // A first level shorter than the pause: every user's next request meets the paused store, the worst case for STS calls.
    pause: routerFor({ store: createRedisCacheStore({ client, prefix: `${prefix}pause:` }), firstLevelTtlMs: 100 }),
    burst: routerFor({ store: createRedisCacheStore({ client, prefix: `${prefix}burst:` }) }),
  }

  const app = express()
  const baseline: { body?: unknown } = {}
  // The baseline: Express answering the body the cached routes answer, with the same header.
  app.get('/bare', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json(baseline.body)
  })
  // When each burst request arrived and when its answer left, on a clock all the processes share.
  const clock = () => performance.timeOrigin + performance.now()
  const burstAnswers: Array<{ subject: string; arrived: number; answered: number }> = []
  app.use('/burst', (req, res, next) => {
    const arrived = clock()
    res.once('finish', () => burstAnswers.push({ subject: req.get('x-user') ?? '', arrived, answered: clock() }))
    next()
  })
  for (const [name, router] of Object.entries(routers)) app.use(`/${name}`, router)
  app.get('/answers/burst', (_req, res) => {
    res.json(burstAnswers)
  })
  app.get('/stats/:router', (req, res) => {
    const router = routers[req.params.router as keyof typeof routers] as StsRouter | undefined
    if (router) res.json({ ...router.cacheStats(), cpuMicros: cpuMicros() })
    else res.status(404).end()
  })

  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('app did not bind')
  const url = `http://127.0.0.1:${address.port}`
  const primed = await fetch(`${url}/memory`, { headers: { 'x-user': 'bench' } })
  if (!primed.ok) throw new Error(`priming the cached route failed: HTTP ${primed.status}`)
  baseline.body = await primed.json()
  process.stdout.write(`${JSON.stringify({ url })}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
