// Example app: mounts createStsRouter with a toy login; offline it starts a local STS, with real keys it uses Tencent Cloud.
import express from 'express'
import { createStsRouter } from '../src/index.js'
import { startLocalSts } from '../src/testing/index.js'

const OFFLINE_SECRET_ID = 'AKIDexampleOfflineOnly000000000000000'
const OFFLINE_SECRET_KEY = 'exampleOfflineOnlyNotARealKey00000000'

async function main(): Promise<void> {
  const online = Boolean(process.env['TENCENTCLOUD_SECRET_ID'])
  const bucket = process.env['COS_BUCKET'] ?? 'examplebucket-1250000000'
  const region = process.env['COS_REGION'] ?? 'ap-guangzhou'
  if (online && !(process.env['COS_BUCKET'] && process.env['COS_REGION'])) {
    throw new Error('With TENCENTCLOUD_SECRET_ID set, also set COS_BUCKET (BucketName-APPID) and COS_REGION.')
  }
  const localSts = online ? undefined : await startLocalSts({ secretId: OFFLINE_SECRET_ID, secretKey: OFFLINE_SECRET_KEY })

  const app = express()
  app.use('/api/cos-credentials', createStsRouter({
    ...(localSts ? { secretId: OFFLINE_SECRET_ID, secretKey: OFFLINE_SECRET_KEY, sts: { endpoint: localSts.endpoint, protocol: localSts.protocol } } : {}),
    bucket,
    region,
    // Toy login: the user name comes from a header or ?user=. A real app uses its session.
    authorize: (req) => {
      const user = req.get('x-user') ?? (typeof req.query['user'] === 'string' ? req.query['user'] : undefined)
      if (!user || !/^[a-z0-9_-]{1,32}$/.test(user)) return null
      return { subject: user, actions: ['name/cos:PutObject', 'name/cos:PostObject'], prefixes: [`uploads/${user}/*`] }
    },
  }))

  const port = Number(process.env['PORT'] ?? 3000)
  const server = app.listen(port, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${port}/api/cos-credentials`
    console.log(`express-cos-sts example (${online ? 'real STS' : `offline: local STS at ${localSts?.url}`})`)
    console.log(`  credentials route: ${url}`)
    console.log(`  try:  curl -s '${url}?user=alice'`)
    console.log(`        curl -s -X POST '${url}?user=alice' -H 'content-type: application/json' -d '{"scope":[{"action":"name/cos:PutObject","prefix":"uploads/alice/a.jpg"}]}'`)
  })
  const stop = () => { server.close(); void localSts?.close(); }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
