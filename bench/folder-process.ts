// Benchmark child: a folder of multipart files uploaded with cos-nodejs-sdk-v5 as the README's front end asks (each step's Scope, ScopeLimit), through the router with default options, to the local COS; prints route requests and STS calls.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import COS from 'cos-nodejs-sdk-v5'
import express from 'express'
import { startLocalCos } from '../example/local-cos/index.js'
import { createStsRouter } from '../src/index.js'
import { startLocalSts } from '../src/testing/index.js'
import { BENCH_BUCKET, BENCH_REGION, BENCH_SECRET_ID, BENCH_SECRET_KEY } from './keys.js'
import { runChild } from './harness.js'

const MULTIPART_UPLOAD = [
  'name/cos:PutObject',
  'name/cos:InitiateMultipartUpload',
  'name/cos:ListMultipartUploads',
  'name/cos:ListParts',
  'name/cos:UploadPart',
  'name/cos:CompleteMultipartUpload',
  'name/cos:AbortMultipartUpload',
]

interface CredentialsBody {
  credentials?: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string }
  startTime: number
  expiredTime: number
}

async function main(): Promise<void> {
  const files = Number(process.argv[2] ?? 100)
  const bytes = Number(process.argv[3] ?? Math.round(1.1 * 1024 * 1024))
  const sts = await startLocalSts({ secretId: BENCH_SECRET_ID, secretKey: BENCH_SECRET_KEY })
  const cos = await startLocalCos({ credentials: sts, bucket: BENCH_BUCKET, region: BENCH_REGION })
  const statuses: number[] = []
  const app = express()
  // Default options: the cache and both rate-limit layers as shipped.
  app.use(
    '/creds',
    (_req, res, next) => {
      res.on('finish', () => statuses.push(res.statusCode))
      next()
    },
    createStsRouter({
      secretId: BENCH_SECRET_ID,
      secretKey: BENCH_SECRET_KEY,
      bucket: BENCH_BUCKET,
      region: BENCH_REGION,
      sts: { endpoint: sts.endpoint, protocol: sts.protocol },
      authorize: () => ({ subject: 'bench', actions: MULTIPART_UPLOAD, prefixes: ['uploads/{subject}/*'] }),
    }),
  )
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const route = `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`
  const dir = await mkdtemp(join(tmpdir(), 'bench-folder-'))
  try {
    const list = []
    for (let i = 0; i < files; i++) {
      const path = join(dir, `f${i}.bin`)
      await writeFile(path, Buffer.alloc(bytes, i & 255))
      list.push({ Bucket: BENCH_BUCKET, Region: BENCH_REGION, Key: `uploads/bench/folder/f${i}.bin`, FilePath: path })
    }
    const sdk = new COS({
      Ip: cos.endpoint,
      Protocol: 'http:',
      ConfCwd: dir,
      // The README's front end: POST the step's Scope, mark the key ScopeLimit, call back on every path.
      getAuthorization: (options, callback) => {
        fetch(route, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ scope: options.Scope }) })
          .then(async (res) => (await res.json()) as CredentialsBody)
          .then((body) =>
            callback(
              body.credentials
                ? {
                    TmpSecretId: body.credentials.tmpSecretId,
                    TmpSecretKey: body.credentials.tmpSecretKey,
                    SecurityToken: body.credentials.sessionToken,
                    StartTime: body.startTime,
                    ExpiredTime: body.expiredTime,
                    ScopeLimit: true,
                  }
                : ({} as never),
            ),
          )
          .catch(() => callback({} as never))
      },
    })
    const started = Date.now()
    const result = await sdk.uploadFiles({ files: list, SliceSize: 1024 * 1024 })
    const seconds = (Date.now() - started) / 1000
    const failed = result.files.filter((file) => file.error).length
    const stored = list.filter((file) => cos.getObject(file.Key)?.body.length === bytes).length
    process.stdout.write(
      `${JSON.stringify({
        files,
        bytes,
        seconds,
        failed,
        stored,
        routeRequests: statuses.length,
        tooMany: statuses.filter((status) => status === 429).length,
        stsCalls: sts.calls.length,
      })}\n`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
    server.close()
    server.closeAllConnections()
    await cos.close()
    await sts.close()
  }
}

runChild(main)
