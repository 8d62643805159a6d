// Benchmark child: the local STS with a fixed latency, plus a control port that reports and resets its call count.
import { createServer } from 'node:http'
import { startLocalSts } from '../src/testing/index.js'
import { BENCH_SECRET_ID, BENCH_SECRET_KEY } from './keys.js'
import { runChild } from './harness.js'

async function main(): Promise<void> {
  const latencyMs = Number(process.argv[2] ?? 50)
  const sts = await startLocalSts({ secretId: BENCH_SECRET_ID, secretKey: BENCH_SECRET_KEY, latencyMs })
  const control = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/reset') sts.reset()
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ calls: sts.calls.length, ok: sts.calls.filter((call) => call.outcome === 'ok').length }))
  })
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve))
  const address = control.address()
  if (address === null || typeof address === 'string') throw new Error('control port did not bind')
  process.stdout.write(`${JSON.stringify({ endpoint: sts.endpoint, control: `http://127.0.0.1:${address.port}` })}\n`)
  // The parent's exit closes stdin: leave with it, so no child outlives a run.
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

runChild(main)
