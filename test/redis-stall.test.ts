// A Redis blip is not an STS storm: a 300 ms CLIENT PAUSE under load, and event-loop delay, on a redis-server of the suite's own.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createStsRouter, type StsRouter } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import { capturingLogger } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { cacheInstance } from './support/redis-cache-instance.js'
import { uniquePrefix } from './support/redis.js'
import { startRedisServer, type LocalRedisServer } from './support/redis-server.js'

describe('Redis cache store: a stall is not an STS storm', function () {
  this.timeout(30_000)
  let redis: LocalRedisServer
  let sts: LocalSts
  before(async () => {
    redis = await startRedisServer() // CLIENT PAUSE stops every client: never on the shared 6379
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY, latencyMs: 50 })
  })
  after(async () => {
    await sts?.close()
    await redis?.close()
  })

  it('a 300 ms CLIENT PAUSE under load costs at most a few STS calls per instance, and every request is answered 200', async () => {
    const USERS = 200
    const prefix = uniquePrefix()
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const logger = capturingLogger()
        // A short first level, so the pause meets many store reads (every key is re-read from Redis every 100 ms).
        const router: StsRouter = createStsRouter({
          secretId: TEST_SECRET_ID,
          secretKey: TEST_SECRET_KEY,
          bucket: TEST_BUCKET,
          region: TEST_REGION,
          rateLimit: false,
          logger,
          authorize: (req) => ({
            subject: req.get('x-user') ?? 'nobody',
            actions: ['name/cos:PutObject'],
            prefixes: [`uploads/${req.get('x-user') ?? 'nobody'}/*`],
          }),
          cache: { store: createRedisCacheStore({ client: await redis.connect(), prefix }), firstLevelTtlMs: 100 },
          sts: { endpoint: sts.endpoint, protocol: sts.protocol },
        })
        const app = express()
        app.use('/creds', router)
        const server = app.listen(0, '127.0.0.1')
        await new Promise((resolve) => server.once('listening', resolve))
        return { router, server, port: (server.address() as AddressInfo).port }
      }),
    )
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
    try {
      const warm = await Promise.all(Array.from({ length: USERS }, (_, user) => get(agent, instances[user % 2]!.port, `user-${user}`)))
      assert.deepEqual([...new Set(warm)], [200])
      assert.equal(sts.calls.length, USERS)
      sts.reset()
      const admin = await redis.connect()
      const statuses: number[] = []
      // 16 workers, 1.5 s, bounded by count too; the pause starts 400 ms in.
      let sent = 0
      const stopAt = Date.now() + 1500
      const paused = new Promise((resolve) => setTimeout(resolve, 400)).then(() => admin.call('CLIENT', 'PAUSE', '300', 'ALL'))
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (Date.now() < stopAt && sent < 50_000) {
            const user = sent++ % USERS
            statuses.push(await get(agent, instances[user % 2]!.port, `user-${user}`))
          }
        }),
      )
      assert.equal(await paused, 'OK')
      assert.ok(statuses.length > 100, `${statuses.length} requests`)
      assert.deepEqual([...new Set(statuses)], [200])
      const storeErrors = instances.map(({ router }) => router.cacheStats().storeErrors)
      assert.ok(
        storeErrors.every((count) => count > 0),
        `the pause was felt: store errors ${storeErrors.join(', ')}`,
      )
      // 0.1.0 bypassed the store for a second on one late reply and called STS for every request: hundreds here.
      assert.ok(sts.calls.length <= 20, `${sts.calls.length} STS calls for a 300 ms pause`)
    } finally {
      agent.destroy()
      for (const { server } of instances) server.close()
    }
  })

  it('event-loop delay does not count as Redis being late: a 300 ms block while the answer waits in the socket is no store error', async () => {
    const instance = cacheInstance(sts, await redis.connect(), uniquePrefix(), { firstLevelTtlMs: 0 })
    await instance.issue('alice')
    const pending = instance.issue('alice') // its MGET is on the wire now
    const blockedUntil = Date.now() + 300
    while (Date.now() < blockedUntil) {
      /* the event loop is blocked, as by a slow handler */
    }
    const served = await pending
    assert.equal(served.cached, true)
    assert.equal(instance.cache.stats().storeErrors, 0)
    assert.equal(instance.logger.lines.filter((line) => line.level === 'error').length, 0)
  })
})

function get(agent: http.Agent, port: number, user: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/creds', headers: { 'x-user': user }, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
  })
}
