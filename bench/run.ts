// `npm run bench`: the key cache's figures in one run — hit vs bare Express, cached vs uncached, 10,000 requests over 500 subjects, memory at 100,000 subjects.
import type { ChildProcess } from 'node:child_process'
import autocannon from 'autocannon'
import { alternate, child, firstLine, fmt, mean, median, pairedRatio, print, type Measured, type Row } from './harness.js'

const STS_LATENCY_MS = 50
const SECONDS = 1.5 // per measured round; each route gets one 1 s warm-up first
const ROUNDS = 10 // bare, cache hit and bare-raw take turns this many times: many short rounds, so one busy moment of a shared machine decides nothing
const UNCACHED_SECONDS = 3 // cache: false is bound by STS latency, steady enough for one longer round
const HIT_CONNECTIONS = 10
const LOW_CONNECTIONS = 5
const LOAD = { requests: 10_000, subjects: 500, connections: 100 }
const MEMORY_SUBJECTS = 100_000
const FOLDER = { files: 100, bytes: Math.round(1.1 * 1024 * 1024) }

async function main(): Promise<void> {
  const children: ChildProcess[] = []
  const started = (spawned: ChildProcess): ChildProcess => {
    children.push(spawned)
    return spawned
  }
  try {
    const sts = await firstLine<{ endpoint: string; control: string }>(started(child('sts-process.ts', [String(STS_LATENCY_MS)])))
    const app = await firstLine<{ url: string }>(started(child('app-process.ts', [sts.endpoint])))
    const rows: Row[] = []
    const user = { 'x-user': 'bench' }

    const measure = (path: string, connections: number, seconds = SECONDS) => rate(`${app.url}${path}`, connections, user, `${app.url}/stats/cached`, seconds)

    // 1. Cache hits against Express answering the same JSON: short alternating rounds, compared round by round.
    for (const path of ['/bare', '/cached', '/bare-raw']) await warmUp(`${app.url}${path}`, HIT_CONNECTIONS, user)
    const hits = await alternate(['bare', 'cached', 'bare-raw'] as const, ROUNDS, (route) => measure(`/${route}`, HIT_CONNECTIONS))
    const cpu = (measured: Measured[]) => mean(measured.map((m) => m.cpuMicrosPerRequest))
    const vsBare = pairedRatio(hits.cached, hits.bare)
    const vsRaw = pairedRatio(hits.cached, hits['bare-raw'])
    rows.push({
      case: `bare Express, same JSON (${HIT_CONNECTIONS} conn.)`,
      figure: `${fmt(median(hits.bare.map((m) => m.rate)))} req/s; server CPU ${cpu(hits.bare).toFixed(0)} µs/req`,
      target: '',
      met: undefined,
    })
    rows.push({
      case: `bare Express, same JSON written like the router: no ETag (${HIT_CONNECTIONS} conn.)`,
      figure: `${fmt(median(hits['bare-raw'].map((m) => m.rate)))} req/s; server CPU ${cpu(hits['bare-raw']).toFixed(0)} µs/req; cache hit = ${vsRaw.median.toFixed(2)}× this`,
      target: '',
      met: undefined,
    })
    rows.push({
      case: `cache hit (${HIT_CONNECTIONS} conn.)`,
      figure: `${fmt(median(hits.cached.map((m) => m.rate)))} req/s = ${vsBare.median.toFixed(2)}× bare (median of ${ROUNDS} rounds; ratio of means ${vsBare.mean.toFixed(2)}×); server CPU ${cpu(hits.cached).toFixed(0)} µs/req = ${(cpu(hits.bare) / cpu(hits.cached)).toFixed(2)}× bare's rate`,
      target: '≥ 0.95× bare res.json',
      met: vsBare.median >= 0.95,
    })

    // 2. Cached vs cache: false at low concurrency, where the uncached side is bound by STS latency (connections / 50 ms).
    await warmUp(`${app.url}/cached`, LOW_CONNECTIONS, user)
    const lowHit = median((await alternate(['cached'] as const, ROUNDS / 2, () => measure('/cached', LOW_CONNECTIONS))).cached.map((m) => m.rate))
    await warmUp(`${app.url}/uncached`, LOW_CONNECTIONS, user)
    const lowUncached = (await measure('/uncached', LOW_CONNECTIONS, UNCACHED_SECONDS)).rate
    rows.push({ case: `cache hit (${LOW_CONNECTIONS} conn.)`, figure: `${fmt(lowHit)} req/s (median of ${ROUNDS / 2} rounds)`, target: '', met: undefined })
    rows.push({
      case: `cache: false (${LOW_CONNECTIONS} conn., STS ${STS_LATENCY_MS} ms)`,
      figure: `${fmt(lowUncached)} req/s; cached = ${(lowHit / lowUncached).toFixed(0)}×`,
      target: '≥ 50×',
      met: lowHit / lowUncached >= 50,
    })

    // 3. 10,000 requests over 500 subjects at concurrency 100, on a fresh router: STS must see each subject once.
    await fetch(`${sts.control}/reset`, { method: 'POST' })
    let next = 0
    const load = await autocannon({
      url: `${app.url}/load`,
      connections: LOAD.connections,
      amount: LOAD.requests,
      requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'x-user': `subject-${next++ % LOAD.subjects}` } }) }],
    })
    const stsCalls = ((await (await fetch(`${sts.control}/`)).json()) as { calls: number }).calls
    const loadStats = (await (await fetch(`${app.url}/stats/load`)).json()) as { hits: number; misses: number; joined: number }
    const loadOk = load.requests.total - load.non2xx
    rows.push({
      case: `${fmt(LOAD.requests)} req. over ${LOAD.subjects} subjects (${LOAD.connections} conn.)`,
      figure: `${stsCalls} STS calls; ${fmt(loadOk)} × 200, ${load.non2xx} other, ${load.errors} errors; ${loadStats.misses} misses, ${loadStats.joined} joined, ${loadStats.hits} hits`,
      target: `exactly ${LOAD.subjects} STS calls`,
      met: stsCalls === LOAD.subjects && load.non2xx === 0 && load.errors === 0 && load.requests.total === LOAD.requests,
    })

    // 4. Memory: the cache alone, in a fresh process, fed 100,000 distinct subjects at its default bound.
    for (const sizes of ['typical', 'documented-max'] as const) {
      const memory = await firstLine<{
        entries: number
        max: number
        rssGrowthMb: number
        rssGrowthRightAfterMb: number
        peakRssMb: number
        heapGrowthMb: number
      }>(started(child('memory-process.ts', [sizes, String(MEMORY_SUBJECTS)], ['--expose-gc'])))
      rows.push({
        case: `${fmt(MEMORY_SUBJECTS)} distinct subjects, ${sizes === 'typical' ? 'local-STS-sized keys' : "keys at STS's documented maxima"}`,
        figure: `RSS +${memory.rssGrowthMb.toFixed(0)} MB settled (+${memory.rssGrowthRightAfterMb.toFixed(0)} right after, peak ${memory.peakRssMb.toFixed(0)} MB; heap +${memory.heapGrowthMb.toFixed(0)} MB), ${fmt(memory.entries)} entries (max ${fmt(memory.max)})`,
        target: '≤ 150 MB settled, ≤ cache.max',
        met: memory.rssGrowthMb <= 150 && memory.entries <= memory.max,
      })
    }

    // 5. A folder of multipart files as the README's front end uploads it (cos-nodejs-sdk-v5, default options): one STS call per file.
    const folder = await firstLine<{
      files: number
      seconds: number
      failed: number
      stored: number
      routeRequests: number
      tooMany: number
      stsCalls: number
    }>(started(child('folder-process.ts', [String(FOLDER.files), String(FOLDER.bytes)])))
    rows.push({
      case: `a folder of ${FOLDER.files} multipart files (${(FOLDER.bytes / 1024 / 1024).toFixed(1)} MB, uploadFiles, each step's Scope, default limits)`,
      figure: `${folder.routeRequests} route requests, ${folder.stsCalls} STS calls, ${folder.tooMany} × 429, ${folder.stored}/${folder.files} stored in ${folder.seconds.toFixed(1)} s`,
      target: 'STS calls = files, no 429',
      met: folder.stsCalls === folder.files && folder.tooMany === 0 && folder.stored === folder.files && folder.failed === 0,
    })

    print(
      `express-cos-sts key cache — Node ${process.version}, local STS latency ${STS_LATENCY_MS} ms, hit cases in ${ROUNDS} alternating rounds of ${SECONDS} s`,
      rows,
    )
    if (rows.some((row) => row.met === false)) process.exitCode = 1
  } finally {
    for (const spawned of children) spawned.kill()
  }
}

/** Opens connections and lets the JIT settle on a route before it is measured. */
async function warmUp(url: string, connections: number, headers: Record<string, string>): Promise<void> {
  await autocannon({ url, connections, duration: 1, headers })
}

/**
 * Requests per second for `seconds`, and the server's CPU time per request (what the route costs, whatever else the
 * machine runs). Any non-2xx or error makes the figure meaningless, so it throws.
 */
async function rate(url: string, connections: number, headers: Record<string, string>, statsUrl: string, seconds: number): Promise<Measured> {
  const cpu = async () => ((await (await fetch(statsUrl)).json()) as { cpuMicros: number }).cpuMicros
  const cpuBefore = await cpu()
  const result = await autocannon({ url, connections, duration: seconds, headers })
  const cpuMicrosPerRequest = ((await cpu()) - cpuBefore) / result.requests.total
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`)
  return { rate: result.requests.total / result.duration, cpuMicrosPerRequest }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
