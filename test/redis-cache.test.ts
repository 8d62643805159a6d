// The shared key cache on a real Redis: instances share sealed keys, make one STS call per scope, and keep answering when Redis fails.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import express, { type Express } from 'express'
import { Redis } from 'ioredis'
import request from 'supertest'
import { ConfigError, createStsRouter, type IssueEvent, type StsRouter, type StsRouterOptions } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'
import { STORE_RETRY_AFTER_MS } from '../src/cache/store-calls.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import { capturingLogger } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { appRedisClient, connectTestRedis, deleteUnder, keysUnder, uniquePrefix } from './support/redis.js'

type Body = { credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string }; startTime: number; expiredTime: number; requestId: string }

/** One app instance: its own router, its own Redis client, the same local STS as the others. */
interface Instance {
  app: Express
  router: StsRouter
  logger: ReturnType<typeof capturingLogger>
  issues: IssueEvent[]
}

function startInstance(sts: LocalSts, client: Redis, prefix: string, extra: Partial<StsRouterOptions> = {}): Instance {
  const logger = capturingLogger()
  const issues: IssueEvent[] = []
  const router = createStsRouter({
    secretId: TEST_SECRET_ID,
    secretKey: TEST_SECRET_KEY,
    bucket: TEST_BUCKET,
    region: TEST_REGION,
    authorize: (req) => {
      const user = req.get('x-user')
      return user ? { subject: user, actions: ['name/cos:PutObject'], prefixes: [`uploads/${user}/*`] } : null
    },
    rateLimit: false,
    // These suites test the store protocol, so every request asks Redis; the first level has suites of its own.
    cache: { store: createRedisCacheStore({ client, prefix }), firstLevelTtlMs: 0 },
    sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 2000 },
    logger,
    onIssue: (event) => issues.push(event),
    ...extra,
  })
  const app = express()
  app.use('/creds', router)
  return { app, router, logger, issues }
}

const get = (instance: Instance, user: string) => request(instance.app).get('/creds').set('x-user', user)
const storeFailures = (instance: Instance) =>
  instance.logger.lines.filter((line) => line.level === 'error' && line.message.includes('shared cache store failed'))

