// Tests of the local STS (express-cos-sts/testing), driven through the real tencentcloud-sdk-nodejs-sts client.
import assert from 'node:assert/strict'
import http from 'node:http'
import * as tencentcloud from 'tencentcloud-sdk-nodejs-sts'
import Sign from 'tencentcloud-sdk-nodejs-common/tencentcloud/common/sign'
import { startLocalSts, type LocalSts, type LocalStsOptions } from '../src/testing/index.js'
import { computeTc3Signature, parseTc3Authorization, utcDate } from '../src/testing/tc3.js'

const StsClient = tencentcloud.sts.v20180813.Client
type StsClientT = InstanceType<typeof StsClient>

// An explicit agent also keeps the SDK from picking up an http_proxy from the environment.
const agent = new http.Agent({ keepAlive: true })
const FAKE_ID = 'AKIDLOCALTESTAAAAAAAAAAAAAAAAAAAAAAAA'
const FAKE_KEY = 'localtest-secret-key-not-real-0000'
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const ROLE_ARN = 'qcs::cam::uin/100000000001:roleName/local-test-role'

const cosPolicy = (resource = 'qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/uploads/*') => ({
  version: '2.0',
  statement: [{ effect: 'allow', action: ['name/cos:PutObject', 'name/cos:PostObject'], resource: [resource] }],
})
const encode = (policy: unknown) => encodeURIComponent(JSON.stringify(policy))

interface SdkError extends Error {
  code?: string
  requestId?: string
  httpCode?: number
}

async function rejection(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof Error, 'the SDK rejects with an Error')
    return err
  }
  return assert.fail('expected the call to reject')
}

function clientFor(sts: LocalSts, opts: { secretId?: string; secretKey?: string; reqTimeout?: number } = {}): StsClientT {
  return new StsClient({
    credential: { secretId: opts.secretId ?? sts.secretId, secretKey: opts.secretKey ?? sts.secretKey },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: sts.endpoint, protocol: sts.protocol, reqTimeout: opts.reqTimeout ?? 5, agent } },
  })
}

const federation = (c: StsClientT, extra: Record<string, unknown> = {}) => c.GetFederationToken({ Name: 'cos-sts', Policy: encode(cosPolicy()), ...extra })

async function withSts<T>(options: LocalStsOptions, fn: (sts: LocalSts) => Promise<T>): Promise<T> {
  const sts = await startLocalSts(options)
  try {
    return await fn(sts)
  } finally {
    await sts.close()
  }
}

interface RawAnswer {
  Response: { Error?: { Code: string }; Credentials?: { TmpSecretId: string }; RequestId: string }
}

/** A hand-made request, for what the SDK cannot express (bad Authorization, another Host). */
function rawPost(sts: LocalSts, headers: Record<string, string>, body: string): Promise<{ status: number; json: RawAnswer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sts.port, method: 'POST', path: '/', headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as RawAnswer }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Headers of a GetFederationToken call signed with our own TC3 code for a chosen host and scope date. */
function signedHeaders(sts: LocalSts, body: string, opts: { hostHeader: string; signedHost: string; date?: string }) {
  const timestamp = String(Math.floor(Date.now() / 1000))
  const auth = { date: opts.date ?? utcDate(Number(timestamp)), service: 'sts', signedHeaders: ['content-type', 'host'] }
  const headers = { 'content-type': 'application/json', host: opts.hostHeader }
  const signature = computeTc3Signature({ method: 'POST', url: '/', headers, body: Buffer.from(body), timestamp }, auth, sts.secretKey, opts.signedHost)
  return {
    'Content-Type': 'application/json',
    Host: opts.hostHeader,
    'X-TC-Action': 'GetFederationToken',
    'X-TC-Version': '2018-08-13',
    'X-TC-Region': 'ap-guangzhou',
    'X-TC-Timestamp': timestamp,
    Authorization: `TC3-HMAC-SHA256 Credential=${sts.secretId}/${auth.date}/sts/tc3_request, SignedHeaders=content-type;host, Signature=${signature}`,
  }
}

