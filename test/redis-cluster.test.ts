// Redis Cluster, first class: the cache store's prefix keeps slotting intact, and the store works on a real local 3-master cluster.
import assert from 'node:assert/strict'
import express, { type Express } from 'express'
import type { Cluster } from 'ioredis'
import request from 'supertest'
import { ConfigError, createStsRouter, type StsRouter } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import { capturingLogger } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { startRedisCluster, type LocalRedisCluster } from './support/redis-cluster.js'
import { uniquePrefix } from './support/redis.js'

const client = { status: 'ready', call: async () => null }

describe('Redis Cluster: the cache store prefix', () => {
  it("refuses '{' or '}' in the prefix with a ConfigError naming redis.prefix and the fix", () => {
    for (const prefix of ['app{cos}:', 'a{b:', 'a}b:', '{', '}']) {
      assert.throws(() => createRedisCacheStore({ client, prefix }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${prefix}: ${String(error)}`)
        assert.match(error.message, /`redis\.prefix`/)
        assert.match(error.message, /Fix: drop the braces/)
        return true
      }, prefix)
    }
  })

  it('accepts a prefix without braces', () => {
    for (const prefix of ['cos-sts:', 'myapp:cos-sts:', 'a:b|c-d_e.f:', '']) assert.doesNotThrow(() => createRedisCacheStore({ client, prefix }), prefix)
  })
})

type Body = { credentials: { tmpSecretId: string } }

/** One app instance: its own router and its own ioredis Cluster client, the suite's local STS. */
interface Instance {
  app: Express
  router: StsRouter
  logger: ReturnType<typeof capturingLogger>
}

describe('Redis Cluster: the cache store on a real 3-master cluster', function () {
  this.timeout(30_000) // the cluster starts once for the suite, in about 3 s
  let cluster: LocalRedisCluster
  let sts: LocalSts
  let admin: Cluster
  let prefix: string
  let instances: Instance[]

  before(async () => {
    cluster = await startRedisCluster()
    admin = await cluster.connect()
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
  })
  after(async () => {
    await sts?.close()
    await cluster?.close()
  })
  beforeEach(() => {
    prefix = uniquePrefix()
    instances = []
    sts.reset()
    sts.setLatency(0)
  })
  afterEach(function () {
    if (this.currentTest?.state !== 'passed') return
    // Every test on the cluster: no store call failed (a CROSSSLOT or MOVED would be one, and would silently cost STS calls).
    for (const instance of instances) {
      assert.equal(instance.router.cacheStats().storeErrors, 0, JSON.stringify(instance.logger.lines))
      assert.deepEqual(instance.logger.lines.filter((line) => line.level === 'error'), [])
    }
  })

  async function startInstance(): Promise<Instance> {
    const logger = capturingLogger()
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
      cache: { store: createRedisCacheStore({ client: await cluster.connect(), prefix }) },
      sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 2000 },
      logger,
    })
    const app = express()
    app.use('/creds', router)
    const instance = { app, router, logger }
    instances.push(instance)
    return instance
  }

  const get = async (instance: Instance, user: string) => ((await request(instance.app).get('/creds').set('x-user', user).expect(200)).body as Body).credentials.tmpSecretId

  /** Every key under this test's prefix, by the master that holds it. */
  async function keysByMaster(): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>()
    for (const node of admin.nodes('master')) {
      const keys: string[] = []
      let cursor = '0'
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        keys.push(...batch)
        cursor = next
      } while (cursor !== '0')
      found.set(`${node.options.host}:${node.options.port}`, keys)
    }
    return found
  }

  it('spreads subjects over every master, keeps each subject in one slot, and invalidates there', async () => {
    const instance = await startInstance()
    const users = Array.from({ length: 30 }, (_, i) => `user-${i}`)
    const first = await Promise.all(users.map((user) => get(instance, user)))
    const invalidated = users.slice(0, 10)
    for (const user of invalidated) assert.equal(await instance.router.invalidate(user), true)
    const second = await Promise.all(users.map((user) => get(instance, user)))
    users.forEach((user, i) => {
      if (invalidated.includes(user)) assert.notEqual(second[i], first[i], `${user} was invalidated`)
      else assert.equal(second[i], first[i], `${user} is served from the cluster`)
    })
    assert.equal(sts.calls.length, 40)

    const byMaster = await keysByMaster()
    assert.equal(byMaster.size, 3)
    const tags = new Map<string, string>() // hash tag -> the master holding it
    let entries = 0
    let marks = 0
    for (const [master, keys] of byMaster) {
      assert.ok(keys.some((key) => key.startsWith(`${prefix}k:`)), `master ${master} holds no cached key: subjects do not spread`)
      for (const key of keys) {
        const tag = /\{([^}]+)\}/.exec(key)?.[1]
        assert.ok(tag !== undefined && key.indexOf('{') === key.indexOf(`{${tag}}`), `${key} has no leading subject hash tag`)
        assert.equal(tags.get(tag) ?? master, master, `the keys of one subject sit on two masters: ${key}`)
        tags.set(tag, master)
        if (key.startsWith(`${prefix}k:`)) entries++
        if (key.startsWith(`${prefix}m:`)) marks++
      }
    }
    assert.equal(tags.size, 30, 'one hash tag per subject')
    assert.equal(entries, 30, 'one live entry per subject (an invalidated one is replaced under the same name)')
    assert.equal(marks, 10)
    const slots = new Set(await Promise.all([...tags.keys()].map(async (tag) => Number(await admin.call('CLUSTER', 'KEYSLOT', `{${tag}}`)))))
    assert.ok(slots.size >= 25, `${slots.size} distinct slots for 30 subjects`)
  })

  it('two instances on the cluster share keys: one STS call per scope', async () => {
    const [a, b] = [await startInstance(), await startInstance()]
    const users = Array.from({ length: 12 }, (_, i) => `shared-${i}`)
    const fromA = await Promise.all(users.map((user) => get(a, user)))
    const fromB = await Promise.all(users.map((user) => get(b, user)))
    assert.deepEqual(fromB, fromA)
    assert.equal(sts.calls.length, 12)
    assert.equal(b.router.cacheStats().hits, 12)
    assert.equal(b.router.cacheStats().stsCalls, 0)
  })

  it('three instances asking for the same new scope at once make one STS call (the fill lock works on the cluster)', async () => {
    const all = [await startInstance(), await startInstance(), await startInstance()]
    sts.setLatency(300)
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const before = sts.calls.length
      const keys = await Promise.all(all.map((instance) => get(instance, user)))
      assert.equal(sts.calls.length - before, 1, `${user}: one STS call for three instances`)
      assert.equal(new Set(keys).size, 1)
    }
  })

  it('invalidate on one instance reaches the other, and leaves other subjects alone', async () => {
    const [a, b] = [await startInstance(), await startInstance()]
    const alice = await get(a, 'alice')
    const bob = await get(a, 'bob')
    assert.equal(await b.router.invalidate('alice'), true)
    const aliceAfter = await get(a, 'alice')
    assert.notEqual(aliceAfter, alice)
    assert.equal(await get(b, 'alice'), aliceAfter)
    assert.equal(await get(b, 'bob'), bob)
    assert.equal(sts.calls.length, 3)
  })
})
