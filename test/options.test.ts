// Start-up validation: every misconfiguration throws a ConfigError naming the option and the fix.
import assert from 'node:assert/strict'
import { ConfigError, createStsRouter, type StsRouterOptions } from '../src/index.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const valid: StsRouterOptions = {
  secretId: TEST_SECRET_ID,
  secretKey: TEST_SECRET_KEY,
  bucket: TEST_BUCKET,
  region: TEST_REGION,
  authorize: () => null,
}

function throwsNaming(options: unknown, option: string, fix: RegExp): void {
  assert.throws(
    () => createStsRouter(options as StsRouterOptions),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
      assert.match(error.message, new RegExp(`option \`${option.replace(/\./g, '\\.')}\``))
      assert.match(error.message, /Fix: /)
      assert.match(error.message, fix)
      assert.ok(!error.message.includes(TEST_SECRET_KEY), 'the message must not echo the secret key')
      return true
    },
  )
}

describe('options', () => {
  const savedEnv = { id: process.env['TENCENTCLOUD_SECRET_ID'], key: process.env['TENCENTCLOUD_SECRET_KEY'] }
  afterEach(() => {
    for (const [name, value] of [
      ['TENCENTCLOUD_SECRET_ID', savedEnv.id],
      ['TENCENTCLOUD_SECRET_KEY', savedEnv.key],
    ] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })

  it('accepts a minimal valid configuration and returns a router', () => {
    const router = createStsRouter(valid)
    assert.equal(typeof router, 'function')
    assert.equal(typeof router.use, 'function')
  })

  it('reads the permanent key from TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY by default', () => {
    process.env['TENCENTCLOUD_SECRET_ID'] = TEST_SECRET_ID
    process.env['TENCENTCLOUD_SECRET_KEY'] = TEST_SECRET_KEY
    const { secretId: _id, secretKey: _key, ...rest } = valid
    assert.doesNotThrow(() => createStsRouter(rest))
  })

  it('refuses a missing secretId or secretKey', () => {
    delete process.env['TENCENTCLOUD_SECRET_ID']
    delete process.env['TENCENTCLOUD_SECRET_KEY']
    throwsNaming({ ...valid, secretId: undefined }, 'secretId', /TENCENTCLOUD_SECRET_ID/)
    throwsNaming({ ...valid, secretKey: undefined }, 'secretKey', /TENCENTCLOUD_SECRET_KEY/)
    throwsNaming({ ...valid, secretKey: '' }, 'secretKey', /TENCENTCLOUD_SECRET_KEY/)
  })

  it('never echoes a malformed secretKey in the error', () => {
    throwsNaming({ ...valid, secretKey: `${TEST_SECRET_KEY} ` }, 'secretKey', /SecretKey/)
  })

  it('refuses a bucket that is not BucketName-APPID', () => {
    for (const bucket of ['examplebucket', 'ExampleBucket-1250000000', 'example_bucket-1250000000', '-1250000000', 'examplebucket-12a', undefined, 42]) {
      throwsNaming({ ...valid, bucket }, 'bucket', /examplebucket-1250000000/)
    }
  })

  it('refuses a missing or odd region', () => {
    for (const region of [undefined, '', 'guangzhou', 'AP-GUANGZHOU', 'ap guangzhou', 'ap-guangzhou/']) {
      throwsNaming({ ...valid, region }, 'region', /region/)
    }
  })

  it('refuses durations STS does not allow, per STS action', () => {
    for (const durationSeconds of [0, 60, 899, 129_601, 1800.5, '1800']) {
      throwsNaming({ ...valid, durationSeconds }, 'durationSeconds', /1800/)
    }
    assert.doesNotThrow(() => createStsRouter({ ...valid, durationSeconds: 129_600 }))
    const assumeRole = { ...valid, sts: { roleArn: 'qcs::cam::uin/100000000001:roleName/cos-uploader' } }
    assert.doesNotThrow(() => createStsRouter({ ...assumeRole, durationSeconds: 43_200 }))
    throwsNaming({ ...assumeRole, durationSeconds: 43_201 }, 'durationSeconds', /43200/)
  })

  it('refuses an authorize that is not a function', () => {
    throwsNaming({ ...valid, authorize: undefined }, 'authorize', /hook/)
    throwsNaming({ ...valid, authorize: { subject: 'alice' } }, 'authorize', /hook/)
  })

  it('catches option typos and suggests the right name', () => {
    throwsNaming({ ...valid, bucked: 'x' }, 'bucked', /did you mean `bucket`/)
    throwsNaming({ ...valid, durationSecond: 1800 }, 'durationSecond', /did you mean `durationSeconds`/)
    throwsNaming({ ...valid, sts: { timeout: 100 } }, 'sts.timeout', /did you mean `sts.timeoutMs`/)
    throwsNaming({ ...valid, whatever: 1 }, 'whatever', /the options are/)
  })

  it('checks the sts options', () => {
    throwsNaming({ ...valid, sts: { endpoint: 'https://sts.tencentcloudapi.com' } }, 'sts.endpoint', /sts\.protocol/)
    throwsNaming({ ...valid, sts: { protocol: 'http' } }, 'sts.protocol', /'http:'/)
    throwsNaming({ ...valid, sts: { timeoutMs: 0 } }, 'sts.timeoutMs', /5000/)
    throwsNaming({ ...valid, sts: { roleArn: 'arn:aws:iam::1:role/x' } }, 'sts.roleArn', /CAM console/)
    throwsNaming({ ...valid, sts: { client: {} } }, 'sts.client', /GetFederationToken/)
    throwsNaming({ ...valid, sts: 'sts.tencentcloudapi.com' }, 'sts', /public STS/)
    assert.doesNotThrow(() => createStsRouter({ ...valid, sts: { endpoint: '127.0.0.1:9000', protocol: 'http://' } }))
  })

  it('checks hooks, logger, cache and rateLimit shapes', () => {
    throwsNaming({ ...valid, onIssue: 'log' }, 'onIssue', /function/)
    throwsNaming({ ...valid, onError: 1 }, 'onError', /function/)
    throwsNaming({ ...valid, logger: { log() {} } }, 'logger', /console/)
    throwsNaming({ ...valid, cache: true }, 'cache', /cache: false/)
    throwsNaming({ ...valid, rateLimit: 'on' }, 'rateLimit', /rateLimit: false/)
  })

  it('gives each mistake a stable code', () => {
    try {
      createStsRouter({ ...valid, bucket: 'nope' })
      assert.fail('should throw')
    } catch (error) {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.code, 'ERR_COS_STS_BUCKET')
    }
  })

  it('refuses plain HTTP to an STS that is not on a loopback or private address, unless sts.allowInsecureHttp says so', () => {
    throwsNaming({ ...valid, sts: { protocol: 'http:' } }, 'sts.protocol', /allowInsecureHttp/)
    throwsNaming({ ...valid, sts: { protocol: 'http://', endpoint: 'sts.internal.tencentcloudapi.com' } }, 'sts.protocol', /in clear/)
    throwsNaming({ ...valid, sts: { protocol: 'http:', endpoint: '8.8.8.8:80' } }, 'sts.protocol', /https:/)
    throwsNaming({ ...valid, sts: { protocol: 'http:', endpoint: '172.32.0.1' } }, 'sts.protocol', /allowInsecureHttp/)
    throwsNaming({ ...valid, sts: { protocol: 'http:', endpoint: '127.0.0.1.example.com' } }, 'sts.protocol', /allowInsecureHttp/)
    throwsNaming({ ...valid, sts: { protocol: 'http:', endpoint: 'dev.localhost:9000' } }, 'sts.protocol', /allowInsecureHttp/)
    throwsNaming({ ...valid, sts: { allowInsecureHttp: 'yes' } }, 'sts.allowInsecureHttp', /leave it out/)
    for (const endpoint of ['127.0.0.1:9000', 'localhost:9000', '10.0.0.5', '172.16.3.4:8080', '192.168.1.10:9000']) {
      assert.doesNotThrow(() => createStsRouter({ ...valid, sts: { protocol: 'http:', endpoint } }), endpoint)
    }
    assert.doesNotThrow(() => createStsRouter({ ...valid, sts: { protocol: 'http:', endpoint: 'sts.example.internal', allowInsecureHttp: true } }))
  })

  it('checks authorizeTimeoutMs', () => {
    throwsNaming({ ...valid, authorizeTimeoutMs: 0 }, 'authorizeTimeoutMs', /e\.g\. 10000/)
    throwsNaming({ ...valid, authorizeTimeoutMs: '5s' }, 'authorizeTimeoutMs', /e\.g\. 10000/)
    throwsNaming({ ...valid, authorizeTimeout: 5000 }, 'authorizeTimeout', /did you mean `authorizeTimeoutMs`/)
    assert.doesNotThrow(() => createStsRouter({ ...valid, authorizeTimeoutMs: 3000 }))
  })
})
