// The example's local COS driven by the real cos-nodejs-sdk-v5 with keys from the route: signed requests work, tampered ones get COS's error.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import COS from 'cos-nodejs-sdk-v5'
import request from 'supertest'
import { grantFor, isUser } from '../example/grant.js'
import { startLocalCos, type LocalCos } from '../example/local-cos/index.js'
import type { CredentialsResponse } from '../src/index.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION } from './support/keys.js'

const md5 = (body: Buffer): string => createHash('md5').update(body).digest('hex')

/** The COS SDK's error: the XML's Code and Message, the HTTP status. */
interface SdkError {
  code?: string
  message?: string
  statusCode?: number
  error?: { Code?: string; Message?: string; RequestId?: string }
}

async function sdkError(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise
  } catch (error) {
    return error as SdkError
  }
  assert.fail('the request was expected to be refused')
}

describe('local COS (example) with cos-nodejs-sdk-v5', () => {
  let fixture: Fixture
  let cos: LocalCos
  let clockOffsetMs = 0

  before(async () => {
    // The example's own grant: upload, read and list under uploads/<user>/.
    fixture = await startFixture({
      authorize: (req) => {
        const user = req.get('x-user')
        return isUser(user) ? grantFor(user) : null
      },
    })
    cos = await startLocalCos({ credentials: fixture.sts, bucket: TEST_BUCKET, region: TEST_REGION, now: () => Date.now() + clockOffsetMs })
  })
  after(async () => {
    await cos.close()
    await fixture.close()
  })
  afterEach(() => {
    clockOffsetMs = 0
  })

  async function keyFor(user: string): Promise<CredentialsResponse> {
    const res = await request(fixture.app).get('/creds').set('x-user', user).expect(200)
    return res.body as CredentialsResponse
  }

  /** The Node SDK aimed at the local COS with `Ip`: the Host header and signature keep COS's own host name. */
  function client(key: CredentialsResponse, options: Partial<COS.COSOptions> = {}): COS {
    return new COS({
      Ip: cos.endpoint,
      Protocol: 'http:',
      getAuthorization: (_options, callback) =>
        callback({
          TmpSecretId: key.credentials.tmpSecretId,
          TmpSecretKey: key.credentials.tmpSecretKey,
          SecurityToken: key.credentials.sessionToken,
          StartTime: key.startTime,
          ExpiredTime: key.expiredTime,
        }),
      ...options,
    })
  }

  /** Changes the next request after the SDK signed it, as a man in the middle would. */
  function tamper(sdk: COS, change: (opt: { url: string; headers: Record<string, string>; body?: unknown }) => void): void {
    sdk.on('before-send', (opt?: { url: string; headers: Record<string, string>; body?: unknown }) => {
      if (opt) change(opt)
    })
  }

  const bucket = { Bucket: TEST_BUCKET, Region: TEST_REGION }

  it('stores a signed upload with COS ETag (quoted MD5) and reads it back', async () => {
    const body = Buffer.from('hello from alice\n')
    const alice = client(await keyFor('alice'))
    const put = await alice.putObject({ ...bucket, Key: 'uploads/alice/hello.txt', Body: body })
    assert.equal(put.statusCode, 200)
    assert.equal(put.ETag, `"${md5(body)}"`)
    assert.deepEqual(cos.getObject('uploads/alice/hello.txt')?.body, body)

    const got = await alice.getObject({ ...bucket, Key: 'uploads/alice/hello.txt' })
    assert.deepEqual(got.Body, body)
    const head = await alice.headObject({ ...bucket, Key: 'uploads/alice/hello.txt' })
    assert.equal(head.headers?.['content-length'], String(body.length))
    assert.match(String(head.headers?.['x-cos-request-id']), /^[0-9a-f]{32}$/)
  })

  it('lists the own prefix, and refuses a listing of the bucket or of another user', async () => {
    const alice = client(await keyFor('alice'))
    await alice.putObject({ ...bucket, Key: 'uploads/alice/listed.txt', Body: Buffer.from('x') })
    const listing = await alice.getBucket({ ...bucket, Prefix: 'uploads/alice/' })
    assert.ok(listing.Contents.some((object) => object.Key === 'uploads/alice/listed.txt'))
    assert.ok(listing.Contents.every((object) => object.Key.startsWith('uploads/alice/')))

    for (const Prefix of ['', 'uploads/', 'uploads/bob/', 'uploads/alic']) {
      const error = await sdkError(alice.getBucket({ ...bucket, Prefix }))
      assert.equal(error.statusCode, 403, `prefix '${Prefix}'`)
      assert.equal(error.code, 'AccessDenied', `prefix '${Prefix}'`)
    }
  })

  it('takes a multipart upload (sliceUploadFile) and joins the parts intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'local-cos-'))
    try {
      const bytes = Buffer.alloc(3 * 1024 * 1024 + 123)
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 251
      const file = join(dir, 'big.bin')
      await writeFile(file, bytes)
      const before = cos.requests.length
      const alice = client(await keyFor('alice'), { ConfCwd: dir }) // the SDK's resume notes stay in the temp folder
      const done = await alice.sliceUploadFile({ ...bucket, Key: 'uploads/alice/big.bin', FilePath: file, ChunkSize: 1024 * 1024 })
      assert.equal(done.statusCode, 200)
      const stored = cos.getObject('uploads/alice/big.bin')
      assert.equal(stored?.body.length, bytes.length)
      assert.ok(stored?.body.equals(bytes), 'the joined object has the file bytes')
      assert.match(stored?.etag ?? '', /^"[0-9a-f]{32}-4"$/)
      const operations = cos.requests.slice(before).map((r) => r.operation)
      assert.equal(operations.filter((name) => name === 'UploadPart').length, 4)
      assert.ok(operations.includes('InitiateMultipartUpload') && operations.includes('CompleteMultipartUpload'))
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 5 })
    }
  })

  describe('refuses a tampered or unauthorised request, and stores nothing', () => {
    const cases: Array<{
      name: string
      code: string
      status?: number
      message?: RegExp
      key?: string
      options?: Partial<COS.COSOptions>
      setUp?: (sdk: COS) => Promise<void> | void
    }> = [
      {
        name: 'the object key changed after signing',
        code: 'SignatureDoesNotMatch',
        setUp: (sdk) =>
          tamper(sdk, (opt) => {
            opt.url = opt.url.replace(/\/victim-(\d+)\.txt$/, '/moved-$1.txt')
          }),
      },
      {
        name: 'the signature changed',
        code: 'SignatureDoesNotMatch',
        setUp: (sdk) =>
          tamper(sdk, (opt) => {
            opt.headers['Authorization'] = (opt.headers['Authorization'] ?? '').replace(
              /q-signature=([0-9a-f])/,
              (_, c: string) => `q-signature=${c === 'a' ? 'b' : 'a'}`,
            )
          }),
      },
      {
        name: 'a signed header (content-length) changed',
        code: 'SignatureDoesNotMatch',
        setUp: (sdk) =>
          tamper(sdk, (opt) => {
            opt.headers['Content-Length'] = '4'
            opt.body = Buffer.from('evil')
          }),
      },
      {
        name: 'the body changed under a signed Content-MD5',
        code: 'BadDigest',
        status: 400,
        options: { UploadCheckContentMd5: true },
        setUp: (sdk) =>
          tamper(sdk, (opt) => {
            opt.body = Buffer.from('EVIL BYTES!!')
          }),
      },
      {
        name: "another key's session token",
        code: 'InvalidAccessKeyId',
        setUp: async (sdk) => {
          const bob = await keyFor('bob')
          tamper(sdk, (opt) => {
            opt.headers['x-cos-security-token'] = bob.credentials.sessionToken
          })
        },
      },
      {
        name: 'no session token',
        code: 'InvalidAccessKeyId',
        setUp: (sdk) =>
          tamper(sdk, (opt) => {
            delete opt.headers['x-cos-security-token']
          }),
      },
      {
        name: 'a SecretId the STS never issued',
        code: 'InvalidAccessKeyId',
        setUp: (sdk) =>
          tamper(sdk, (opt) => {
            opt.headers['Authorization'] = (opt.headers['Authorization'] ?? '').replace(/q-ak=[^&]+/, 'q-ak=AKIDnotIssuedByTheLocalSts0000000000')
          }),
      },
      {
        name: 'an expired key (the COS clock two hours on)',
        code: 'AccessDenied',
        message: /^Request has expired$/,
        options: { CorrectClockSkew: false },
        setUp: () => {
          clockOffsetMs = 2 * 3600 * 1000
        },
      },
      {
        name: "a key used outside its policy (another user's folder)",
        code: 'AccessDenied',
        message: /^Access Denied\.$/,
        key: 'uploads/bob/victim-bob.txt',
      },
    ]

    // Each case has its own key, so one wrongly stored object cannot fail the others.
    for (const [index, { name, code, status = 403, message, key = `uploads/alice/victim-${index}.txt`, options, setUp }] of cases.entries()) {
      it(`${name} → ${code}`, async () => {
        const sdk = client(await keyFor('alice'), options)
        await setUp?.(sdk)
        const error = await sdkError(sdk.putObject({ ...bucket, Key: key, Body: Buffer.from('hello, world') }))
        assert.equal(error.code, code)
        assert.equal(error.statusCode, status)
        if (message) assert.match(error.message ?? '', message)
        assert.match(error.error?.RequestId ?? '', /^[0-9a-f]{32}$/, 'the XML error carries a RequestId')
        assert.equal(cos.getObject(key), undefined)
        assert.equal(cos.getObject(key.replace(/victim-/, 'moved-')), undefined)
        assert.equal(cos.requests.at(-1)?.code, code)
      })
    }

    it('a bucket the local COS does not hold → NoSuchBucket', async () => {
      const sdk = client(await keyFor('alice'))
      const error = await sdkError(sdk.putObject({ Bucket: 'otherbucket-1250000000', Region: TEST_REGION, Key: 'uploads/alice/x.txt', Body: Buffer.from('x') }))
      assert.equal(error.statusCode, 404)
      assert.equal(error.code, 'NoSuchBucket')
    })
  })

  describe('over plain HTTP', () => {
    it('answers an unsigned request with COS XML: 403 AccessDenied and a RequestId', async () => {
      const res = await fetch(`${cos.url}uploads/alice/hello.txt`)
      assert.equal(res.status, 403)
      assert.match(res.headers.get('content-type') ?? '', /application\/xml/)
      const xml = await res.text()
      assert.match(
        xml,
        /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>Access Denied\.<\/Message><Resource>[^<]*<\/Resource><RequestId>([0-9a-f]{32})<\/RequestId><\/Error>$/,
      )
      assert.equal(/<RequestId>([^<]+)</.exec(xml)?.[1], res.headers.get('x-cos-request-id'))
    })

    it('answers a garbled Authorization with SignatureDoesNotMatch, not a crash', async () => {
      for (const authorization of [
        'q-sign-algorithm=md5',
        'garbage',
        'q-sign-algorithm=sha1&q-ak=x&q-sign-time=2;1&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=00',
      ]) {
        const res = await fetch(`${cos.url}uploads/alice/a%ZZ`, { headers: { Authorization: authorization } })
        assert.ok(res.status === 400 || res.status === 403, authorization)
        assert.match(await res.text(), /<Code>(SignatureDoesNotMatch|InvalidURI)<\/Code>/)
      }
    })

    it('answers odd or unimplemented requests with a COS error, never a 500', async () => {
      const cases: Array<[method: string, path: string, status: number, code: string]> = [
        ['GET', '//evil.example/x', 403, 'AccessDenied'],
        ['GET', '/%', 400, 'InvalidURI'],
        ['GET', '/?prefix=%zz', 400, 'InvalidURI'],
        ['PUT', '/uploads/alice/a?acl', 501, 'NotImplemented'],
        ['POST', '/', 501, 'NotImplemented'],
        ['PATCH', '/uploads/alice/a', 501, 'NotImplemented'],
      ]
      for (const [method, path, status, code] of cases) {
        const res = await fetch(`${cos.url}${path.slice(1)}`, { method })
        assert.equal(res.status, status, `${method} ${path}`)
        assert.match(await res.text(), new RegExp(`<Code>${code}</Code>`), `${method} ${path}`)
      }
      const head = await fetch(`${cos.url}uploads/alice/a`, { method: 'HEAD' })
      assert.equal(head.status, 403)
      assert.equal(await head.text(), '', 'a HEAD answer has no body')
    })

    it('answers CORS preflights for allowed origins only, exposing ETag', async () => {
      const strict = await startLocalCos({ credentials: fixture.sts, bucket: TEST_BUCKET, region: TEST_REGION, allowedOrigins: ['http://127.0.0.1:3000'] })
      try {
        const preflight = (origin: string) =>
          fetch(`${strict.url}uploads/alice/a.txt`, {
            method: 'OPTIONS',
            headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'authorization,x-cos-security-token' },
          })
        const allowed = await preflight('http://127.0.0.1:3000')
        assert.equal(allowed.status, 200)
        assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://127.0.0.1:3000')
        assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /PUT/)
        assert.equal(allowed.headers.get('access-control-allow-headers'), 'authorization,x-cos-security-token')
        assert.match(allowed.headers.get('access-control-expose-headers') ?? '', /ETag/)
        const refused = await preflight('http://evil.example')
        assert.equal(refused.status, 403)
        assert.equal(refused.headers.get('access-control-allow-origin'), null)
        assert.match(await refused.text(), /<Code>AccessForbidden<\/Code>/)
      } finally {
        await strict.close()
      }
    })

    it('bounds one request body and the bytes held (EntityTooLarge), storing nothing past them', async () => {
      const small = await startLocalCos({ credentials: fixture.sts, bucket: TEST_BUCKET, region: TEST_REGION, maxBodyBytes: 1024, maxStoredBytes: 1500 })
      try {
        const sdk = new COS({
          Ip: small.endpoint,
          Protocol: 'http:',
          getAuthorization: (_options, callback) =>
            void keyFor('alice').then((key) =>
              callback({
                TmpSecretId: key.credentials.tmpSecretId,
                TmpSecretKey: key.credentials.tmpSecretKey,
                SecurityToken: key.credentials.sessionToken,
                StartTime: key.startTime,
                ExpiredTime: key.expiredTime,
              }),
            ),
        })
        const tooBig = await sdkError(sdk.putObject({ ...bucket, Key: 'uploads/alice/big.bin', Body: Buffer.alloc(2048, 1) }))
        assert.equal(tooBig.statusCode, 400)
        assert.equal(tooBig.code, 'EntityTooLarge')
        assert.deepEqual(small.keys(), [])

        await sdk.putObject({ ...bucket, Key: 'uploads/alice/one.bin', Body: Buffer.alloc(1000, 1) })
        const full = await sdkError(sdk.putObject({ ...bucket, Key: 'uploads/alice/two.bin', Body: Buffer.alloc(1000, 2) }))
        assert.equal(full.code, 'EntityTooLarge')
        assert.deepEqual(small.keys(), ['uploads/alice/one.bin'])
      } finally {
        await small.close()
      }
    })
  })
})
