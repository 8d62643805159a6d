// Server-chosen object keys: POST { upload } → a key the router named and credentials for exactly that object; limits refused before STS; the real SDK against the local COS.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import COS from 'cos-nodejs-sdk-v5'
import request from 'supertest'
import { startLocalCos, type LocalCos } from '../example/local-cos/index.js'
import { ConfigError, createStsRouter, RouteError, type CamPolicy, type CredentialsResponse, type Grant, type UploadKeyInput } from '../src/index.js'
import { startFixture, type Fixture } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const RESOURCE = `qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/`
const MULTIPART = [
  'name/cos:PutObject',
  'name/cos:PostObject',
  'name/cos:ListMultipartUploads',
  'name/cos:InitiateMultipartUpload',
  'name/cos:UploadPart',
  'name/cos:ListParts',
  'name/cos:CompleteMultipartUpload',
  'name/cos:AbortMultipartUpload',
]
const uploadGrant = (user: string): Grant => ({
  subject: user,
  statements: [
    { actions: [...MULTIPART], prefixes: [`uploads/${user}/*`] },
    { actions: ['name/cos:GetObject'], prefixes: [`uploads/${user}/*`] },
  ],
})
const KEY = (user: string, extension = '') => new RegExp(`^uploads/${user}/(\\d{4}/\\d{2}/\\d{2})/[0-9a-f]{24}${extension.replace('.', '\\.')}$`)
const utcDay = () => new Date().toISOString().slice(0, 10).replace(/-/g, '/')

