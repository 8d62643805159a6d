// Rate limits shared on a real Redis (127.0.0.1:6379) with rate-limit-redis: three instances, one budget; an outage fails open fast and the limits come back.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Server } from 'node:http'
import net from 'node:net'
import { Redis } from 'ioredis'
import { RedisStore, type RedisReply } from 'rate-limit-redis'
import request from 'supertest'
import { ConfigError, createStsRouter } from '../src/index.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const REDIS_PORT = 6379
// Unique per run, so runs never share counts; every key under it is deleted afterwards.
const RUN_PREFIX = `cos-sts-test:rate-limit:${process.pid}:${Date.now()}:`

/** An ioredis client as the README recommends for rate limits: fail at once while disconnected instead of queueing for seconds. */
async function connect(port = REDIS_PORT): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  client.on('error', () => undefined) // connection errors surface as failed commands; the 'error' event must not crash the process
  await client.connect()
  return client
}

/** rate-limit-redis wired to ioredis, created once the client is ready (it loads its Lua scripts at creation). */
function storeOn(client: Redis, prefix: string): RedisStore {
  return new RedisStore({
    prefix: RUN_PREFIX + prefix,
    sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply>,
  })
}

async function redisReachable(): Promise<boolean> {
  const client = new Redis({
    host: '127.0.0.1',
    port: REDIS_PORT,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

interface Instance {
  fixture: Fixture
  server: Server
  client: Redis
}

describe('rate-limit-redis: several instances share one budget', function () {
  const clients: Redis[] = []
  let admin: Redis

  before(async function () {
    if (!(await redisReachable())) {
      if (process.env['CI']) throw new Error(`Redis is not reachable on 127.0.0.1:${REDIS_PORT}, and CI is set: the shared rate-limit suite must run`)
      console.warn(
        `\n  !!! SKIPPED: Redis is not reachable on 127.0.0.1:${REDIS_PORT}; the shared rate-limit suite did not run (start redis-server, or run bash .ci/run)\n`,
      )
      this.skip()
    }
    admin = await connect()
  })

  after(async () => {
    if (!admin) return
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${RUN_PREFIX}*`, 'COUNT', 1000)
      if (keys.length > 0) await admin.del(...keys)
      cursor = next
    } while (cursor !== '0')
    for (const client of [admin, ...clients]) client.disconnect()
  })

  /** `count` app instances, each with its own Redis client and its own two stores, on the same Redis. */
  async function instances(count: number, layers: { perIp: object; perSubject: object }, run: string): Promise<Instance[]> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const client = await connect()
        clients.push(client)
        const fixture = await startFixture({
          rateLimit: {
            perIp: { ...layers.perIp, store: storeOn(client, `${run}:ip:`) },
            perSubject: { ...layers.perSubject, store: storeOn(client, `${run}:subject:`) },
          },
        })
        const server = fixture.app.listen(0, '127.0.0.1')
        await once(server, 'listening')
        return { fixture, server, client }
      }),
    )
  }

  async function stop(all: Instance[]): Promise<void> {
    for (const { fixture, server } of all) {
      server.close()
      await fixture.close()
    }
  }

  it('three instances, one subject: the per-subject limit holds across them (requests in parallel, round robin)', async () => {
    const limit = 30
    const all = await instances(3, { perIp: { limit: 1000 }, perSubject: { limit } }, 'subject-share')
    try {
      const ask = (i: number) =>
        request(all[i % 3]!.server)
          .get('/creds')
          .set('x-user', 'alice')
          .then((res) => res.status)
      // Six one after the other, so every instance serves for sure; then the rest all at once.
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) statuses.push(await ask(i))
      statuses.push(...(await Promise.all(Array.from({ length: 84 }, (_, i) => ask(i + 6)))))
      const served = statuses.filter((status) => status === 200).length
      assert.deepEqual([...new Set(statuses)].sort(), [200, 429])
      // The issue asks for within 5 %; Redis counts atomically, so it is exact.
      assert.equal(served, limit, `${served} keys served for a shared limit of ${limit} (each instance alone would allow ${limit})`)
      assert.equal(
        all.reduce((sum, { fixture }) => sum + fixture.sts.calls.length, 0),
        limit,
      )
      assert.ok(
        all.every(({ fixture }) => fixture.sts.calls.length >= 2),
        'every instance served: the count really was shared',
      )
    } finally {
      await stop(all)
    }
  })

  it('three instances, one address: the per-IP limit holds across them', async () => {
    const limit = 45
    const all = await instances(3, { perIp: { limit }, perSubject: { limit: 1000 } }, 'ip-share')
    try {
      const statuses = await Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          request(all[i % 3]!.server)
            .get('/creds')
            .then((res) => res.status),
        ),
      )
      const passed = statuses.filter((status) => status === 401).length
      assert.equal(passed, limit)
      assert.equal(statuses.filter((status) => status === 429).length, 120 - limit)
      // The standard headers tell the shared count, whichever instance answers.
      const next = await request(all[1]!.server).get('/creds').expect(429)
      assert.match(next.headers['ratelimit'] ?? '', /^"per-ip"; r=0; t=\d+$/)
      assert.match(next.headers['ratelimit-policy'] ?? '', /^"per-ip"; q=45; w=60;/)
    } finally {
      await stop(all)
    }
  })

  it('refuses two layers whose stores share a key prefix', async () => {
    const client = await connect()
    clients.push(client)
    assert.throws(
      () =>
        createStsRouter({
          secretId: TEST_SECRET_ID,
          secretKey: TEST_SECRET_KEY,
          bucket: TEST_BUCKET,
          region: TEST_REGION,
          authorize: () => null,
          rateLimit: { perIp: { store: storeOn(client, 'same:') }, perSubject: { store: storeOn(client, 'same:') } },
        }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('`rateLimit.perSubject.store`') && /its own prefix/.test(error.message),
    )
  })

  it('Redis goes away: requests pass at once (fail open) and the logger says so; Redis returns: the shared count carries on', async () => {
    const outage = await startOutageProxy(REDIS_PORT)
    const client = await connect(outage.port)
    clients.push(client)
    const fixture = await startFixture({ rateLimit: { perIp: false, perSubject: { limit: 3, store: storeOn(client, 'outage:subject:') } } })
    const server = fixture.app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const get = () => request(server).get('/creds').set('x-user', 'alice')
      await get().expect(200)
      await get().expect(200)

      await outage.cut()
      const started = Date.now()
      await get().expect(200)
      await get().expect(200)
      assert.ok(Date.now() - started < 1000, `requests during the outage took ${Date.now() - started} ms`)
      assert.equal(fixture.logger.lines.filter((line) => line.level === 'error' && /rate limit per-subject: .*error from store/.test(line.message)).length, 2)

      await outage.restore()
      await waitFor(() => client.status === 'ready', 5000)
      await get().expect(200) // the third counted request: the two during the outage were not counted
      await get().expect(429)
    } finally {
      server.close()
      await fixture.close()
      await outage.close()
    }
  })
})

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting for the Redis client to reconnect')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A TCP relay on 127.0.0.1 in front of Redis that can be cut (every connection dropped, nothing accepted) and restored on the same port. */
async function startOutageProxy(targetPort: number): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  const listen = async (port: number): Promise<number> => {
    server = net.createServer((inbound) => {
      const outbound = net.connect(targetPort, '127.0.0.1')
      for (const socket of [inbound, outbound]) {
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
        socket.on('error', () => undefined)
      }
      inbound.pipe(outbound).pipe(inbound)
      inbound.on('close', () => outbound.destroy())
      outbound.on('close', () => inbound.destroy())
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    return (server.address() as net.AddressInfo).port
  }
  const cut = async () => {
    const closing = server ? new Promise((resolve) => server!.close(resolve)) : Promise.resolve()
    for (const socket of sockets) socket.destroy()
    await closing
    server = undefined
  }
  const port = await listen(0)
  return {
    port,
    cut,
    restore: async () => {
      await listen(port)
    },
    close: cut,
  }
}
