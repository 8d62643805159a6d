// Redis bench child: one app instance with a bare route and the credentials route on the in-process cache and on the Redis store.
import { Redis } from 'ioredis'
import { createRedisCacheStore } from '../src/redis.js'
import { addStats, benchApp, benchRouter, serve } from './app-kit.js'
import { runChild } from './harness.js'

async function main(): Promise<void> {
  const [stsEndpoint, redisPort, prefix] = process.argv.slice(2)
  if (!stsEndpoint || !redisPort || !prefix) throw new Error('usage: redis-app-process.ts <sts endpoint> <redis port> <key prefix>')
  const client = new Redis({ host: '127.0.0.1', port: Number(redisPort), lazyConnect: true })
  client.on('error', () => undefined) // the store reports its own failures
  await client.connect()
  // Each case has a router (and so a Redis prefix) of its own; the instances of one run share the prefixes.
  const routers = {
    memory: benchRouter(stsEndpoint, {}),
    redis: benchRouter(stsEndpoint, { store: createRedisCacheStore({ client, prefix: `${prefix}hit:` }) }),
    // A first level shorter than the pause: every user's next request meets the paused store, the worst case for STS calls.
    pause: benchRouter(stsEndpoint, { store: createRedisCacheStore({ client, prefix: `${prefix}pause:` }), firstLevelTtlMs: 100 }),
    burst: benchRouter(stsEndpoint, { store: createRedisCacheStore({ client, prefix: `${prefix}burst:` }) }),
  }

  const { app, baseline } = benchApp()
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
  addStats(app, routers)
  await serve(app, baseline, '/memory')
}

runChild(main)
