// Benchmark child (run with --expose-gc): RSS growth of the key cache after 100,000 distinct subjects, at its default bound.
import { createKeyCache, type ScopeRequest } from '../src/cache.js'
import { CACHE_DEFAULTS } from '../src/options.js'
import { buildPolicy } from '../src/policy.js'
import { BENCH_BUCKET, BENCH_REGION, BENCH_SECRET_ID, BENCH_SECRET_KEY, KEY_SIZES, keyOfSize } from './keys.js'
import { runChild } from './harness.js'

async function main(): Promise<void> {
  const sizes = KEY_SIZES[(process.argv[2] ?? 'typical') as keyof typeof KEY_SIZES]
  const subjects = Number(process.argv[3] ?? 100_000)
  if (!sizes || !Number.isInteger(subjects)) throw new Error('usage: memory-process.ts typical|documented-max <subjects>')
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with node --expose-gc')

  const cache = createKeyCache({
    ...CACHE_DEFAULTS,
    store: undefined,
    secretId: BENCH_SECRET_ID,
    secretKey: BENCH_SECRET_KEY,
    mode: 'GetFederationToken',
    fillTimeoutMs: 5000,
    logger: console,
  })

  gc()
  const before = process.memoryUsage()
  const started = performance.now()
  for (let i = 0; i < subjects; i++) {
    const subject = `user-${i}`
    const statements = [{ actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: [`uploads/${subject}/*`], condition: undefined, shared: false }]
    const scope: ScopeRequest = {
      subject,
      bucket: BENCH_BUCKET,
      region: BENCH_REGION,
      policy: buildPolicy({ bucket: BENCH_BUCKET, region: BENCH_REGION, statements }),
      durationSeconds: 1800,
    }
    await cache.issue(scope, async () => keyOfSize(sizes)) // fresh strings for every key, as keys parsed from STS answers would be
  }
  const seconds = (performance.now() - started) / 1000
  gc()
  const rightAfter = process.memoryUsage().rss
  // V8 hands freed pages back to the OS a few seconds after a burst; what stays is what the cache holds.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  gc()
  const settled = process.memoryUsage()
  const stats = cache.stats()
  const mb = (bytes: number) => bytes / 2 ** 20
  process.stdout.write(
    `${JSON.stringify({
      subjects,
      max: CACHE_DEFAULTS.max,
      entries: stats.entries,
      stsCalls: stats.stsCalls,
      seconds,
      rssGrowthMb: mb(settled.rss - before.rss),
      rssGrowthRightAfterMb: mb(rightAfter - before.rss),
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      heapGrowthMb: mb(settled.heapUsed - before.heapUsed),
    })}\n`,
  )
}

runChild(main)
