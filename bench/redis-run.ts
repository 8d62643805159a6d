// `npm run bench:redis` (also run by `npm run bench`): the Redis store on real redis-server and app processes — hit vs in-memory vs bare, a 300 ms CLIENT PAUSE under load, a burst of new users on 3 instances, bytes per user.
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import autocannon from 'autocannon'
import { createKeyCache } from '../src/cache.js'
import { createRedisCacheStore } from '../src/redis.js'
import { startRedisServer } from '../test/support/redis-server.js'
import { alternate, child, firstLine, fmt, mean, median, pairedRatio, print, type Measured, type Row } from './harness.js'
import { BENCH_BUCKET, BENCH_REGION, BENCH_SECRET_ID, BENCH_SECRET_KEY, KEY_SIZES, keyOfSize } from './keys.js'

const STS_LATENCY_MS = 50
const SECONDS = 2 // per measured round of a hit case; each route gets one 1 s warm-up first
const ROUNDS = 8 // bare, memory hit and Redis hit take turns this many times, compared round by round
const CONNECTIONS = 50
const USERS = 1000
const INSTANCES = 3
const PAUSE = { ms: 300, atMs: 1000, loadSeconds: 3 }
const BURST_USERS = 300
const BURST_MS = 1000
/** `BENCH_CASES=burst,pause npm run bench:redis` runs only those cases (hit, pause, burst, size); all by default. */
const CASES = new Set((process.env['BENCH_CASES'] ?? 'hit,pause,burst,size').split(','))

interface App {
  url: string
}

