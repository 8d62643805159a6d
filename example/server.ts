// Starts the example: offline, a local STS and a local COS beside the app; with real keys, Tencent Cloud's STS and COS. Prints the URL.
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import type { Logger } from '../src/index.js'
import { createExampleApp } from './app.js'
import { startLocalCos, type LocalCos } from './local-cos/index.js'

// Obviously fake; only the local STS accepts them.
const OFFLINE_SECRET_ID = 'AKIDexampleOfflineOnly000000000000000'
const OFFLINE_SECRET_KEY = 'exampleOfflineOnlyNotARealKey00000000'
const OFFLINE_BUCKET = 'examplebucket-1250000000'
const OFFLINE_REGION = 'ap-guangzhou'

export interface ExampleOptions {
  port?: number // default: PORT or 3000; 0 picks a free one
  env?: NodeJS.ProcessEnv // default process.env
  /** Offline only: the permanent key the local STS accepts (tests pass theirs so the leak watch knows it). */
  offlineKey?: { secretId: string; secretKey: string }
  logger?: Logger
}

export interface Example {
  url: string // 'http://127.0.0.1:PORT/'
  mode: 'offline' | 'real'
  sts: LocalSts | undefined // offline only
  cos: LocalCos | undefined // offline only
  close(): Promise<void>
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') reject(new Error('no TCP address'))
      else resolve(address.port)
    })
  })
}

/** Reads the real-mode settings, or explains which variable is missing. */
function realSettings(env: NodeJS.ProcessEnv): { bucket: string; region: string } {
  const missing = ['TENCENTCLOUD_SECRET_KEY', 'COS_BUCKET', 'COS_REGION'].filter((name) => !env[name])
  if (missing.length > 0) {
    throw new Error(
      `TENCENTCLOUD_SECRET_ID is set, so the example talks to Tencent Cloud; also set ${missing.join(', ')} (COS_BUCKET is BucketName-APPID), or unset TENCENTCLOUD_SECRET_ID to run offline.`,
    )
  }
  return { bucket: env['COS_BUCKET'] ?? '', region: env['COS_REGION'] ?? '' }
}

export async function startExample(options: ExampleOptions = {}): Promise<Example> {
  const env = options.env ?? process.env
  const mode = env['TENCENTCLOUD_SECRET_ID'] ? 'real' : 'offline'
  const port = options.port ?? Number(env['PORT'] ?? 3000)
  let sts: LocalSts | undefined
  let cos: LocalCos | undefined
  let server: Server | undefined
  const close = async (): Promise<void> => {
    if (server) {
      const closed = new Promise((resolve) => server?.close(resolve))
      server.closeAllConnections()
      await closed
    }
    await Promise.all([cos?.close(), sts?.close()])
  }

  try {
    const offlineKey = options.offlineKey ?? { secretId: OFFLINE_SECRET_ID, secretKey: OFFLINE_SECRET_KEY }
    const { bucket, region } = mode === 'real' ? realSettings(env) : { bucket: OFFLINE_BUCKET, region: OFFLINE_REGION }
    if (mode === 'offline') sts = await startLocalSts(offlineKey)
    const app = createExampleApp({
      router: {
        bucket,
        region,
        // Real mode: the router reads TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY itself.
        ...(sts ? { ...offlineKey, sts: { endpoint: sts.endpoint, protocol: sts.protocol } } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      },
      cos: () => (cos ? { domain: cos.endpoint, protocol: 'http:' } : undefined),
      cookieSecret: randomBytes(32).toString('hex'),
    })
    server = createServer(app)
    const appPort = await listen(server, port)
    if (sts) {
      // Like a bucket's CORS rule: only the page's origin may call this COS from a browser.
      const allowedOrigins = [`http://127.0.0.1:${appPort}`, `http://localhost:${appPort}`]
      cos = await startLocalCos({ credentials: sts, bucket, region, allowedOrigins })
    }
    return { url: `http://127.0.0.1:${appPort}/`, mode, sts, cos, close }
  } catch (error) {
    await close()
    throw error
  }
}

async function main(): Promise<void> {
  const example = await startExample()
  const where = example.cos && example.sts ? `offline: local STS at ${example.sts.url}, local COS at ${example.cos.url}` : 'real Tencent Cloud STS and COS'
  console.log(`express-cos-sts example (${where})`)
  console.log(`  open ${example.url}  (Ctrl-C stops it)`)
  let stopping = false
  const stop = (): void => {
    if (stopping) process.exit(130) // a second Ctrl-C does not wait
    stopping = true
    void example.close().then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code
    console.error(code === 'EADDRINUSE' ? 'The port is taken: run with PORT=<another port> npm run example' : error instanceof Error ? error.message : error)
    process.exit(1)
  })
}
