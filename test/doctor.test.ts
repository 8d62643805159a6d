// `express-cos-sts doctor` as a child process against the local STS: a good key passes, each fault is named with its remedy.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { scanForSecret } from './support/leak-watch.js'

const CLI = path.resolve('src/cli.ts')

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI with only the variables given (no TENCENTCLOUD_* or COS_* of the machine). */
function doctor(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TENCENTCLOUD_|COS_)/.test(name)))
    execFile(process.execPath, ['--import', 'tsx', CLI, 'doctor', ...args], { env: { ...clean, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      scanForSecret('doctor output', stdout + stderr)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('cli: express-cos-sts doctor', () => {
  let sts: LocalSts
  let env: Record<string, string>
  before(async () => {
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
    env = {
      TENCENTCLOUD_SECRET_ID: TEST_SECRET_ID,
      TENCENTCLOUD_SECRET_KEY: TEST_SECRET_KEY,
      COS_BUCKET: TEST_BUCKET,
      COS_REGION: TEST_REGION,
      COS_STS_ENDPOINT: sts.endpoint,
      COS_STS_PROTOCOL: 'http:',
    }
  })
  after(() => sts.close())
  afterEach(() => sts.reset())

  it('exit 0 when STS issues a key; one call with a minimal read-only policy; no key printed', async () => {
    const run = await doctor([], env)
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /✓ STS issued a temporary key/)
    assert.match(run.stdout, /GetFederationToken at http:\/\/127\.0\.0\.1:\d+/)
    assert.equal(sts.calls.length, 1)
    const policy = sts.calls[0]?.policy as { statement: Array<{ action: string[]; resource: string[] }> }
    assert.deepEqual(
      policy.statement.map((s) => s.action),
      [['name/cos:HeadObject']],
    )
    assert.deepEqual(policy.statement[0]?.resource, [`qcs::cos:${TEST_REGION}:uid/1250000000:${TEST_BUCKET}/express-cos-sts-doctor/probe`])
    assert.ok(!run.stdout.includes(TEST_SECRET_ID), 'the SecretId is shown masked only')
  })

  it('a wrong SecretKey: exit 1, AuthFailure.SignatureFailure and what to do', async () => {
    const run = await doctor([], { ...env, TENCENTCLOUD_SECRET_KEY: 'anotherFakeKeyThatIsWrong0123456789' })
    assert.equal(run.code, 1)
    assert.match(run.stdout, /✗ STS refused \(AuthFailure\.SignatureFailure, RequestId [\w-]+\): the SecretKey does not match the SecretId/)
  })

  it('an unknown SecretId: exit 1, AuthFailure.SecretIdNotFound', async () => {
    const run = await doctor([], { ...env, TENCENTCLOUD_SECRET_ID: 'AKIDunknownUnknownUnknownUnknown00000' })
    assert.equal(run.code, 1)
    assert.match(run.stdout, /AuthFailure\.SecretIdNotFound\b.*deleted or disabled/)
  })

  it('STS refusing the resource (GrantOtherResource): exit 1 names the APPID check', async () => {
    sts.fail({ kind: 'error', code: 'InvalidParameter.GrantOtherResource', message: '[QC_STS] cant grant other resource' })
    const run = await doctor([], env)
    assert.equal(run.code, 1)
    assert.match(run.stdout, /InvalidParameter\.GrantOtherResource.*APPID/)
    assert.match(run.stdout, /STS said: "\[QC_STS\] cant grant other resource"/)
  })

  it('a key not allowed to call STS (UnauthorizedOperation): exit 1 says which permission', async () => {
    sts.fail({ kind: 'error', code: 'UnauthorizedOperation' })
    const run = await doctor([], env)
    assert.equal(run.code, 1)
    assert.match(run.stdout, /sts:GetFederationToken/)
  })

  it('nothing listening at the endpoint: exit 1, could not get an answer', async () => {
    const run = await doctor(['--endpoint', '127.0.0.1:1'], env)
    assert.equal(run.code, 1)
    assert.match(run.stdout, /✗ could not get an answer from http:\/\/127\.0\.0\.1:1/)
  })

  it('missing settings: exit 1 naming the variable, and STS is not called', async () => {
    const { COS_BUCKET: _bucket, ...noBucket } = env
    const run = await doctor([], noBucket)
    assert.equal(run.code, 1)
    assert.match(run.stdout, /✗ settings: .*`bucket`.*set COS_BUCKET or pass --bucket/)
    const noKey = await doctor([], { ...env, TENCENTCLOUD_SECRET_KEY: '' })
    assert.equal(noKey.code, 1)
    assert.match(noKey.stdout, /TENCENTCLOUD_SECRET_KEY/)
    assert.equal(sts.calls.length, 0)
  })

  it('usage: exit 2 for an unknown flag; --help exits 0', async () => {
    const bad = await doctor(['--bucked', 'x'], env)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /Usage: express-cos-sts doctor/)
    const help = await doctor(['--help'], env)
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Exit status: 0 STS issued a key/)
  })
})