async function main(): Promise<void> {
  const children: ChildProcess[] = []
  const started = (spawned: ChildProcess): ChildProcess => {
    children.push(spawned)
    return spawned
  }
  const redis = await startRedisServer()
  try {
    const sts = await firstLine<{ endpoint: string; control: string }>(started(child('sts-process.ts', [String(STS_LATENCY_MS)])))
    const prefix = `bench:${randomBytes(4).toString('hex')}:`
    const apps = await Promise.all(
      Array.from({ length: INSTANCES }, () => firstLine<App>(started(child('redis-app-process.ts', [sts.endpoint, String(redis.port), prefix])))),
    )
    const rows: Row[] = []
    const stsCalls = async () => ((await (await fetch(`${sts.control}/`)).json()) as { calls: number }).calls
    const stats = async (app: App, router: string) =>
      (await (await fetch(`${app.url}/stats/${router}`)).json()) as {
        stsCalls: number
        storeErrors: number
        hits: number
        joined: number
        misses: number
        cpuMicros: number
      }
    const user = (i: number) => `user-${i}`

    // 1. Hits at 50 connections over 1,000 users: bare Express, the in-process cache, the Redis store (with its first level).
    const [main] = apps as [App, ...App[]]
    if (CASES.has('hit')) {
      await each(USERS, 50, (i) => status(main, '/memory', user(i)))
      await each(USERS, 50, (i) => status(main, '/redis', user(i)))
      for (const route of ['bare', 'memory', 'redis']) await load(main, `/${route}`, CONNECTIONS, 1) // connections open, JIT settled
      const measured = await alternate(['bare', 'memory', 'redis'] as const, ROUNDS, (route) => rate(main, route, () => stats(main, 'memory')))
      const [bare, memory, redisHit] = (['bare', 'memory', 'redis'] as const).map((route) => ({
        rate: median(measured[route].map((m) => m.rate)),
        cpu: mean(measured[route].map((m) => m.cpuMicrosPerRequest)),
      })) as [{ rate: number; cpu: number }, { rate: number; cpu: number }, { rate: number; cpu: number }]
      const redisVsMemory = pairedRatio(measured.redis, measured.memory)
      const redisStats = await stats(main, 'redis')
      rows.push({
        case: `bare Express, same JSON (${CONNECTIONS} conn.)`,
        figure: `${fmt(bare.rate)} req/s; server CPU ${bare.cpu.toFixed(0)} µs/req`,
        target: '',
        met: undefined,
      })
      rows.push({
        case: `in-memory cache hit, ${fmt(USERS)} users (${CONNECTIONS} conn.)`,
        figure: `${fmt(memory.rate)} req/s = ${pairedRatio(measured.memory, measured.bare).median.toFixed(2)}× bare; server CPU ${memory.cpu.toFixed(0)} µs/req`,
        target: '',
        met: undefined,
      })
      rows.push({
        case: `Redis-store hit, ${fmt(USERS)} users (${CONNECTIONS} conn.)`,
        figure: `${fmt(redisHit.rate)} req/s = ${redisVsMemory.median.toFixed(2)}× in-memory (median of ${ROUNDS} rounds; ratio of means ${redisVsMemory.mean.toFixed(2)}×), ${pairedRatio(measured.redis, measured.bare).median.toFixed(2)}× bare; server CPU ${redisHit.cpu.toFixed(0)} µs/req; ${redisStats.stsCalls} STS calls, ${redisStats.storeErrors} store errors`,
        target: '≥ 0.9× in-memory hit',
        met: redisVsMemory.median >= 0.9,
      })
    }

    // 2. A 300 ms CLIENT PAUSE under load on 3 instances: STS calls it causes, per process.
    if (CASES.has('pause')) {
      await each(USERS * INSTANCES, 50, (i) => status(apps[i % INSTANCES]!, '/pause', user(Math.floor(i / INSTANCES))))
      const before = await Promise.all(apps.map((app) => stats(app, 'pause')))
      const admin = await redis.connect()
      const paused = new Promise((resolve) => setTimeout(resolve, PAUSE.atMs)).then(() => admin.call('CLIENT', 'PAUSE', String(PAUSE.ms), 'ALL'))
      const loads = await Promise.all(apps.map((app) => load(app, '/pause', Math.ceil(CONNECTIONS / INSTANCES), PAUSE.loadSeconds)))
      await paused
      const after = await Promise.all(apps.map((app) => stats(app, 'pause')))
      const extra = after.map((stat, i) => stat.stsCalls - before[i]!.stsCalls)
      const storeErrors = after.map((stat, i) => stat.storeErrors - before[i]!.storeErrors)
      const served = loads.reduce((sum, result) => sum + result.requests.total, 0)
      const failed = loads.reduce((sum, result) => sum + result.non2xx + result.errors, 0)
      rows.push({
        case: `${PAUSE.ms} ms CLIENT PAUSE under load (${INSTANCES} instances, first level 100 ms, ${CONNECTIONS} conn., ${fmt(USERS)} users, ${PAUSE.loadSeconds} s)`,
        figure: `STS calls per process: ${extra.join(', ')}; store errors per process: ${storeErrors.join(', ')}; ${fmt(served)} requests, ${failed} not 200`,
        target: '≤ 20 STS calls per process, all 200',
        met: Math.max(...extra) <= 20 && failed === 0 && storeErrors.some((count) => count > 0),
      })
    }

    // 3. A burst of 300 new users, each asking all 3 instances at once: STS calls, and how long a waiter lags the fill.
    if (CASES.has('burst')) {
      const stsBefore = await stsCalls()
      // A socket for every request: a request queued in the agent would count its queueing as lag.
      const agents = apps.map(() => new http.Agent({ keepAlive: true, maxSockets: BURST_USERS }))
      const answered: number[][] = Array.from({ length: BURST_USERS }, () => [])
      const statuses: number[] = []
      // The users arrive within BURST_MS (one every few ms); each user's three requests leave together.
      await Promise.all(
        Array.from({ length: BURST_USERS * INSTANCES }, async (_, i) => {
          const u = Math.floor(i / INSTANCES)
          await new Promise((resolve) => setTimeout(resolve, (u * BURST_MS) / BURST_USERS))
          statuses.push(await status(apps[i % INSTANCES]!, '/burst', `burst-${u}`, agents[i % INSTANCES]))
          answered[u]!.push(performance.now())
        }),
      )
      for (const agent of agents) agent.destroy()
      const burstCalls = (await stsCalls()) - stsBefore
      // A user's first answer comes from the instance that filled: it answers as its SET lands, so that answer marks the fill
      // landing. The instances whose request arrived before it waited for that fill (the target); one whose request arrived
      // later did not wait, it was only slow to get to it. Times are taken in the app processes, on a clock they share.
      const perSubject = new Map<string, Array<{ arrived: number; answered: number }>>()
      for (const app of apps) {
        for (const answer of (await (await fetch(`${app.url}/answers/burst`)).json()) as Array<{ subject: string; arrived: number; answered: number }>) {
          perSubject.set(answer.subject, [...(perSubject.get(answer.subject) ?? []), answer])
        }
      }
      const waited: number[] = []
      for (const answers of perSubject.values()) {
        const [fill, ...others] = [...answers].sort((a, b) => a.answered - b.answered)
        for (const other of others) if (fill !== undefined && other.arrived < fill.answered) waited.push(other.answered - fill.answered)
      }
      waited.sort((a, b) => a - b)
      const lags = lagsAfterFirst([...perSubject.values()].map((answers) => answers.map((answer) => answer.answered)))
      const clientLags = lagsAfterFirst(answered)
      const p99 = percentile(waited, 0.99)
      const burstStats = await Promise.all(apps.map((app) => stats(app, 'burst')))
      rows.push({
        case: `burst: ${BURST_USERS} new users within ${BURST_MS} ms, each on ${INSTANCES} instances at once`,
        figure: `${burstCalls} STS calls; ${statuses.filter((code) => code === 200).length} × 200 of ${statuses.length}; joined ${burstStats.map((stat) => stat.joined).join(', ')}; ${waited.length} waiters got the key p50 ${percentile(waited, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms after the fill landed; all ${lags.length} other answers came p99 ${percentile(lags, 0.99).toFixed(1)} ms after the first (${percentile(clientLags, 0.99).toFixed(1)} ms as the load generator saw them)`,
        target: `exactly ${BURST_USERS} STS calls; waiters' p99 ≤ 100 ms`,
        met:
          burstCalls === BURST_USERS &&
          p99 <= 100 &&
          waited.length > 0 &&
          lags.length === BURST_USERS * (INSTANCES - 1) &&
          statuses.every((code) => code === 200),
      })
    }

    // 4. What one user costs in Redis: the sealed entry and the mark, as MEMORY USAGE reports them.
    for (const sizes of CASES.has('size') ? (['local-STS-sized', 'documented-max'] as const) : []) {
      const bytes = await bytesPerUser(await redis.connect(), `${prefix}size-${sizes}:`, KEY_SIZES[sizes === 'documented-max' ? 'documented-max' : 'typical'])
      rows.push({
        case: `Redis bytes per user, ${sizes === 'documented-max' ? "keys at STS's documented maxima" : 'local-STS-sized keys'}`,
        figure: `${fmt(bytes.total)} B (entry ${fmt(bytes.entry)} B, of which sealed value ${fmt(bytes.value)} chars; mark ${fmt(bytes.mark)} B)`,
        target: '',
        met: undefined,
      })
    }

    print(
      `express-cos-sts Redis store — Node ${process.version}, redis-server on a free port, local STS latency ${STS_LATENCY_MS} ms, hit cases in ${ROUNDS} alternating rounds of ${SECONDS} s`,
      rows,
    )
    if (rows.some((row) => row.met === false)) process.exitCode = 1
  } finally {
    for (const spawned of children) spawned.kill()
    await redis.close()
  }
}

