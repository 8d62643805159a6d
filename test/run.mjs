// `npm test`: the whole mocha suite against Express 5, then again against Express 4; the last line is the combined "N passed, N failed".
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import readline from 'node:readline'

const mochaBin = createRequire(import.meta.url).resolve('mocha/bin/mocha.js')
const SUMMARY = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/
// EXPRESS_MAJOR=4 npm test (or 5) runs one of the two.
const majors = process.env.EXPRESS_MAJOR ? [process.env.EXPRESS_MAJOR] : ['5', '4']
// The packaging suite installs the tarball into temp projects with their own Express 4 and 5, so the host's Express
// does not matter to it: it runs once, in the first run.
const ONCE = ['test/packaging.test.ts']
const extraArgs = process.argv.slice(2) // e.g. npm test -- --grep faults

/** Runs mocha with EXPRESS_MAJOR set, echoing its output; resolves to the counts its reporter printed last. */
function runMocha(major, args) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [mochaBin, ...args], {
      env: { ...process.env, EXPRESS_MAJOR: major },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let counts
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = SUMMARY.exec(line)
      if (match) {
        counts = { passed: Number(match[1]), failed: Number(match[2]), skipped: Number(match[3] ?? 0) }
        console.log(`Express ${major} run (${((Date.now() - started) / 1000).toFixed(1)} s): ${line}`)
      } else {
        console.log(line)
      }
    })
    child.on('close', (code, signal) => {
      if (counts === undefined) {
        // No summary line: mocha itself crashed or was killed. Count that run as one failure, never as a pass.
        console.log(`Express ${major} run ended without a summary (exit ${code ?? signal}); counted as 1 failed`)
        counts = { passed: 0, failed: 1, skipped: 0 }
      } else if (code !== 0 && counts.failed === 0) {
        console.log(`Express ${major} run exited ${code ?? signal} with no failed test; counted as 1 failed`)
        counts.failed = 1
      }
      resolve(counts)
    })
  })
}

const total = { passed: 0, failed: 0, skipped: 0 }
for (const [index, major] of majors.entries()) {
  console.log(`\n=== mocha against Express ${major} ===`)
  const ignores = index === 0 ? [] : ONCE.flatMap((file) => ['--ignore', file])
  const counts = await runMocha(major, [...ignores, ...extraArgs])
  total.passed += counts.passed
  total.failed += counts.failed
  total.skipped += counts.skipped
}
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
process.exitCode = total.failed > 0 ? 1 : 0
