// express-cos-sts/client with the real cos-nodejs-sdk-v5 (same getAuthorization contract as the browser and mini-program SDKs) against the example's route, local STS and COS.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import COS from 'cos-nodejs-sdk-v5'
import { createGetAuthorization, requestUpload, type FetchLike } from '../src/client/index.js'
import { startExample, type Example } from '../example/server.js'
import type { LocalCos } from '../example/local-cos/index.js'
import type { LocalSts } from '../src/testing/index.js'
import { TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const BUCKET = 'examplebucket-1250000000'
const REGION = 'ap-guangzhou'
const MB = 1024 * 1024

describe('client helper with cos-nodejs-sdk-v5, the example route, local STS and COS', function () {
  this.timeout(60_000)
  let example: Example
  let cos: LocalCos
  let sts: LocalSts
  let dir: string
  let cookie: string
  let routeRequests: string[]

  before(async () => {
    example = await startExample({ port: 0, env: {}, offlineKey: { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY }, logger: { warn() {}, error() {} } })
    assert.ok(example.cos && example.sts)
    cos = example.cos
    sts = example.sts
    dir = await mkdtemp(join(tmpdir(), 'client-node-'))
    const login = await fetch(`${example.url}api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: 'alice' }),
    })
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  })
  after(async () => {
    await example.close()
    // cos-nodejs-sdk-v5 writes its upload records into ConfCwd (this dir) in the background: rm retries while one lands.
    await rm(dir, { recursive: true, force: true, maxRetries: 5 })
  })
  beforeEach(() => {
    routeRequests = []
  })

  /** The helper's options: the route over real HTTP with alice's cookie, each request recorded. */
  const options = () => {
    const counting: FetchLike = (url, init) => {
      routeRequests.push(init.body ?? init.method)
      return fetch(url, init)
    }
    return { url: `${example.url}api/cos-credentials`, headers: { Cookie: cookie }, fetch: counting }
  }
  const sdkFor = (getAuthorization: ReturnType<typeof createGetAuthorization>) =>
    new COS({ Ip: cos.endpoint, Protocol: 'http:', ConfCwd: dir, getAuthorization })

  async function sliceUpload(sdk: COS, key: string, bytes: Buffer): Promise<void> {
    const path = join(dir, key.replace(/\//g, '_'))
    await writeFile(path, bytes)
    const done = await sdk.sliceUploadFile({ Bucket: BUCKET, Region: REGION, Key: key, FilePath: path, ChunkSize: MB, SliceSize: MB })
    assert.equal(done.statusCode, 200)
    assert.ok(cos.getObject(key)?.body.equals(bytes), `${key} stored whole`)
  }

  it('per-file keys: sliceUploadFile of three 2.5 MB files asks the route once per file, one STS call each', async () => {
    const stsBefore = sts.calls.length
    const sdk = sdkFor(createGetAuthorization(options()))
    const keys = ['one', 'two', 'three'].map((name) => `uploads/alice/node/${name}.bin`)
    for (const key of keys) await sliceUpload(sdk, key, Buffer.alloc(2.5 * MB, key))
    assert.equal(routeRequests.length, keys.length)
    assert.deepEqual(
      routeRequests.map((body) => (JSON.parse(body) as { scope: Array<{ prefix: string }> }).scope[0]?.prefix),
      keys,
    )
    assert.equal(sts.calls.length - stsBefore, keys.length)
  })

  it('whole grant: one route request for several files', async () => {
    const sdk = sdkFor(createGetAuthorization({ ...options(), perFile: false }))
    for (const name of ['a', 'b']) await sliceUpload(sdk, `uploads/alice/node-grant/${name}.bin`, Buffer.alloc(1.5 * MB, name))
    assert.deepEqual(routeRequests, ['GET'])
  })

  it('requestUpload: the server-chosen key goes up multipart with one route request', async () => {
    const upload = await requestUpload({ name: 'report.PDF', size: 3 * MB, contentType: 'application/pdf' }, options())
    assert.match(upload.key, /^uploads\/alice\/.+\.pdf$/)
    await sliceUpload(sdkFor(upload.getAuthorization), upload.key, Buffer.alloc(3 * MB, 'report'))
    assert.equal(routeRequests.length, 1)
  })
})