/** Requests per second over USERS users for SECONDS, and the app's CPU per request; any non-2xx aborts. */
async function rate(app: App, route: string, cpuOf: () => Promise<{ cpuMicros: number }>): Promise<Measured> {
  const cpuBefore = (await cpuOf()).cpuMicros
  const result = await load(app, `/${route}`, CONNECTIONS, SECONDS)
  const cpuMicrosPerRequest = ((await cpuOf()).cpuMicros - cpuBefore) / result.requests.total
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${route}: ${result.non2xx} non-2xx answers and ${result.errors} errors`)
  return { rate: result.requests.total / result.duration, cpuMicrosPerRequest }
}

/** For each subject's answer times, how long after its first answer each other one came, sorted. */
function lagsAfterFirst(timesPerSubject: number[][]): number[] {
  return timesPerSubject
    .flatMap((times) => {
      const sorted = [...times].sort((a, b) => a - b)
      return sorted.slice(1).map((time) => time - (sorted[0] as number))
    })
    .sort((a, b) => a - b)
}

/** The value below which `share` of the sorted values lie. */
function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * share) - 1))] ?? 0
}

function load(app: App, path: string, connections: number, seconds: number) {
  let next = 0
  return autocannon({
    url: `${app.url}${path}`,
    connections,
    duration: seconds,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'x-user': `user-${next++ % USERS}` } }) }],
  })
}

async function status(app: App, path: string, user: string, agent?: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${app.url}${path}`, { headers: { 'x-user': user }, agent: agent ?? false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
  })
}

/** Runs `task(0..count-1)` with at most `parallel` at once; fails on any answer but 200. */
async function each(count: number, parallel: number, task: (i: number) => Promise<number>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++
        const code = await task(i)
        if (code !== 200) throw new Error(`warm-up request ${i} answered ${code}`)
      }
    }),
  )
}

async function bytesPerUser(client: import('ioredis').Redis, prefix: string, sizes: { id: number; key: number; token: number }) {
  const cache = createKeyCache({
    max: 10,
    minRemainingSeconds: 300,
    store: createRedisCacheStore({ client, prefix }),
    secretId: BENCH_SECRET_ID,
    secretKey: BENCH_SECRET_KEY,
    mode: 'GetFederationToken',
    fillTimeoutMs: 5000,
    logger: console,
  })
  const key = keyOfSize(sizes)
  const policy = {
    version: '2.0' as const,
    statement: [
      { effect: 'allow' as const, action: ['name/cos:PutObject'], resource: [`qcs::cos:${BENCH_REGION}:uid/1250000000:${BENCH_BUCKET}/uploads/size/*`] },
    ],
  }
  await cache.issue({ subject: 'size', bucket: BENCH_BUCKET, region: BENCH_REGION, policy, durationSeconds: 1800 }, async () => key)
  const names = await client.keys(`${prefix}*`)
  const usage = async (pattern: string) => {
    const name = names.find((candidate) => candidate.startsWith(`${prefix}${pattern}`))
    return name === undefined ? 0 : Number(await client.call('MEMORY', 'USAGE', name))
  }
  const entryName = names.find((name) => name.startsWith(`${prefix}k:`)) ?? ''
  const [entry, mark, value] = [await usage('k:'), await usage('m:'), await client.strlen(entryName)]
  client.disconnect()
  return { entry, mark, value, total: entry + mark }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