describe('local STS (express-cos-sts/testing)', function () {
  let sts: LocalSts
  let client: StsClientT

  beforeEach(async () => {
    sts = await startLocalSts()
    client = clientFor(sts)
  })
  afterEach(async () => {
    await sts.close()
  })
  after(() => agent.destroy())

  describe('success through the SDK', () => {
    it('GetFederationToken answers the documented shape with realistic, unique keys', async () => {
      const before = Math.floor(Date.now() / 1000)
      const a = await federation(client)
      const b = await federation(client)
      const after = Math.floor(Date.now() / 1000)

      assert.ok(a.Credentials && b.Credentials)
      assert.match(a.Credentials.TmpSecretId ?? '', /^AKID[A-Za-z0-9]{40,}$/)
      assert.match(a.Credentials.TmpSecretKey ?? '', /^[A-Za-z0-9+/]{40,}$/)
      assert.ok((a.Credentials.Token ?? '').length >= 500, 'token is long')
      assert.notEqual(a.Credentials.TmpSecretId, b.Credentials.TmpSecretId)
      assert.notEqual(a.Credentials.TmpSecretKey, b.Credentials.TmpSecretKey)
      assert.notEqual(a.Credentials.Token, b.Credentials.Token)
      // Default duration is 1800 s.
      assert.ok(a.ExpiredTime !== undefined && a.ExpiredTime >= before + 1800 && a.ExpiredTime <= after + 1800)
      assert.match(a.Expiration ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      assert.equal(Date.parse(a.Expiration ?? ''), a.ExpiredTime * 1000)
      assert.match(a.RequestId ?? '', UUID_RE)
      assert.notEqual(a.RequestId, b.RequestId)
    })

    it('remembers issued credentials by TmpSecretId and by Token', async () => {
      const res = await federation(client, { DurationSeconds: 900 })
      const byId = sts.findByTmpSecretId(res.Credentials?.TmpSecretId ?? '')
      assert.ok(byId)
      assert.equal(sts.findByToken(res.Credentials?.Token ?? ''), byId)
      assert.equal(byId.tmpSecretKey, res.Credentials?.TmpSecretKey)
      assert.equal(byId.expiredTime, res.ExpiredTime)
      assert.equal(byId.expiredTime - byId.startTime, 900)
      assert.equal(byId.action, 'GetFederationToken')
      assert.deepEqual(byId.policy, cosPolicy())
      assert.equal(sts.findByTmpSecretId('AKIDnotissued'), undefined)
      assert.equal(sts.findByToken('not-a-token'), undefined)
    })

    it('AssumeRole issues keys with the 7200 s default and logs the role', async () => {
      const before = Math.floor(Date.now() / 1000)
      const res = await client.AssumeRole({ RoleArn: ROLE_ARN, RoleSessionName: 'upload-session_1' })
      assert.match(res.Credentials?.TmpSecretId ?? '', /^AKID/)
      assert.ok(res.ExpiredTime !== undefined && res.ExpiredTime >= before + 7200 && res.ExpiredTime <= before + 7202)
      const issued = sts.findByToken(res.Credentials?.Token ?? '')
      assert.equal(issued?.action, 'AssumeRole')
      assert.equal(issued?.policy, undefined)
      const call = sts.calls.at(-1)
      assert.equal(call?.action, 'AssumeRole')
      assert.equal(call?.outcome, 'ok')
      assert.equal(call?.roleArn, ROLE_ARN)
      assert.equal(call?.roleSessionName, 'upload-session_1')
      assert.equal(call?.durationSeconds, 7200)
    })

    it('AssumeRole with a policy and a duration records both', async () => {
      await client.AssumeRole({
        RoleArn: 'qcs::cam::uin/100000000001:role/4611686018427397919',
        RoleSessionName: 'ab',
        DurationSeconds: 900,
        Policy: encode(cosPolicy()),
      })
      const call = sts.calls.at(-1)
      assert.equal(call?.outcome, 'ok')
      assert.equal(call?.durationSeconds, 900)
      assert.deepEqual(call?.policy, cosPolicy())
    })

    it('logs the decoded policy, with a unicode object key surviving URL encoding', async () => {
      const resource = 'qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/上传/报告 ✓ 2024.pdf'
      const policy = cosPolicy(resource)
      await federation(client, { Policy: encode(policy), Name: 'web-upload' })
      const call = sts.calls.at(-1)
      assert.ok(call)
      assert.equal(call.outcome, 'ok')
      assert.equal(call.secretId, sts.secretId)
      assert.equal(call.name, 'web-upload')
      assert.equal(call.durationSeconds, 1800)
      assert.equal(call.params['Policy'], encode(policy), 'params are the body as received')
      assert.deepEqual(call.policy, policy)
      const decoded = call.policy as { statement: Array<{ resource: string[] }> }
      assert.equal(decoded.statement[0]?.resource[0], resource)
      assert.ok(call.at > 0)
    })

    it('accepts every key given in options.keys', async () => {
      await withSts({ keys: [{ secretId: FAKE_ID, secretKey: FAKE_KEY }] }, async (local) => {
        await federation(clientFor(local, { secretId: FAKE_ID, secretKey: FAKE_KEY }))
        await federation(clientFor(local))
        assert.deepEqual(
          local.calls.map((c) => [c.secretId, c.outcome]),
          [
            [FAKE_ID, 'ok'],
            [local.secretId, 'ok'],
          ],
        )
      })
    })
  })

  describe('signature (TC3-HMAC-SHA256)', () => {
    it('computes the same signature as the SDK for the host it signs (no port)', () => {
      const payload = { Name: 'x', Policy: encode(cosPolicy()) }
      const timestamp = 1700000000
      const sdkAuth = Sign.sign3({
        method: 'POST',
        url: `http://127.0.0.1:${sts.port}/`,
        payload,
        timestamp,
        service: '127',
        secretId: FAKE_ID,
        secretKey: FAKE_KEY,
        multipart: false,
        boundary: '',
        headers: { 'Content-Type': 'application/json' },
      })
      const parsed = parseTc3Authorization(sdkAuth)
      assert.ok(parsed)
      assert.deepEqual([parsed.secretId, parsed.date, parsed.service, parsed.signedHeaders], [FAKE_ID, '2023-11-14', '127', ['content-type', 'host']])
      const req = {
        method: 'POST',
        url: '/',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(payload)),
        timestamp: String(timestamp),
      }
      assert.equal(computeTc3Signature(req, parsed, FAKE_KEY, '127.0.0.1'), parsed.signature)
      assert.notEqual(computeTc3Signature(req, parsed, FAKE_KEY, `127.0.0.1:${sts.port}`), parsed.signature)
    })

    it('refuses a wrong secretKey with AuthFailure.SignatureFailure', async () => {
      const err = await rejection(federation(clientFor(sts, { secretKey: 'localtest-wrong-key' })))
      assert.equal(err.code, 'AuthFailure.SignatureFailure')
      assert.match(err.requestId ?? '', UUID_RE)
      assert.equal(sts.calls.at(-1)?.outcome, 'AuthFailure.SignatureFailure')
      assert.equal(sts.calls.at(-1)?.policy, undefined, 'nothing is decoded for a refused signature')
    })

    it('refuses an unknown secretId with AuthFailure.SecretIdNotFound', async () => {
      const err = await rejection(federation(clientFor(sts, { secretId: FAKE_ID })))
      assert.equal(err.code, 'AuthFailure.SecretIdNotFound')
      assert.equal(sts.calls.at(-1)?.secretId, FAKE_ID)
    })

    it('refuses a timestamp more than 300 s off the server clock with AuthFailure.SignatureExpire', async () => {
      await withSts({ now: () => Date.now() + 10 * 60_000 }, async (ahead) => {
        const err = await rejection(federation(clientFor(ahead)))
        assert.equal(err.code, 'AuthFailure.SignatureExpire')
      })
      // Within the window the same key works, and issuance follows the server clock.
      await withSts({ now: () => Date.now() + 200_000 }, async (ahead) => {
        const res = await federation(clientFor(ahead))
        const expected = Math.floor((Date.now() + 200_000) / 1000) + 1800
        assert.ok(res.ExpiredTime !== undefined && Math.abs(res.ExpiredTime - expected) <= 2)
      })
    })

    it('accepts a signature over the Host header as sent, port included', async () => {
      const body = JSON.stringify({ Name: 'raw', Policy: encode(cosPolicy()) })
      const host = `127.0.0.1:${sts.port}`
      const ok = await rawPost(sts, signedHeaders(sts, body, { hostHeader: host, signedHost: host }), body)
      assert.equal(ok.status, 200)
      assert.match(ok.json.Response.Credentials?.TmpSecretId ?? '', /^AKID/)
      const other = await rawPost(sts, signedHeaders(sts, body, { hostHeader: host, signedHost: 'sts.tencentcloudapi.com' }), body)
      assert.equal(other.json.Response.Error?.Code, 'AuthFailure.SignatureFailure')
    })

    it('refuses a credential scope whose date is not the date of X-TC-Timestamp', async () => {
      const body = JSON.stringify({ Name: 'raw', Policy: encode(cosPolicy()) })
      const host = `127.0.0.1:${sts.port}`
      const yesterday = utcDate(Math.floor(Date.now() / 1000) - 86400)
      const res = await rawPost(sts, signedHeaders(sts, body, { hostHeader: host, signedHost: host, date: yesterday }), body)
      assert.equal(res.json.Response.Error?.Code, 'AuthFailure.SignatureFailure')
    })

    it('refuses a missing or garbled Authorization with AuthFailure.InvalidAuthorization', async () => {
      const body = JSON.stringify({ Name: 'raw', Policy: encode(cosPolicy()) })
      const good = signedHeaders(sts, body, { hostHeader: `127.0.0.1:${sts.port}`, signedHost: '127.0.0.1' })
      const without: Record<string, string> = { ...good }
      delete without['Authorization']
      for (const headers of [
        without,
        { ...good, Authorization: 'TC3-HMAC-SHA256 Credential=garbage' },
        { ...good, Authorization: good.Authorization.replace('content-type;host', 'host') },
      ]) {
        const res = await rawPost(sts, headers, body)
        assert.equal(res.status, 200)
        assert.equal(res.json.Response.Error?.Code, 'AuthFailure.InvalidAuthorization')
        assert.match(res.json.Response.RequestId, UUID_RE)
      }
      assert.deepEqual(
        sts.calls.map((c) => c.outcome),
        Array(3).fill('AuthFailure.InvalidAuthorization'),
      )
    })
  })

  describe('parameter validation', () => {
    const principalPolicy = {
      version: '2.0',
      statement: [{ effect: 'allow', principal: { qcs: ['qcs::cam::uin/100000000001:uin/100000000002'] }, action: 'name/cos:GetObject', resource: '*' }],
    }

    it('refuses a policy with a principal', async () => {
      const err = await rejection(federation(client, { Policy: encode(principalPolicy) }))
      assert.equal(err.code, 'InvalidParameter.StrategyInvalid')
      const viaRole = await rejection(client.AssumeRole({ RoleArn: ROLE_ARN, RoleSessionName: 'ab', Policy: encode(principalPolicy) }))
      assert.equal(viaRole.code, 'InvalidParameter.StrategyInvalid')
      assert.equal(sts.calls.at(-1)?.policy, undefined)
    })

    it('refuses malformed policies with the STS policy codes', async () => {
      const cases: Array<[string, string]> = [
        ['%E0%A4%A', 'InvalidParameter.StrategyFormatError'], // broken URL encoding
        [encodeURIComponent('{"version":"2.0",'), 'InvalidParameter.StrategyFormatError'],
        [encode({ ...cosPolicy(), version: '1.0' }), 'InvalidParameter.StrategyFormatError'],
        [encode({ version: '2.0', statement: [] }), 'InvalidParameter.StrategyFormatError'],
        [encode({ version: '2.0', statement: [{ effect: 'permit', action: '*', resource: '*' }] }), 'InvalidParameter.StrategyFormatError'],
        [encode({ version: '2.0', statement: [{ effect: 'allow', resource: '*' }] }), 'InvalidParameter.StrategyFormatError'],
        [encode({ version: '2.0', statement: [{ effect: 'allow', action: '*', resource: 'examplebucket/*' }] }), 'InvalidParameter.ResouceError'],
        [encode(cosPolicy(`qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/${'a'.repeat(6200)}`)), 'InvalidParameter.PolicyTooLong'],
      ]
      for (const [policy, code] of cases) {
        const err = await rejection(federation(client, { Policy: policy }))
        assert.equal(err.code, code, `policy ${policy.slice(0, 60)}`)
      }
      // The limit counts decoded characters: a policy just under it passes.
      const near = cosPolicy(`qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/${'a'.repeat(5900)}`)
      assert.ok(JSON.stringify(near).length <= 6144)
      await federation(client, { Policy: encode(near) })
    })

    it('enforces the GetFederationToken duration ceiling: 129600 s for a sub-account', async () => {
      const ok = await federation(client, { DurationSeconds: 129600 })
      assert.ok(ok.Credentials)
      const err = await rejection(federation(client, { DurationSeconds: 129601 }))
      assert.equal(err.code, 'InvalidParameter.OverTimeError')
      assert.equal((await rejection(federation(client, { DurationSeconds: 1800.5 }))).code, 'InvalidParameter')
      assert.equal((await rejection(federation(client, { DurationSeconds: 0 }))).code, 'InvalidParameterValue')
    })

    it('enforces the GetFederationToken duration ceiling: 7200 s for a root account', async () => {
      await withSts({ accountType: 'root' }, async (root) => {
        const c = clientFor(root)
        await federation(c, { DurationSeconds: 7200 })
        const err = await rejection(federation(c, { DurationSeconds: 7201 }))
        assert.equal(err.code, 'InvalidParameter.OverTimeError')
        assert.equal(root.calls.at(-1)?.durationSeconds, undefined)
      })
    })

    it('checks Name and reports a missing parameter', async () => {
      assert.equal((await rejection(federation(client, { Name: undefined }))).code, 'MissingParameter')
      assert.equal((await rejection(federation(client, { Name: 'has space' }))).code, 'InvalidParameterValue')
      assert.equal((await rejection(federation(client, { Name: 'n'.repeat(33) }))).code, 'InvalidParameterValue')
      assert.equal((await rejection(federation(client, { Policy: undefined }))).code, 'MissingParameter')
      await federation(client, { Name: 'n'.repeat(32) })
    })

    it('refuses an undeclared parameter with UnknownParameter', async () => {
      const err = await rejection(federation(client, { policy: 'lowercase-typo' }))
      assert.equal(err.code, 'UnknownParameter')
      assert.match(err.message, /policy/)
    })

    it('checks RoleSessionName, RoleArn and the AssumeRole duration range', async () => {
      const role = (extra: Record<string, unknown>) => client.AssumeRole({ RoleArn: ROLE_ARN, RoleSessionName: 'session', ...extra })
      for (const name of ['a', 'has space', 's'.repeat(129), 'slash/not-allowed']) {
        const err = await rejection(role({ RoleSessionName: name }))
        assert.equal(err.code, 'InvalidParameterValue', `RoleSessionName ${name.slice(0, 20)}`)
      }
      assert.equal((await rejection(role({ RoleSessionName: undefined }))).code, 'MissingParameter')
      for (const arn of ['qcs::cam::uin/abc:roleName/x', 'arn:aws:iam::123456789012:role/x', 'qcs::cam::uin/1:role/name']) {
        assert.equal((await rejection(role({ RoleArn: arn }))).code, 'InvalidParameterValue', arn)
      }
      assert.equal((await rejection(role({ DurationSeconds: 899 }))).code, 'InvalidParameterValue')
      assert.equal((await rejection(role({ DurationSeconds: 43201 }))).code, 'InvalidParameter.OverTimeError')
      await role({ DurationSeconds: 43200, RoleSessionName: 's'.repeat(128) })
      assert.equal(sts.calls.at(-1)?.outcome, 'ok')
    })

    it('answers an action it does not serve with InvalidAction', async () => {
      const err = await rejection(client.GetSessionToken({} as Parameters<StsClientT['GetSessionToken']>[0]))
      assert.equal(err.code, 'InvalidAction')
      assert.equal(sts.calls.at(-1)?.action, 'GetSessionToken')
    })

    it('requires the Region common parameter', async () => {
      const noRegion = new StsClient({
        credential: { secretId: sts.secretId, secretKey: sts.secretKey },
        profile: { httpProfile: { endpoint: sts.endpoint, protocol: sts.protocol, reqTimeout: 5, agent } },
      })
      const err = await rejection(federation(noRegion))
      assert.equal(err.code, 'MissingParameter')
      assert.match(err.message, /Region/)
    })

    it('refuses a body over 64 KiB with RequestSizeLimitExceeded', async () => {
      const err = await rejection(federation(client, { Policy: 'p'.repeat(70 * 1024) }))
      assert.equal(err.code, 'RequestSizeLimitExceeded')
      assert.equal(sts.calls.at(-1)?.outcome, 'RequestSizeLimitExceeded')
      // Past 1 MiB the body is not even drained: the connection is cut.
      const cut = await rejection(federation(client, { Policy: 'p'.repeat(1100 * 1024) }))
      assert.equal(cut.code, undefined)
      assert.equal(sts.calls.at(-1)?.outcome, 'RequestSizeLimitExceeded')
      await federation(client) // the server is still healthy afterwards
    })
  })

  describe('faults', () => {
    it('answers an injected API error as the SDK expects', async () => {
      sts.fail({ kind: 'error', code: 'RequestLimitExceeded', message: 'slow down' })
      const err = await rejection(federation(client))
      assert.equal(err.code, 'RequestLimitExceeded')
      assert.equal(err.message, 'slow down')
      assert.match(err.requestId ?? '', UUID_RE)
      assert.equal(sts.calls.at(-1)?.outcome, 'RequestLimitExceeded')
    })

    it('http500: the SDK rejects with httpCode 500 and no code', async () => {
      sts.fail({ kind: 'http500' })
      const err = await rejection(federation(client))
      assert.equal(err.httpCode, 500)
      assert.equal(err.code, undefined)
      assert.equal(sts.calls.at(-1)?.outcome, 'http500')
    })

    it('malformed: the SDK rejects on a body that is not JSON', async () => {
      sts.fail({ kind: 'malformed' })
      const err = await rejection(federation(client))
      assert.equal(err.code, undefined)
      assert.match(err.message, /json/i)
      assert.equal(sts.calls.at(-1)?.outcome, 'malformed')
    })

    it('hang: the SDK reqTimeout fires and close() still returns promptly', async () => {
      sts.fail({ kind: 'hang' })
      const started = Date.now()
      const err = await rejection(federation(clientFor(sts, { reqTimeout: 0.3 })))
      const waited = Date.now() - started
      assert.match(err.message, /timeout/i)
      assert.ok(waited >= 280 && waited < 3000, `timed out after ${waited} ms`)
      // A second hanging call still open on the server when it closes.
      const pending = rejection(federation(clientFor(sts, { reqTimeout: 10 })))
      while (sts.calls.length < 2) await new Promise((r) => setTimeout(r, 10))
      const closeStarted = Date.now()
      await sts.close()
      assert.ok(Date.now() - closeStarted < 1000, 'close() does not wait for hanging calls')
      const second = await pending
      assert.ok(Date.now() - closeStarted < 2000, `pending call ended: ${second.message}`)
      assert.deepEqual(
        sts.calls.map((c) => c.outcome),
        ['hang', 'hang'],
      )
    })

    it('reset: the SDK rejects when the socket is destroyed', async () => {
      sts.fail({ kind: 'reset' })
      const err = await rejection(federation(client))
      assert.equal(err.code, undefined)
      assert.match(err.message, /socket hang up|ECONNRESET/i)
      assert.equal(sts.calls.at(-1)?.outcome, 'reset')
    })

    it('applies faults after the signature check and without using them up', async () => {
      sts.fail({ kind: 'http500' }, 1)
      const auth = await rejection(federation(clientFor(sts, { secretKey: 'localtest-wrong-key' })))
      assert.equal(auth.code, 'AuthFailure.SignatureFailure')
      assert.equal((await rejection(federation(client))).httpCode, 500)
      await federation(client)
    })

    it('`times` makes a fault recover; without it the fault lasts until fail(null)', async () => {
      sts.fail({ kind: 'error', code: 'InternalError' }, 2)
      assert.equal((await rejection(federation(client))).code, 'InternalError')
      assert.equal((await rejection(federation(client))).code, 'InternalError')
      await federation(client)

      sts.fail({ kind: 'error', code: 'ResourceUnavailable' })
      for (let i = 0; i < 3; i++) assert.equal((await rejection(federation(client))).code, 'ResourceUnavailable')
      sts.fail(null)
      await federation(client)
      assert.deepEqual(
        sts.calls.map((c) => c.outcome),
        ['InternalError', 'InternalError', 'ok', 'ResourceUnavailable', 'ResourceUnavailable', 'ResourceUnavailable', 'ok'],
      )
      assert.throws(() => sts.fail({ kind: 'hang' }, 0), RangeError)
    })

    it('reset() clears calls and faults but keeps issued credentials', async () => {
      const res = await federation(client)
      sts.fail({ kind: 'http500' })
      sts.reset()
      assert.equal(sts.calls.length, 0)
      await federation(client)
      assert.equal(sts.calls.length, 1)
      assert.ok(sts.findByTmpSecretId(res.Credentials?.TmpSecretId ?? ''))
    })
  })

  describe('latency and lifecycle', () => {
    const timed = async (c: StsClientT) => {
      const t = Date.now()
      await federation(c)
      return Date.now() - t
    }

    it('setLatency() delays every answer, refusals included', async () => {
      await federation(client) // warm the connection
      await federation(client)
      sts.setLatency(300)
      const slow = await timed(client)
      const t = Date.now()
      await rejection(federation(clientFor(sts, { secretKey: 'localtest-wrong-key' })))
      const slowRefusal = Date.now() - t
      sts.setLatency(0)
      assert.ok(slow >= 295, `slow call took ${slow} ms`)
      assert.ok(slowRefusal >= 295, `slow refusal took ${slowRefusal} ms`)
      await federation(client)
      // Which delay each answer got, as the server applied it (a wall-clock upper bound would measure the machine's load).
      assert.deepEqual(
        sts.calls.slice(-5).map((call) => call.latencyMs),
        [0, 0, 300, 300, 0],
      )
      assert.throws(() => sts.setLatency(-1), RangeError)
    })

    it('options.latencyMs sets the starting latency', async () => {
      await withSts({ latencyMs: 200 }, async (slow) => {
        assert.ok((await timed(clientFor(slow))) >= 195)
      })
    })

    it('binds 127.0.0.1, reports its address, and close() drops keep-alive sockets', async () => {
      assert.equal(sts.endpoint, `127.0.0.1:${sts.port}`)
      assert.equal(sts.url, `http://127.0.0.1:${sts.port}/`)
      assert.equal(sts.protocol, 'http:')
      await federation(client) // leaves an idle keep-alive socket in the agent
      const t = Date.now()
      await sts.close()
      await sts.close() // idempotent
      assert.ok(Date.now() - t < 500, 'close() did not wait for idle sockets')
      const err = await rejection(federation(clientFor(sts, { reqTimeout: 1 })))
      assert.match(err.message, /ECONNREFUSED|socket hang up|ECONNRESET/)
    })
  })
})