describe('Redis cache store: several instances', () => {
  let admin: Redis
  let sts: LocalSts
  let prefix: string
  const clients: Redis[] = []
  const client = async () => {
    const made = await appRedisClient()
    clients.push(made)
    return made
  }

  before(async function () {
    admin = await connectTestRedis(this)
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(async () => {
    await sts?.close()
    admin?.disconnect()
  })
  beforeEach(() => {
    prefix = uniquePrefix()
    sts.reset()
    sts.setLatency(0)
  })
  afterEach(async () => {
    await deleteUnder(admin, prefix)
    for (const made of clients.splice(0)) made.disconnect()
  })

  it('shares a key: a second instance answers from Redis with the same key and no STS call', async () => {
    const [a, b] = [startInstance(sts, await client(), prefix), startInstance(sts, await client(), prefix)]
    const first = (await get(a, 'alice').expect(200)).body as Body
    const second = (await get(b, 'alice').expect(200)).body as Body
    assert.equal(sts.calls.length, 1)
    assert.deepEqual(second, first)
    assert.deepEqual([a.issues[0]?.cached, b.issues[0]?.cached], [false, true])
    assert.equal(b.router.cacheStats().hits, 1)
    assert.equal(b.router.cacheStats().stsCalls, 0)
  })

  it('three instances asking for the same new scope at once make one STS call', async () => {
    const instances = [startInstance(sts, await client(), prefix), startInstance(sts, await client(), prefix), startInstance(sts, await client(), prefix)]
    sts.setLatency(300)
    for (const user of ['alice', 'bob', 'carol']) {
      const before = sts.calls.length
      const answers = await Promise.all(instances.map((instance) => get(instance, user)))
      assert.ok(
        answers.every((res) => res.status === 200),
        answers.map((res) => res.status).join(),
      )
      assert.equal(sts.calls.length - before, 1, `${user}: one STS call for three instances`)
      assert.equal(new Set(answers.map((res) => (res.body as Body).credentials.tmpSecretId)).size, 1)
    }
    const totals = instances.map((instance) => instance.router.cacheStats())
    assert.equal(
      totals.reduce((sum, stats) => sum + stats.stsCalls, 0),
      3,
    )
    assert.equal(
      totals.reduce((sum, stats) => sum + stats.joined + stats.hits, 0),
      6,
    )
  })

  it('keeps only ciphertext under digest names in Redis, with a TTL that follows the key', async () => {
    const subject = 'alice-distinctive-subject'
    const instance = startInstance(sts, await client(), prefix)
    const body = (await get(instance, subject).expect(200)).body as Body
    const names = await keysUnder(admin, prefix)
    const entries = names.filter((name) => name.startsWith(`${prefix}k:`))
    assert.equal(entries.length, 1, names.join())
    const secrets = [body.credentials.tmpSecretId, body.credentials.tmpSecretKey, body.credentials.sessionToken, subject, TEST_SECRET_KEY]
    const encoded = secrets.flatMap((secret) => [
      secret,
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('base64url'),
      Buffer.from(secret).toString('hex'),
    ])
    for (const name of names) {
      assert.ok(!name.includes(subject), `the subject stands in clear in ${name}`)
      const value = (await admin.get(name)) ?? ''
      for (const secret of encoded) assert.ok(!value.includes(secret) && !value.includes(secret.slice(0, 24)), `${name} holds a secret in clear or encoded`)
    }
    const sealed = (await admin.get(entries[0]!)) ?? ''
    assert.match(sealed, /^v1\.[A-Za-z0-9_-]+$/)
    const ttlMs = await admin.pttl(entries[0]!)
    const expected = (body.expiredTime - 300) * 1000 - Date.now()
    assert.ok(Math.abs(ttlMs - expected) < 3000, `PTTL ${ttlMs} ms, expected about ${expected} ms`)
  })

  it("never serves a value moved under another subject's name", async () => {
    const instance = startInstance(sts, await client(), prefix)
    const alice = (await get(instance, 'alice').expect(200)).body as Body
    const [aliceName] = await keysUnder(admin, `${prefix}k:`)
    const bob = (await get(instance, 'bob').expect(200)).body as Body
    const bobName = (await keysUnder(admin, `${prefix}k:`)).find((name) => name !== aliceName)
    assert.ok(aliceName && bobName)
    await admin.set(bobName, (await admin.get(aliceName)) ?? '', 'PX', 60_000)
    const bobAgain = (await get(instance, 'bob').expect(200)).body as Body
    assert.notEqual(bobAgain.credentials.tmpSecretId, alice.credentials.tmpSecretId)
    assert.notEqual(bobAgain.credentials.tmpSecretId, bob.credentials.tmpSecretId, 'the altered entry is dropped and a fresh key issued')
    assert.equal(sts.calls.length, 3)
    assert.ok(instance.logger.lines.some((line) => line.level === 'warn' && line.message.includes('failed authentication')))
  })

  it('invalidate on one instance reaches every instance', async () => {
    const [a, b] = [startInstance(sts, await client(), prefix), startInstance(sts, await client(), prefix)]
    const before = (await get(a, 'alice').expect(200)).body as Body
    await get(a, 'bob').expect(200)
    assert.equal(await b.router.invalidate('alice'), true)
    const after = (await get(a, 'alice').expect(200)).body as Body
    assert.notEqual(after.credentials.tmpSecretId, before.credentials.tmpSecretId)
    const fromB = (await get(b, 'alice').expect(200)).body as Body
    assert.equal(fromB.credentials.tmpSecretId, after.credentials.tmpSecretId)
    await get(b, 'bob').expect(200)
    assert.equal(sts.calls.length, 3, "bob's key survived alice's invalidation")
  })

  it('never mixes GetFederationToken and AssumeRole keys of the same scope', async () => {
    const federation = startInstance(sts, await client(), prefix)
    const role = startInstance(sts, await client(), prefix, {
      sts: { endpoint: sts.endpoint, protocol: sts.protocol, roleArn: 'qcs::cam::uin/100000000001:roleName/cos-uploader' },
    })
    await get(federation, 'alice').expect(200)
    await get(role, 'alice').expect(200)
    assert.deepEqual(
      sts.calls.map((call) => call.action),
      ['GetFederationToken', 'AssumeRole'],
    )
  })

  it('does not share a failure: the lock is released and the next instance calls STS at once', async () => {
    const [a, b] = [startInstance(sts, await client(), prefix), startInstance(sts, await client(), prefix)]
    sts.fail({ kind: 'error', code: 'UnauthorizedOperation' }, 1)
    await get(a, 'alice').expect(502)
    await waitFor(async () => (await keysUnder(admin, `${prefix}l:`)).length === 0)
    assert.deepEqual(await keysUnder(admin, `${prefix}k:`), [], 'nothing cached for the failure')
    const started = Date.now()
    await get(b, 'alice').expect(200)
    assert.ok(Date.now() - started < 1500, 'b did not wait out a lock')
    assert.equal(sts.calls.length, 2)
  })
})

describe('Redis cache store: Redis fails, requests do not', () => {
  let sts: LocalSts
  let admin: Redis
  before(async function () {
    admin = await connectTestRedis(this)
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(async () => {
    await sts?.close()
    admin?.disconnect()
  })
  beforeEach(() => sts.reset())

  it("answers 200 through STS when the client points at a closed port, logs it once, and never waits out ioredis's queue", async () => {
    const port = await closedPort()
    const client = new Redis({ host: '127.0.0.1', port }) // ioredis defaults: it would queue commands while reconnecting
    client.on('error', () => undefined)
    try {
      const instance = startInstance(sts, client, uniquePrefix())
      for (const user of ['alice', 'alice', 'bob']) {
        const started = Date.now()
        await get(instance, user).expect(200)
        assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`)
      }
      assert.equal(sts.calls.length, 2, 'while Redis is out, keys are kept in process')
      assert.deepEqual(
        instance.issues.map((event) => event.cached),
        [false, true, false],
      )
      assert.equal(storeFailures(instance).length, 1, 'one log line for the outage, not one per request')
      assert.match(JSON.stringify(storeFailures(instance)[0]?.details), /not ready/, 'a client that is not ready fails at once')
      assert.ok(instance.router.cacheStats().storeErrors >= 1)
      assert.equal(await instance.router.invalidate('alice'), false, 'invalidate says it could not reach the store')
    } finally {
      client.disconnect()
    }
  })

  it('keeps answering when the client disconnects, and uses Redis again once it is back', async () => {
    const prefix = uniquePrefix()
    const client = await appRedisClient()
    try {
      const instance = startInstance(sts, client, prefix)
      const cached = (await get(instance, 'alice').expect(200)).body as Body
      client.disconnect()
      // Issue 14: a failing store is not a reason to call STS for a key this process holds; a new user gets one from STS.
      const during = (await get(instance, 'alice').expect(200)).body as Body
      assert.equal(during.credentials.tmpSecretId, cached.credentials.tmpSecretId, 'the key held in process is served while Redis is away')
      const newUser = (await get(instance, 'bob').expect(200)).body as Body
      assert.notEqual(newUser.credentials.tmpSecretId, cached.credentials.tmpSecretId)
      assert.equal(storeFailures(instance).length, 1)
      await client.connect()
      await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_AFTER_MS + 100))
      const after = (await get(instance, 'alice').expect(200)).body as Body
      assert.equal(after.credentials.tmpSecretId, cached.credentials.tmpSecretId, 'the key kept in Redis is served again')
      assert.equal(sts.calls.length, 2)
      assert.ok(instance.logger.lines.some((line) => line.message.includes('answers again')))
    } finally {
      client.disconnect()
      await deleteUnder(admin, prefix)
    }
  })

  it('forgets keys kept in process during an outage once Redis is back, so a later outage cannot serve a key invalidated meanwhile', async () => {
    const prefix = uniquePrefix()
    const [clientA, clientB] = [await appRedisClient(), await appRedisClient()]
    try {
      const [a, b] = [startInstance(sts, clientA, prefix), startInstance(sts, clientB, prefix)]
      clientA.disconnect()
      const kept = (await get(a, 'alice').expect(200)).body as Body
      assert.equal(((await get(a, 'alice').expect(200)).body as Body).credentials.tmpSecretId, kept.credentials.tmpSecretId)
      await clientA.connect()
      await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_AFTER_MS + 100))
      await get(a, 'bob').expect(200) // Redis answers again
      assert.equal(await b.router.invalidate('alice'), true) // e.g. alice logs out on another instance
      clientA.disconnect()
      const later = (await get(a, 'alice').expect(200)).body as Body
      assert.notEqual(later.credentials.tmpSecretId, kept.credentials.tmpSecretId)
    } finally {
      clientA.disconnect()
      clientB.disconnect()
      await deleteUnder(admin, prefix)
    }
  })

  it('answers 200 within the store bound while Redis hangs, and uses it again once it answers', async () => {
    const prefix = uniquePrefix()
    const proxy = await startFreezableProxy()
    const client = new Redis({ host: '127.0.0.1', port: proxy.port, lazyConnect: true })
    client.on('error', () => undefined)
    try {
      await client.connect()
      const instance = startInstance(sts, client, prefix)
      const cached = (await get(instance, 'alice').expect(200)).body as Body
      proxy.freeze() // Redis stops answering; the connection stays up and the client stays 'ready'
      const started = Date.now()
      await get(instance, 'bob').expect(200)
      await get(instance, 'alice').expect(200)
      assert.ok(Date.now() - started < 2000, `two answers took ${Date.now() - started} ms`)
      assert.equal(client.status, 'ready')
      assert.equal(storeFailures(instance).length, 1)
      assert.match(JSON.stringify(storeFailures(instance)[0]?.details), /no answer within 200 ms/)
      proxy.thaw()
      await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_AFTER_MS + 100))
      const after = (await get(instance, 'alice').expect(200)).body as Body
      assert.equal(after.credentials.tmpSecretId, cached.credentials.tmpSecretId, 'the key kept in Redis is served again')
    } finally {
      client.disconnect()
      await proxy.close()
      await deleteUnder(admin, prefix)
    }
  })
})

describe('Redis cache store: the subpath', () => {
  it('refuses a missing client or a bad prefix with a ConfigError', () => {
    assert.throws(
      () => createRedisCacheStore({} as never),
      (error: unknown) => error instanceof ConfigError && /redis\.client/.test(error.message),
    )
    assert.throws(
      () => createRedisCacheStore({ client: { status: 'ready', call: async () => null }, prefix: 5 as never }),
      (error: unknown) => error instanceof ConfigError && /redis\.prefix/.test(error.message),
    )
  })

  it('loads nothing Redis from the main entry', () => {
    const script = [
      "require('./src/index.ts')",
      'const redisModules = () => Object.keys(require.cache).filter((name) => /node_modules[\\\\/](ioredis|redis|@redis|rate-limit-redis)[\\\\/]/.test(name)).length',
      'const fromMain = redisModules()',
      "require('ioredis')", // the check itself works: loading ioredis shows up
      'console.log(JSON.stringify({ fromMain, afterIoredis: redisModules() }))',
    ].join('\n')
    const output = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(__dirname, '..'), encoding: 'utf8' })
    const { fromMain, afterIoredis } = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { fromMain: number; afterIoredis: number }
    assert.equal(fromMain, 0)
    assert.ok(afterIoredis > 0)
  })
})

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A TCP proxy to the real Redis whose replies can be held back (a hung Redis) and then delivered late (it recovers). */
async function startFreezableProxy(): Promise<{ port: number; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let frozen = false
  const held: Array<() => void> = []
  const server: Server = createServer((socket) => {
    const upstream = connect(6379, '127.0.0.1')
    for (const end of [socket, upstream]) {
      sockets.add(end)
      end.on('close', () => sockets.delete(end))
      end.on('error', () => undefined)
    }
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => socket.destroy())
    socket.pipe(upstream)
    upstream.on('data', (chunk: Buffer) => {
      if (frozen) held.push(() => socket.write(chunk))
      else socket.write(chunk)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    freeze: () => {
      frozen = true
    },
    thaw: () => {
      frozen = false
      for (const deliver of held.splice(0)) deliver()
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
