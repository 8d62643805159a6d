// Benchmark child: one Express app with a bare JSON route and the credentials route cached, uncached and fresh (for the load case).
import { addStats, benchApp, benchRouter, serve } from './app-kit.js'
import { runChild } from './harness.js'

async function main(): Promise<void> {
  const stsEndpoint = process.argv[2]
  if (!stsEndpoint) throw new Error('usage: app-process.ts <sts endpoint>')
  const routers = { cached: benchRouter(stsEndpoint, {}), uncached: benchRouter(stsEndpoint, false), load: benchRouter(stsEndpoint, {}) }

  const { app, baseline } = benchApp()
  // The same body written as the router writes it (no ETag, as befits a no-store answer): what the route costs beyond writing.
  app.get('/bare-raw', (_req, res) => {
    const text = JSON.stringify(baseline.body)
    res.statusCode = 200
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Content-Length', Buffer.byteLength(text))
    res.end(text)
  })
  app.use('/cached', routers.cached)
  app.use('/uncached', routers.uncached)
  app.use('/load', routers.load)
  addStats(app, routers)
  await serve(app, baseline, '/cached')
}

runChild(main)
