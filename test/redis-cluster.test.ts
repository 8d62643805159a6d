// Redis Cluster, first class: the cache store's prefix keeps slotting intact, and the store works on a real local 3-master cluster.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import express, { type Express } from 'express'
import type { Cluster } from 'ioredis'
import { RedisStore, type RedisReply } from 'rate-limit-redis'
import request from 'supertest'
import { ConfigError, createStsRouter, type CacheOptions, type StsRouter } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import { capturingLogger, startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { recipeStores, RECIPE_CLIENT_OPTIONS } from './support/rate-limit-cluster.js'
import { startRedisCluster, type LocalRedisCluster } from './support/redis-cluster.js'
import { uniquePrefix } from './support/redis.js'

const client = { status: 'ready', call: async () => null }

describe('Redis Cluster: the cache store prefix', () => {
  it("refuses '{' or '}' in the prefix with a ConfigError naming redis.prefix and the fix", () => {
    for (const prefix of ['app{cos}:', 'a{b:', 'a}b:', '{', '}']) {
      assert.throws(
        () => createRedisCacheStore({ client, prefix }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `${prefix}: ${String(error)}`)
          assert.match(error.message, /`redis\.prefix`/)
          assert.match(error.message, /Fix: drop the braces/)
          return true
        },
        prefix,
      )
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

describe('Redis Cluster: a real local 3-master cluster', function () {
  this.timeout(30_000) // the cluster starts once for both parts, in about 3 s
  let cluster: LocalRedisCluster
  let admin: Cluster

  before(async () => {
    cluster = await startRedisCluster()
    admin = await cluster.connect()
  })
  after(async () => {
    await cluster?.close()
  })

  /** Every key under `prefix`, by the master that holds it. */
  async function keysByMaster(prefix: string): Promise<Map<string, string[]>> {
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

  it('the braces redis.prefix refuses really break slotting on a cluster (one slot for all, or CROSSSLOT)', async () => {
    const slot = async (key: string) => Number(await admin.call('CLUSTER', 'KEYSLOT', key))
    // The store's names for two subjects, under a prefix without braces: the subject's tag decides the slot.
    assert.notEqual(await slot('ok:k:{subject-a}:scope'), await slot('ok:k:{subject-b}:scope'))
    // 'app{cos}:' tags every name with 'cos': every subject in one slot, on one master.
    assert.equal(await slot('app{cos}:k:{subject-a}:scope'), await slot('app{cos}:k:{subject-b}:scope'))
    // 'a{b:' tags with 'b:k:{subject-a' vs 'b:m:{subject-a': one subject's names in different slots, and a lookup reading them fails.
    await assert.rejects(admin.call('MGET', 'a{b:k:{subject-a}:scope', 'a{b:m:{subject-a}'), /CROSSSLOT/)
    await admin.call('MGET', 'ok:k:{subject-a}:scope', 'ok:m:{subject-a}', 'ok:l:{subject-a}:scope') // the same lookup, without braces: one slot
  })

  describe('the cache store', () => {
    let sts: LocalSts
    let prefix: string
    let instances: Instance[]

    before(async () => {
      sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
    })
    after(async () => {
      await sts?.close()
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
        assert.deepEqual(
          instance.logger.lines.filter((line) => line.level === 'error'),
          [],
        )
      }
    })

    async function startInstance(cache: Partial<CacheOptions> = {}): Promise<Instance> {
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
        cache: { store: createRedisCacheStore({ client: await cluster.connect(), prefix }), ...cache },
        sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 2000 },
        logger,
      })
      const app = express()
      app.use('/creds', router)
      const instance = { app, router, logger }
      instances.push(instance)
      return instance
    }

    // Requests one after the other where concurrency is not the point: a burst on a busy 2-core machine can starve the
    // three redis-servers past the store's 200 ms bound, and a late answer is a (correct) fallback to STS, not a result.
    const inTurn = async (users: string[], ask: (user: string) => Promise<string>) => {
      const keys: string[] = []
      for (const user of users) keys.push(await ask(user))
      return keys
    }
    /** The store failures the instances logged, for assertion messages: a count off by a few is a late store answer. */
    const storeTrouble = () => JSON.stringify(instances.flatMap((instance) => instance.logger.lines.filter((line) => line.level === 'error')))
    const get = async (instance: Instance, user: string) =>
      ((await request(instance.app).get('/creds').set('x-user', user).expect(200)).body as Body).credentials.tmpSecretId

    it('spreads subjects over every master, keeps each subject in one slot, and invalidates there', async () => {
      const instance = await startInstance()
      const users = Array.from({ length: 30 }, (_, i) => `user-${i}`)
      const first = await inTurn(users, (user) => get(instance, user))
      const invalidated = users.slice(0, 10)
      for (const user of invalidated) assert.equal(await instance.router.invalidate(user), true)
      const second = await inTurn(users, (user) => get(instance, user))
      users.forEach((user, i) => {
        if (invalidated.includes(user)) assert.notEqual(second[i], first[i], `${user} was invalidated`)
        else assert.equal(second[i], first[i], `${user} is served from the cluster`)
      })
      assert.equal(sts.calls.length, 40, storeTrouble())

      const byMaster = await keysByMaster(prefix)
      assert.equal(byMaster.size, 3)
      const tags = new Map<string, string>() // hash tag -> the master holding it
      let entries = 0
      for (const [master, keys] of byMaster) {
        assert.ok(
          keys.some((key) => key.startsWith(`${prefix}k:`)),
          `master ${master} holds no cached key: subjects do not spread`,
        )
        for (const key of keys) {
          const tag = /\{([^}]+)\}/.exec(key)?.[1]
          assert.ok(tag !== undefined && key.indexOf('{') === key.indexOf(`{${tag}}`), `${key} has no leading subject hash tag`)
          assert.equal(tags.get(tag) ?? master, master, `the keys of one subject sit on two masters: ${key}`)
          tags.set(tag, master)
          if (key.startsWith(`${prefix}k:`)) entries++
        }
      }
      assert.equal(tags.size, 30, `one hash tag per subject; ${storeTrouble()}`)
      assert.equal(entries, 30, `one live entry per subject (an invalidated one is replaced under the same name); ${storeTrouble()}`)
      const slots = new Set(await Promise.all([...tags.keys()].map(async (tag) => Number(await admin.call('CLUSTER', 'KEYSLOT', `{${tag}}`)))))
      assert.ok(slots.size >= 25, `${slots.size} distinct slots for 30 subjects`)
    })

    it('two instances on the cluster share keys: one STS call per scope', async () => {
      const [a, b] = [await startInstance(), await startInstance()]
      const users = Array.from({ length: 12 }, (_, i) => `shared-${i}`)
      const fromA = await inTurn(users, (user) => get(a, user))
      const fromB = await inTurn(users, (user) => get(b, user))
      assert.deepEqual(fromB, fromA)
      assert.equal(sts.calls.length, 12, storeTrouble())
      assert.equal(b.router.cacheStats().hits, 12)
      assert.equal(b.router.cacheStats().stsCalls, 0)
    })

    it('three instances asking for the same new scope at once make one STS call (the fill lock works on the cluster)', async () => {
      const all = [await startInstance(), await startInstance(), await startInstance()]
      sts.setLatency(300)
      for (const user of ['alice', 'bob', 'carol', 'dave']) {
        const before = sts.calls.length
        const keys = await Promise.all(all.map((instance) => get(instance, user)))
        assert.equal(sts.calls.length - before, 1, `${user}: one STS call for three instances; ${storeTrouble()}`)
        assert.equal(new Set(keys).size, 1)
      }
    })

    it('invalidate on one instance reaches the other through pub/sub on the cluster, and leaves other subjects alone', async () => {
      // A first level kept 60 s: within this test only the invalidation message can make a look at the cluster again.
      const [a, b] = [await startInstance({ firstLevelTtlMs: 60_000 }), await startInstance({ firstLevelTtlMs: 60_000 })]
      const alice = await get(a, 'alice')
      const bob = await get(a, 'bob')
      assert.equal(await b.router.invalidate('alice'), true)
      const aliceAfter = await get(b, 'alice')
      assert.notEqual(aliceAfter, alice)
      // a serves its in-process copy until the message arrives; then b's new key, the one shared through the cluster
      // (a key of a's own would be a second STS call for one scope).
      let fromA = alice
      await waitFor(
        async () => (fromA = await get(a, 'alice')) === aliceAfter,
        5000,
        () => {
          const served = fromA === alice ? 'the invalidated key' : 'a key of its own, not the one b shared'
          return `a still serves ${served}; STS calls ${sts.calls.length}; cache stats a ${JSON.stringify(a.router.cacheStats())} b ${JSON.stringify(b.router.cacheStats())}; ${storeTrouble()}`
        },
      )
      assert.equal(await get(a, 'bob'), bob)
      assert.equal(await get(b, 'bob'), bob)
      assert.equal(sts.calls.length, 3, storeTrouble())
    })
  })

  describe("rate limits with docs/rate-limits.md's cluster recipe", () => {
    const fixtures: Fixture[] = []
    let run = 0
    let prefix = ''
    // rate-limit-redis's two Lua scripts; their SHA1s are what SCRIPT LOAD answers.
    let scriptShas: string[] = []

    beforeEach(async () => {
      prefix = `${uniquePrefix()}rl${run++}:`
      // Every master without the scripts, as right after the cluster starts (or after a failover to a replica without them).
      await flushScriptsEverywhere()
    })
    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.close()
    })

    async function flushScriptsEverywhere(): Promise<void> {
      await Promise.all(admin.nodes('master').map((node) => node.script('FLUSH')))
    }

    /** For each master, which of the scripts it holds (1) or lacks (0). */
    async function scriptsOnMasters(): Promise<number[][]> {
      return Promise.all(admin.nodes('master').map(async (node) => (await node.call('SCRIPT', 'EXISTS', ...scriptShas)) as number[]))
    }

    /** `count` app instances, each with its own Cluster client and the recipe's two stores; per-subject limit `limit`. */
    async function instances(count: number, limit: number): Promise<Fixture[]> {
      const made = await Promise.all(
        Array.from({ length: count }, async () => {
          const storeWithPrefix = recipeStores(await cluster.connect(RECIPE_CLIENT_OPTIONS))
          const ip = storeWithPrefix(`${prefix}ip:`)
          const subject = storeWithPrefix(`${prefix}subject:`)
          const fixture = await startFixture({ rateLimit: { perIp: { limit: 10_000, store: ip }, perSubject: { limit, store: subject } } })
          scriptShas = await Promise.all([subject.incrementScriptSha, subject.getScriptSha])
          return fixture
        }),
      )
      fixtures.push(...made)
      return made
    }

    /**
     * `perSubject` requests for each subject, round robin over the instances: each subject's first one after the other
     * (one request alone is where a missing script shows: no concurrent load can hide it), the rest all at once.
     */
    async function burst(all: Fixture[], subjects: string[], perSubject: number): Promise<Map<string, number[]>> {
      const ask = (subject: string, i: number) =>
        request(all[i % all.length]!.app)
          .get('/creds')
          .set('x-user', subject)
          .then((res) => res.status)
      const bySubject = new Map<string, number[]>(subjects.map((subject) => [subject, []]))
      for (const [i, subject] of subjects.entries()) bySubject.get(subject)!.push(await ask(subject, i))
      const rest = subjects.flatMap((subject) => Array.from({ length: perSubject - 1 }, () => subject))
      const statuses = await Promise.all(rest.map((subject, i) => ask(subject, i)))
      rest.forEach((subject, i) => bySubject.get(subject)!.push(statuses[i]!))
      return bySubject
    }

    const served = (statuses: number[]) => statuses.filter((status) => status === 200).length
    const storeErrors = (all: Fixture[]) => all.flatMap((fixture) => fixture.logger.lines.filter((line) => line.level === 'error'))

    it('loads the scripts on every master before the first request (the single-node recipe leaves masters without them)', async () => {
      await instances(1, 10)
      assert.deepEqual(await scriptsOnMasters(), [
        [1, 1],
        [1, 1],
        [1, 1],
      ])

      // The control: the single-node recipe (sendCommand through cluster.call) loads each script on one random master.
      await flushScriptsEverywhere()
      const client = await cluster.connect(RECIPE_CLIENT_OPTIONS)
      const plain = new RedisStore({
        prefix: `${prefix}plain:`,
        sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply>,
      })
      await plain.init({ windowMs: 60_000 } as Parameters<RedisStore['init']>[0])
      const holding = (await scriptsOnMasters()).map(([increment]) => increment)
      assert.equal(holding.filter((has) => has === 1).length, 1, `the increment script on ${holding.join()} of the masters`)
    })

    it('three instances share per-subject limits exactly, from the first request on a cluster without scripts', async () => {
      const all = await instances(3, 10)
      const subjects = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']
      // Each instance gets about a third of a subject's 15 requests, under the limit alone: 5 refusals means the counts are shared.
      const bySubject = await burst(all, subjects, 15)
      for (const [subject, statuses] of bySubject) {
        assert.equal(served(statuses), 10, `${subject}: ${statuses.join()}`)
        assert.equal(statuses.filter((status) => status === 429).length, 5, `${subject}: ${statuses.join()}`)
      }
      assert.equal(
        all.reduce((sum, fixture) => sum + fixture.sts.calls.length, 0),
        60,
      )
      assert.deepEqual(storeErrors(all), [])
      // The counters live on several masters, not one.
      const mastersWithCounts = [...(await keysByMaster(`${prefix}subject:`)).values()].filter((keys) => keys.length > 0)
      assert.ok(mastersWithCounts.length >= 2, `subject counters on ${mastersWithCounts.length} master(s)`)
      assert.equal(mastersWithCounts.flat().length, subjects.length)
    })

    it('scripts lost mid-window (a failover to a replica without them): the NOSCRIPT retry loads them everywhere, limits stay exact', async () => {
      const all = await instances(3, 10)
      const subjects = ['alice', 'bob', 'carol', 'dave']
      const before = await burst(all, subjects, 4)
      await flushScriptsEverywhere()
      const after = await burst(all, subjects, 11)
      for (const subject of subjects) {
        const statuses = [...before.get(subject)!, ...after.get(subject)!]
        assert.equal(served(statuses), 10, `${subject}: ${statuses.join()}`)
        assert.equal(statuses.filter((status) => status === 429).length, 5, `${subject}: ${statuses.join()}`)
      }
      assert.deepEqual(storeErrors(all), [])
      // The increment script is back on every master (the get script is not used by a request; it loads when it is).
      assert.deepEqual(
        (await scriptsOnMasters()).map(([increment]) => increment),
        [1, 1, 1],
      )
    })

    it('docs/rate-limits.md shows exactly the code these tests run', () => {
      const recipe = readFileSync(join(__dirname, 'support', 'rate-limit-cluster.ts'), 'utf8')
      const marked = /\/\/ recipe:start\n([\s\S]*?)\n\s*\/\/ recipe:end/.exec(recipe)?.[1]
      assert.ok(marked, 'recipe markers missing')
      const doc = readFileSync(join(__dirname, '..', 'docs', 'rate-limits.md'), 'utf8')
      const docLines = doc.split('\n').map((line) => line.trim())
      const recipeLines = marked.split('\n').map((line) => line.trim())
      const at = docLines.indexOf(recipeLines[0]!)
      assert.ok(at >= 0, 'the recipe is not in docs/rate-limits.md')
      assert.deepEqual(docLines.slice(at, at + recipeLines.length), recipeLines)
      const options = /new Cluster\(\[[^\]]*\], (\{[^\n]*\})\)/.exec(doc)?.[1]
      const tested = `{ ${Object.entries(RECIPE_CLIENT_OPTIONS)
        .map(([name, value]) => `${name}: ${String(value)}`)
        .join(', ')} }`
      assert.equal(options, tested, 'the Cluster client options in the doc')
    })
  })
})

/** Polls `condition` every 20 ms; fails after `timeoutMs`, saying `explain()`. */
async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, explain: () => string = () => ''): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms ${explain()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
