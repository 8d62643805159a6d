// Sources of the consumer projects the packaging suite writes into a temp dir: an ESM, a CommonJS and a strict TypeScript app using the installed tarball.

/**
 * Each consumer mounts the router against the package's own local STS, asks for a key over real HTTP and prints
 * one JSON line: the status, Cache-Control, whether the local STS issued the key served, the Express version in
 * use and the file `express-cos-sts` resolved to (it must be the installed tarball, not this repository).
 * The test keys come from the environment, so no key is written into the consumer's files.
 */
const setUp = `
const secretId = process.env.TEST_SECRET_ID
const secretKey = process.env.TEST_SECRET_KEY
const sts = await startLocalSts({ secretId, secretKey })
const app = express()
app.use('/creds', createStsRouter({
  secretId, secretKey, bucket: 'examplebucket-1250000000', region: 'ap-guangzhou',
  authorize: (req) => (req.get('x-user') ? { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] } : null),
  sts: { endpoint: sts.endpoint, protocol: sts.protocol },
}))
const server = app.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const res = await fetch(\`http://127.0.0.1:\${server.address().port}/creds\`, { headers: { 'x-user': 'alice' } })
const body = await res.json()
`

const report = `
console.log(JSON.stringify({
  status: res.status,
  cacheControl: res.headers.get('cache-control'),
  issuedByLocalSts: sts.findByTmpSecretId(body.credentials?.tmpSecretId ?? '') !== undefined,
  scope: body.scope,
  configError: typeof ConfigError === 'function' && new ConfigError('bucket', 'is wrong', 'fix it') instanceof Error,
  redisStore: typeof createRedisCacheStore,
  client: typeof clientCheck === 'undefined' ? undefined : clientCheck,
  express: requireFromHere('express/package.json').version,
  resolved,
}))
server.closeAllConnections()
server.close()
await sts.close()
`

export const ESM_CONSUMER = `// ESM consumer: import, named exports from the CommonJS build, subpath exports.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { ConfigError, createStsRouter } from 'express-cos-sts'
import { createRedisCacheStore } from 'express-cos-sts/redis'
import { startLocalSts } from 'express-cos-sts/testing'
import { createGetAuthorization } from 'express-cos-sts/client'
const requireFromHere = createRequire(import.meta.url)
const resolved = fileURLToPath(import.meta.resolve('express-cos-sts'))
${setUp}
// express-cos-sts/client (an ES module) against the same route, as a page would use it.
const getAuthorization = createGetAuthorization({ url: \`http://127.0.0.1:\${server.address().port}/creds\`, headers: { 'x-user': 'alice' } })
const scope = [{ action: 'name/cos:PutObject', bucket: 'examplebucket-1250000000', region: 'ap-guangzhou', prefix: 'uploads/alice/a.txt' }]
const sdkKey = await new Promise((resolve) => getAuthorization.call({ options: {} }, { Scope: scope }, resolve))
const clientCheck = {
  resolved: fileURLToPath(import.meta.resolve('express-cos-sts/client')),
  issuedByLocalSts: sts.findByTmpSecretId(sdkKey.TmpSecretId ?? '') !== undefined,
  scopeLimit: sdkKey.ScopeLimit,
}
${report}`

export const CJS_CONSUMER = `// CommonJS consumer: require, subpath exports.
const express = require('express')
const { ConfigError, createStsRouter } = require('express-cos-sts')
const { createRedisCacheStore } = require('express-cos-sts/redis')
const { startLocalSts } = require('express-cos-sts/testing')
const requireFromHere = require
const resolved = require.resolve('express-cos-sts')
async function main() {
${setUp}${report}}
main().catch((error) => { console.error(error); process.exitCode = 1 })
`