describe('server-chosen keys: default naming', () => {
  let fixture: Fixture
  before(async () => {
    fixture = await startFixture({ cache: {}, authorize: (req) => (req.get('x-user') ? uploadGrant(req.get('x-user') as string) : null) })
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  const ask = (upload: unknown, user = 'alice') => request(fixture.app).post('/creds').set('x-user', user).send({ upload })

  it('names the object in the first write prefix (date path, random part, extension) and issues a key for exactly it', async () => {
    const dayBefore = utcDay()
    const res = await ask({ name: 'cat.jpg', size: 1234, contentType: 'image/jpeg' }).expect(200)
    const day = KEY('alice', '.jpg').exec(res.body.key)?.[1]
    assert.ok(day === dayBefore || day === utcDay(), `key ${res.body.key}`)
    assert.deepEqual(res.body.scope, [
      { actions: ['name/cos:PutObject', 'name/cos:UploadPart'], prefixes: [res.body.key] },
      { actions: MULTIPART.filter((a) => !['name/cos:PutObject', 'name/cos:PostObject', 'name/cos:UploadPart'].includes(a)), prefixes: [res.body.key] },
    ])
    // The declared size bounds each request that carries bytes; PostObject (whose length is the form's) is left out.
    assert.deepEqual((fixture.sts.calls[0]!.policy as CamPolicy).statement[0], {
      effect: 'allow',
      action: ['name/cos:PutObject', 'name/cos:UploadPart'],
      resource: [RESOURCE + res.body.key],
      condition: { numeric_less_than_equal: { 'cos:content-length': 1234 } },
    })
    assert.ok(!JSON.stringify(fixture.sts.calls[0]!.policy).includes('GetObject'), 'reads are not upload actions')
    assert.equal(res.body.bucket, TEST_BUCKET)
    assert.equal(typeof res.body.serverTime, 'number')
  })

  it('without a declared size or limit, every upload action the grant allows, PostObject included, no condition', async () => {
    const res = await ask({ name: 'notes.txt' }).expect(200)
    assert.match(res.body.key, KEY('alice', '.txt'))
    assert.deepEqual(res.body.scope, [{ actions: MULTIPART, prefixes: [res.body.key] }])
    assert.equal((fixture.sts.calls[0]!.policy as CamPolicy).statement[0]!.condition, undefined)
  })

  it("a grant written with a {subject} template names the object inside the subject's own folder", async () => {
    const answer = await fixture.router.issue({ subject: 'dave', actions: [...MULTIPART], prefixes: ['uploads/{subject}/*'] }, { upload: { name: 'x.png' } })
    assert.match(answer.key ?? '', KEY('dave', '.png'))
    assert.deepEqual(answer.scope, [{ actions: MULTIPART, prefixes: [answer.key] }])
  })

  it('two uploads of cat.jpg get two keys and two STS calls', async () => {
    const first = await ask({ name: 'cat.jpg' }).expect(200)
    const second = await ask({ name: 'cat.jpg' }).expect(200)
    assert.notEqual(first.body.key, second.body.key)
    assert.notEqual(first.body.credentials.tmpSecretId, second.body.credentials.tmpSecretId)
    assert.equal(fixture.sts.calls.length, 2)
  })

  const extensions: Array<[string, string]> = [
    ['photo.JPEG', '.jpeg'],
    ['archive.tar.gz', '.gz'],
    ['README', ''],
    ['.env', ''],
    ['x.abcdefghijk', ''],
    ['a.jp-g', ''],
    ['dir/evil.sh', '.sh'],
    ['a.b/../../c', ''],
    ['weird name.webp', '.webp'],
  ]
  for (const [name, extension] of extensions) {
    it(`${JSON.stringify(name)} → a key ending in ${JSON.stringify(extension || '(no extension)')}`, async () => {
      const res = await ask({ name }).expect(200)
      assert.match(res.body.key, KEY('alice', extension))
    })
  }

  it('upload together with scope is 400 InvalidRequest', async () => {
    const res = await request(fixture.app)
      .post('/creds')
      .set('x-user', 'alice')
      .send({ upload: { name: 'a.jpg' }, scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/alice/a.jpg' }] })
      .expect(400)
    assert.equal(res.body.error.code, 'InvalidRequest')
    assert.match(res.body.error.message, /either scope .* or upload/)
  })

  const malformed: Array<[string, unknown]> = [
    ['a string', 'cat.jpg'],
    ['an array', [{ name: 'a' }]],
    ['null', null],
    ['no name', { size: 1 }],
    ['an empty name', { name: '' }],
    ['a name with a control character', { name: 'a\u0000.jpg' }],
    ['a name of 256 characters', { name: `${'a'.repeat(252)}.jpg` }],
    ['a negative size', { name: 'a', size: -1 }],
    ['a size as a string', { name: 'a', size: '5' }],
    ['a fractional size', { name: 'a', size: 1.5 }],
    ['a content type without a subtype', { name: 'a', contentType: 'image' }],
    ['an unknown field', { name: 'a', key: 'uploads/alice/mine.jpg' }],
  ]
  for (const [name, upload] of malformed) {
    it(`400 InvalidRequest and no STS call for an upload with ${name}`, async () => {
      const res = await ask(upload).expect(400)
      assert.equal(res.body.error.code, 'InvalidRequest')
      assert.equal(fixture.sts.calls.length, 0)
    })
  }

  it('401 before the body is read: no user, no key', async () => {
    await request(fixture.app)
      .post('/creds')
      .send({ upload: { name: 'a.jpg' } })
      .expect(401)
  })
})

describe('server-chosen keys: limits (400 UploadNotAllowed before STS)', () => {
  let fixture: Fixture
  const grants: Record<string, Grant> = {
    plain: uploadGrant('alice'),
    sized: {
      subject: 'alice',
      statements: [
        {
          actions: [...MULTIPART],
          prefixes: ['uploads/alice/*'],
          condition: { numeric_less_than: { 'cos:content-length': 1000 }, string_equal: { 'cos:content-type': ['image/png', 'image/gif'] } },
        },
      ],
    },
  }
  before(async () => {
    fixture = await startFixture({
      authorize: (req) => grants[req.get('x-grant') ?? 'plain'],
      uploadLimits: { maxBytes: 5000, contentTypes: ['image/*'], extensions: ['jpg', 'PNG', 'gif'] },
    })
  })
  after(() => fixture.close())
  beforeEach(() => fixture.sts.reset())

  const ask = (upload: unknown, grant = 'plain') => request(fixture.app).post('/creds').set('x-grant', grant).send({ upload })

  const refused: Array<{ name: string; upload: unknown; grant?: string; message: RegExp }> = [
    {
      name: 'no declared size under maxBytes',
      upload: { name: 'a.jpg', contentType: 'image/jpeg' },
      message: /Declare the file's size: files may be at most 5000 bytes/,
    },
    { name: 'a size over maxBytes', upload: { name: 'a.jpg', size: 5001, contentType: 'image/jpeg' }, message: /5001 bytes; at most 5000/ },
    { name: 'no declared content type', upload: { name: 'a.jpg', size: 10 }, message: /Declare the file's contentType: allowed are image\/\*/ },
    { name: 'a content type outside the list', upload: { name: 'a.jpg', size: 10, contentType: 'text/html' }, message: /type text\/html are not allowed/ },
    {
      name: 'an extension outside the list',
      upload: { name: 'a.svg', size: 10, contentType: 'image/svg+xml' },
      message: /\.svg is not allowed; allowed are \.jpg, \.png, \.gif/,
    },
    { name: 'a name without an extension', upload: { name: 'photo', size: 10, contentType: 'image/jpeg' }, message: /without an extension is not allowed/ },
    {
      name: "a size over the grant's cos:content-length bound",
      grant: 'sized',
      upload: { name: 'a.png', size: 1000, contentType: 'image/png' },
      message: /1000 bytes; at most 999/,
    },
    {
      name: "a type the grant's cos:content-type condition does not allow",
      grant: 'sized',
      upload: { name: 'a.jpg', size: 10, contentType: 'image/jpeg' },
      message: /image\/jpeg are not allowed; allowed are image\/png, image\/gif/,
    },
  ]
  for (const { name, upload, grant, message } of refused) {
    it(`${name}`, async () => {
      const res = await ask(upload, grant).expect(400)
      assert.equal(res.body.error.code, 'UploadNotAllowed')
      assert.match(res.body.error.message, message)
      assert.equal(fixture.sts.calls.length, 0, 'STS was not asked')
    })
  }

  it("a file inside every limit: the smallest bound becomes the key's cos:content-length condition, merged with the grant's", async () => {
    const plain = await ask({ name: 'a.PNG', size: 4000, contentType: 'image/png' }).expect(200)
    assert.match(plain.body.key, /\.png$/)
    assert.deepEqual((fixture.sts.calls[0]!.policy as CamPolicy).statement[0]!.condition, { numeric_less_than_equal: { 'cos:content-length': 4000 } })
    const sized = await ask({ name: 'b.gif', size: 500, contentType: 'image/gif' }, 'sized').expect(200)
    assert.deepEqual((fixture.sts.calls[1]!.policy as CamPolicy).statement[0], {
      effect: 'allow',
      action: ['name/cos:PutObject', 'name/cos:UploadPart'],
      resource: [RESOURCE + sized.body.key],
      condition: {
        numeric_less_than: { 'cos:content-length': 1000 },
        string_equal: { 'cos:content-type': ['image/png', 'image/gif'] },
        numeric_less_than_equal: { 'cos:content-length': 500 },
      },
    })
  })
})

describe('server-chosen keys: the uploadKey option', () => {
  let fixture: Fixture
  const seen: UploadKeyInput[] = []
  let next: (input: UploadKeyInput) => string | Promise<string> = () => 'uploads/alice/posts/1/cover.jpg'
  before(async () => {
    fixture = await startFixture({
      authorize: (req) =>
        req.get('x-grant') === 'exact' ? { subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/avatar.jpg'] } : uploadGrant('alice'),
      uploadKey: (input) => {
        seen.push(input)
        return next(input)
      },
    })
  })
  after(() => fixture.close())
  beforeEach(() => {
    fixture.sts.reset()
    seen.length = 0
  })

  const ask = (upload: unknown) => request(fixture.app).post('/creds').set('x-request-id', 'r-1').send({ upload })

  it('replaces the default naming and is given the subject, the grant, the declared file and the request', async () => {
    next = async ({ subject, file }) => `uploads/${subject}/posts/7/${file.name}`
    const res = await ask({ name: 'cover.jpg', size: 9 }).expect(200)
    assert.equal(res.body.key, 'uploads/alice/posts/7/cover.jpg')
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.subject, 'alice')
    assert.deepEqual(seen[0]!.grant, uploadGrant('alice'))
    assert.deepEqual(seen[0]!.file, { name: 'cover.jpg', size: 9 })
    assert.equal(seen[0]!.req?.get('x-request-id'), 'r-1')
  })

  const broken: Array<[string, string, RegExp]> = [
    ['a key outside every write prefix', 'uploads/bob/cover.jpg', /outside every write prefix/],
    ['a key inside only a read prefix', 'public/cover.jpg', /outside every write prefix/],
    ['a prefix instead of one key', 'uploads/alice/*', /'\*'/],
    ['a folder', 'uploads/alice/posts/', /ends in '\/'/],
    ['a key with a .. segment', 'uploads/alice/../bob/x.jpg', /'\.\.' segment/],
  ]
  for (const [name, key, message] of broken) {
    it(`${name} is the app's bug: 500 InvalidGrant, no STS call`, async () => {
      next = () => key
      const res = await ask({ name: 'x.jpg' }).expect(500)
      assert.equal(res.body.error.code, 'InvalidGrant')
      assert.ok(
        fixture.errors.some((event) => event.code === 'InvalidGrant' && message.test(event.message)),
        JSON.stringify(fixture.errors.at(-1)),
      )
      assert.equal(fixture.sts.calls.length, 0)
    })
  }

  it('a hook that throws a RouteError answers with it; any other throw is 500 InternalError', async () => {
    next = () => {
      throw new RouteError('UploadNotAllowed', 'One cover per post.')
    }
    const refused = await ask({ name: 'x.jpg' }).expect(400)
    assert.deepEqual(refused.body.error, { code: 'UploadNotAllowed', message: 'One cover per post.' })
    next = () => {
      throw new Error('database down')
    }
    const failed = await ask({ name: 'x.jpg' }).expect(500)
    assert.equal(failed.body.error.code, 'InternalError')
    assert.ok(!JSON.stringify(failed.body).includes('database down'))
    assert.equal(fixture.sts.calls.length, 0)
  })

  it('a grant whose only write prefix is one exact key cannot name uploads by default: 500 InvalidGrant', async () => {
    const plain = await startFixture({ authorize: () => ({ subject: 'alice', actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/avatar.jpg'] }) })
    try {
      const res = await request(plain.app)
        .post('/creds')
        .send({ upload: { name: 'a.jpg' } })
        .expect(500)
      assert.equal(res.body.error.code, 'InvalidGrant')
      assert.match(plain.errors[0]!.message, /no write prefix ending in '\*'/)
    } finally {
      await plain.close()
    }
  })
})

describe('server-chosen keys: options are checked at start-up', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['uploadKey not a function', { uploadKey: 'uploads/' }, 'ERR_COS_STS_UPLOAD_KEY'],
    ['uploadLimits not an object', { uploadLimits: 5 }, 'ERR_COS_STS_UPLOAD_LIMITS'],
    ['an unknown limit', { uploadLimits: { maxSize: 5 } }, 'ERR_COS_STS_UPLOAD_LIMITS_MAX_SIZE'],
    ['a negative maxBytes', { uploadLimits: { maxBytes: -1 } }, 'ERR_COS_STS_UPLOAD_LIMITS_MAX_BYTES'],
    ['contentTypes not a list of media types', { uploadLimits: { contentTypes: 'image/*' } }, 'ERR_COS_STS_UPLOAD_LIMITS_CONTENT_TYPES'],
    ['an extension with its dot', { uploadLimits: { extensions: ['.jpg'] } }, 'ERR_COS_STS_UPLOAD_LIMITS_EXTENSIONS'],
  ]
  for (const [name, options, code] of cases) {
    it(`${name}: ConfigError ${code}`, () => {
      const base = { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY, bucket: TEST_BUCKET, region: TEST_REGION, authorize: () => null }
      assert.throws(
        () => createStsRouter({ ...base, ...options }),
        (error: unknown) => error instanceof ConfigError && error.code === code,
      )
    })
  }
})

describe('server-chosen keys with cos-nodejs-sdk-v5 and the local COS', () => {
  let fixture: Fixture
  let cos: LocalCos
  let dir: string
  before(async () => {
    fixture = await startFixture({ authorize: () => uploadGrant('alice') })
    cos = await startLocalCos({ credentials: fixture.sts, bucket: TEST_BUCKET, region: TEST_REGION })
    dir = await mkdtemp(join(tmpdir(), 'upload-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 5 })
    await cos.close()
    await fixture.close()
  })

  function sdkWith(key: CredentialsResponse): COS {
    return new COS({
      Ip: cos.endpoint,
      Protocol: 'http:',
      ConfCwd: dir,
      getAuthorization: (_options, callback) =>
        callback({
          TmpSecretId: key.credentials.tmpSecretId,
          TmpSecretKey: key.credentials.tmpSecretKey,
          SecurityToken: key.credentials.sessionToken,
          StartTime: key.startTime,
          ExpiredTime: key.expiredTime,
        }),
    })
  }

  it('a multipart upload lands at the chosen key; the same credentials cannot write another key (AccessDenied)', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024 + 77, 'c')
    await writeFile(join(dir, 'cat.jpg'), bytes)
    const answer = (
      await request(fixture.app)
        .post('/creds')
        .send({ upload: { name: 'cat.jpg', size: bytes.length, contentType: 'image/jpeg' } })
        .expect(200)
    ).body as CredentialsResponse
    const sdk = sdkWith(answer)
    const key = answer.key as string
    const done = await sdk.sliceUploadFile({
      Bucket: TEST_BUCKET,
      Region: TEST_REGION,
      Key: key,
      FilePath: join(dir, 'cat.jpg'),
      ChunkSize: 1024 * 1024,
      SliceSize: 1024 * 1024,
    })
    assert.equal(done.statusCode, 200)
    assert.ok(cos.getObject(key)?.body.equals(bytes))

    for (const other of ['uploads/alice/other.jpg', `${key}.copy`, 'uploads/bob/cat.jpg']) {
      await assert.rejects(
        sdk.putObject({ Bucket: TEST_BUCKET, Region: TEST_REGION, Key: other, Body: Buffer.from('x') }),
        (error: { code?: string; statusCode?: number }) => error.code === 'AccessDenied' && error.statusCode === 403,
      )
      assert.equal(cos.getObject(other), undefined)
    }
    // A body larger than the declared size is refused by COS's cos:content-length check.
    await assert.rejects(
      sdk.putObject({ Bucket: TEST_BUCKET, Region: TEST_REGION, Key: key, Body: Buffer.alloc(bytes.length + 1) }),
      (error: { code?: string }) => error.code === 'AccessDenied',
    )
  })
})
