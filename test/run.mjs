// `npm test`: every suite against Express 5, then the suites that send requests through Express again against
// Express 4; the last line is the combined "N passed, N failed". `npm run test:unit` (--unit): the fast tier only.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import readline from 'node:readline'

const mochaBin = createRequire(import.meta.url).resolve('mocha/bin/mocha.js')
const SUMMARY = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/
/** A suite touches Express when it mounts the router or an app: only those run again against Express 4. */
const TOUCHES_EXPRESS = /startFixture|createStsRouter|from '(?:express|supertest)'|\bexample\//
/** A suite is an integration suite when it needs more than loopback Express and the local STS: Redis, Chromium, npm pack, child processes. */
const INTEGRATION = /ioredis|playwright-core|support\/(?:redis|consumers)|node:child_process|from '\.\/support\/fuzz-cases/
/** Load tests inside unit suites carry `[load]` in their title (or their describe's); the unit tier leaves them out. */
const UNIT_TIER_ARGS = ['--grep', '\\[load\\]', '--invert']

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const extraArgs = args.filter((arg) => arg !== '--unit') // e.g. npm test -- --grep faults

const suites = readdirSync('test')
  .filter((name) => name.endsWith('.test.ts'))
  .sort()
  .map((name) => {
    const text = readFileSync(`test/${name}`, 'utf8')
    return { file: `test/${name}`, express: TOUCHES_EXPRESS.test(text), integration: INTEGRATION.test(text) }
  })

/** Runs mocha on `files` with EXPRESS_MAJOR set, echoing its output; resolves to the counts its reporter printed last. */
function runMocha(label, major, files, tierArgs = []) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [mochaBin, ...tierArgs, ...extraArgs, ...files], {
      env: { ...process.env, EXPRESS_MAJOR: major },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let counts
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = SUMMARY.exec(line)
      if (match) {
        counts = { passed: Number(match[1]), failed: Number(match[2]), skipped: Number(match[3] ?? 0) }
        console.log(`${label} (${((Date.now() - started) / 1000).toFixed(1)} s): ${line}`)
      } else {
        console.log(line)
      }
    })
    child.on('close', (code, signal) => {
      if (counts === undefined) {
        // No summary line: mocha itself crashed or was killed. Count that run as one failure, never as a pass.
        console.log(`${label} ended without a summary (exit ${code ?? signal}); counted as 1 failed`)
        counts = { passed: 0, failed: 1, skipped: 0 }
      } else if (code !== 0 && counts.failed === 0) {
        console.log(`${label} exited ${code ?? signal} with no failed test; counted as 1 failed`)
        counts.failed = 1
      }
      resolve(counts)
    })
  })
}

const runs = unitOnly
  ? [{ label: 'unit tier, Express 5', major: '5', files: suites.filter((s) => !s.integration), tierArgs: UNIT_TIER_ARGS }]
  : [
      { label: 'all suites, Express 5', major: '5', files: suites },
      { label: 'suites that touch Express, Express 4', major: '4', files: suites.filter((s) => s.express) },
    ]
if (process.env.EXPRESS_MAJOR && !unitOnly)
  runs.splice(0, runs.length, { label: `all suites, Express ${process.env.EXPRESS_MAJOR}`, major: process.env.EXPRESS_MAJOR, files: suites })

const total = { passed: 0, failed: 0, skipped: 0 }
for (const run of runs) {
  console.log(`\n=== mocha: ${run.label} (${run.files.length} files) ===`)
  const counts = await runMocha(
    run.label,
    run.major,
    run.files.map((s) => s.file),
    run.tierArgs,
  )
  total.passed += counts.passed
  total.failed += counts.failed
  total.skipped += counts.skipped
}
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
process.exitCode = total.failed > 0 ? 1 : 0