/** Strict TypeScript: the published .d.ts must type the options, the grant, the hook's request and the answer. */
export const TS_CONSUMER = `// TypeScript consumer (strict): the package's own types, checked by tsc, then run.
import express, { type Request } from 'express'
import { ConfigError, createStsRouter, type CredentialsResponse, type Grant, type StsRouter, type StsRouterOptions } from 'express-cos-sts'
import { startLocalSts, type LocalSts } from 'express-cos-sts/testing'
import type { AddressInfo } from 'node:net'

function authorize(req: Request): Grant | null {
  const user = req.get('x-user')
  return user === undefined ? null : { subject: user, actions: ['name/cos:PutObject'], prefixes: [\`uploads/\${user}/*\`] }
}

function options(sts: LocalSts): StsRouterOptions {
  return {
    secretId: process.env['TEST_SECRET_ID'] ?? '',
    secretKey: process.env['TEST_SECRET_KEY'] ?? '',
    bucket: 'examplebucket-1250000000',
    region: 'ap-guangzhou',
    authorize,
    sts: { endpoint: sts.endpoint, protocol: sts.protocol, timeoutMs: 5000 },
    onIssue: (event) => { const expires: number = event.expiredTime; void expires },
  }
}

// The types are real, not any: each of these must be refused by tsc.
// @ts-expect-error bucket is a string
const wrongBucket: StsRouterOptions = { bucket: 42, region: 'ap-guangzhou', authorize }
// @ts-expect-error authorize must return a grant, null, undefined or false
const wrongHook: StsRouterOptions = { bucket: 'examplebucket-1250000000', region: 'ap-guangzhou', authorize: () => 'alice' }
// @ts-expect-error a grant's subject is a string
const wrongGrant: Grant = { subject: 7, actions: [], prefixes: [] }
void [wrongBucket, wrongHook, wrongGrant]

async function main(): Promise<void> {
  const sts = await startLocalSts({ secretId: process.env['TEST_SECRET_ID'], secretKey: process.env['TEST_SECRET_KEY'] })
  const router: StsRouter = createStsRouter(options(sts))
  const server = express().use('/creds', router).listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo
  const res = await fetch(\`http://127.0.0.1:\${port}/creds\`, { headers: { 'x-user': 'alice' } })
  const body = (await res.json()) as CredentialsResponse
  const tmpSecretId: string = body.credentials.tmpSecretId
  console.log(JSON.stringify({
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    issuedByLocalSts: sts.findByTmpSecretId(tmpSecretId) !== undefined,
    scope: body.scope,
    configError: new ConfigError('bucket', 'is wrong', 'fix it') instanceof Error,
    resolved: require.resolve('express-cos-sts'),
  }))
  server.closeAllConnections()
  server.close()
  await sts.close()
}

main().catch((error: unknown) => { console.error(error); process.exitCode = 1 })
`

export const TS_CONFIG = JSON.stringify(
  {
    compilerOptions: {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
      // The package's own .d.ts files are checked too, not skipped.
      skipLibCheck: false,
      outDir: 'out',
    },
    files: ['consumer.ts'],
  },
  null,
  2,
)

/** Strict TypeScript against express-cos-sts/client's .d.ts, with only the ES2020 library (no DOM, as in a mini program). */
export const TS_CLIENT_CONSUMER = `// TypeScript consumer of express-cos-sts/client (strict, ES module): its types are real.
import { createGetAuthorization, CredentialsError, requestUpload, type GetAuthorization, type RequestLike, type SdkCredentials, type ServerChosenUpload } from 'express-cos-sts/client'

declare const wx: { request: RequestLike }
const getAuthorization: GetAuthorization = createGetAuthorization({
  url: 'https://app.example.com/api/cos-credentials',
  request: (options) => wx.request(options),
  headers: async () => ({ Authorization: 'Bearer token' }),
  perFile: false,
})
getAuthorization({ Scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a.txt' }] }, (key) => {
  const id: string | undefined = (key as Partial<SdkCredentials>).TmpSecretId
  void id
})
const refused: CredentialsError | undefined = getAuthorization.errorFor('uploads/alice/a.txt')
const upload: Promise<ServerChosenUpload> = requestUpload({ name: 'cat.jpg', size: 1024, contentType: 'image/jpeg' })
void [refused, upload]

// @ts-expect-error perFile is a boolean
createGetAuthorization({ perFile: 'yes' })
// @ts-expect-error requestUpload needs the file's name
void requestUpload({ size: 1 })
// @ts-expect-error the SDK callback takes credentials, not an error first
getAuthorization({}, (error: Error, key: SdkCredentials) => void [error, key])
`
