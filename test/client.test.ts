// express-cos-sts/client in Node: which requests the helper makes for the SDK's calls, Retry-After, errors, clocks, the wx.request adapter, requestUpload.
import assert from 'node:assert/strict'
import type COS from 'cos-js-sdk-v5'
import {
  createGetAuthorization,
  CredentialsError,
  requestUpload,
  type AuthorizationRequest,
  type ClientOptions,
  type FetchLike,
  type GetAuthorization,
  type RequestLike,
  type ScopeItem,
  type SdkCredentials,
} from '../src/client/index.js'

const BUCKET = 'examplebucket-1250000000'
const REGION = 'ap-guangzhou'
const NOW_MS = 1_900_000_000_000 // the device clock in these tests; injected, never the real one
const UPLOAD_ACTIONS = [
  'PutObject',
  'ListMultipartUploads',
  'InitiateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'ListParts',
  'AbortMultipartUpload',
].map((a) => `name/cos:${a}`)

interface RouteCall {
  method: string
  url: string
  headers: Record<string, string>
  body: unknown
  credentials: string | undefined
}
type Answer = { status: number; body?: unknown; text?: string; headers?: Record<string, string> }

/** A fake route behind an injected fetch: records every request and answers with `answer(call, index)`. */
function fakeRoute(answer: (call: RouteCall, index: number) => Answer | Promise<Answer>): { fetch: FetchLike; calls: RouteCall[] } {
  const calls: RouteCall[] = []
  const fetch: FetchLike = async (url, init) => {
    const call = {
      method: init.method,
      url,
      headers: init.headers,
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      credentials: init.credentials,
    }
    calls.push(call)
    await Promise.resolve() // answer later, as a network would, so concurrent asks overlap
    const reply = await answer(call, calls.length - 1)
    return new Response(reply.text ?? JSON.stringify(reply.body), { status: reply.status, headers: reply.headers })
  }
  return { fetch, calls }
}

let serial = 0
/** A 200 body like the router's: `scope` says what the key covers. */
function issued(scope: Array<{ actions: string[]; prefixes: string[] }>, extra: Record<string, unknown> = {}): Answer {
  serial++
  const start = Math.floor(NOW_MS / 1000)
  return {
    status: 200,
    body: {
      credentials: { tmpSecretId: `AKIDtmp${serial}`, tmpSecretKey: `tmpKey${serial}`, sessionToken: `token${serial}` },
      startTime: start,
      expiredTime: start + 1800,
      expiration: new Date((start + 1800) * 1000).toISOString(),
      requestId: `req-${serial}`,
      bucket: BUCKET,
      region: REGION,
      scope,
      serverTime: start,
      ...extra,
    },
  }
}

/** A route as the contract describes it: whole grant for GET, one key for all upload steps of one object, else exactly what was asked. */
function contractRoute(call: RouteCall): Answer {
  const scope = (call.body as { scope?: ScopeItem[] } | undefined)?.scope
  if (!scope) return issued([{ actions: UPLOAD_ACTIONS, prefixes: ['uploads/alice/*'] }])
  const keys = new Set(scope.map((item) => item.prefix))
  const onlyUploads = scope.every((item) => UPLOAD_ACTIONS.includes(item.action))
  if (keys.size === 1 && onlyUploads) return issued([{ actions: UPLOAD_ACTIONS, prefixes: [...keys] }])
  return issued(scope.map((item) => ({ actions: [item.action], prefixes: [item.prefix] })))
}

const error = (status: number, code: string, message: string, headers?: Record<string, string>): Answer => ({
  status,
  body: { error: { code, message } },
  headers,
})

/** One step of an upload as cos-js-sdk-v5 asks for it. */
function step(action: string, key: string): AuthorizationRequest {
  return {
    Bucket: BUCKET,
    Region: REGION,
    Key: action === 'ListMultipartUploads' ? '' : key,
    Scope: [{ action: `name/cos:${action}`, bucket: BUCKET, region: REGION, prefix: key }],
  }
}
const MULTIPART_STEPS = ['ListMultipartUploads', 'InitiateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']

/** Calls getAuthorization as the SDK does (with the SDK as `this`) and resolves with what it called back, counting callbacks. */
function ask(
  getAuthorization: GetAuthorization,
  request: AuthorizationRequest,
  sdk: unknown = { options: {} },
): Promise<SdkCredentials | Record<string, never>> {
  return new Promise((resolve, reject) => {
    let calls = 0
    getAuthorization.call(sdk, request, (credentials) => {
      calls++
      if (calls > 1) reject(new Error('called back twice'))
      setTimeout(() => (calls === 1 ? resolve(credentials) : undefined), 5)
    })
  })
}

/** The helper's options for tests: the fake route, a fixed clock, and a sleep that records the waits without waiting. */
function optionsFor(fetch: FetchLike, extra: ClientOptions = {}): ClientOptions & { waits: number[] } {
  const waits: number[] = []
  return {
    fetch,
    now: () => NOW_MS,
    sleep: async (ms) => {
      waits.push(ms)
    },
    waits,
    ...extra,
  }
}

// Compile time (tsc -p tsconfig.check.json): the helper fits cos-js-sdk-v5's own getAuthorization type, no cast needed.
const sdkOptions: COS.COSOptions = { getAuthorization: createGetAuthorization({ fetch: fakeRoute(contractRoute).fetch }) }
void sdkOptions

describe('client: createGetAuthorization', () => {
  describe('per-file keys (default)', () => {
    it('asks once for all the steps of one multipart upload and marks the key ScopeLimit', async () => {
      const route = fakeRoute(contractRoute)
      const getAuthorization = createGetAuthorization(optionsFor(route.fetch))
      const results = []
      for (const action of MULTIPART_STEPS) results.push(await ask(getAuthorization, step(action, 'uploads/alice/a.bin')))
      assert.equal(route.calls.length, 1)
      assert.deepEqual(route.calls[0], {
        method: 'POST',
        url: '/api/cos-credentials',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: { scope: step('ListMultipartUploads', 'uploads/alice/a.bin').Scope },
        credentials: 'same-origin',
      })
      for (const result of results) {
        assert.deepEqual(result, {
          TmpSecretId: 'AKIDtmp' + serial,
          TmpSecretKey: 'tmpKey' + serial,
          SecurityToken: 'token' + serial,
          StartTime: Math.floor(NOW_MS / 1000),
          ExpiredTime: Math.floor(NOW_MS / 1000) + 1800,
          ScopeLimit: true,
        })
      }
    })

    it('shares one request among concurrent steps of one object, and asks once per object for a folder', async () => {
      const route = fakeRoute(contractRoute)
      const getAuthorization = createGetAuthorization(optionsFor(route.fetch))
      const files = Array.from({ length: 10 }, (_, i) => `uploads/alice/folder/${i}.bin`)
      // Three files at a time, as uploadFiles runs them; each file's parts in parallel.
      for (let i = 0; i < files.length; i += 3) {
        await Promise.all(
          files.slice(i, i + 3).map(async (key) => {
            await ask(getAuthorization, step('ListMultipartUploads', key))
            await ask(getAuthorization, step('InitiateMultipartUpload', key))
            await Promise.all([1, 2, 3].map(() => ask(getAuthorization, step('UploadPart', key))))
            await ask(getAuthorization, step('CompleteMultipartUpload', key))
          }),
        )
      }
      assert.equal(route.calls.length, files.length)
      assert.deepEqual(
        route.calls.map((call) => (call.body as { scope: ScopeItem[] }).scope[0]?.prefix),
        files,
      )
    })

    it('with a route that narrows every step exactly, asks per distinct step and still shares concurrent identical ones', async () => {
      const route = fakeRoute((call) => {
        const scope = (call.body as { scope: ScopeItem[] }).scope
        return issued(scope.map((item) => ({ actions: [item.action], prefixes: [item.prefix] })))
      })
      const getAuthorization = createGetAuthorization(optionsFor(route.fetch))
      const key = 'uploads/alice/b.bin'
      await ask(getAuthorization, step('InitiateMultipartUpload', key))
      await Promise.all([1, 2, 3].map(() => ask(getAuthorization, step('UploadPart', key))))
      await ask(getAuthorization, step('UploadPart', key))
      await ask(getAuthorization, step('CompleteMultipartUpload', key))
      assert.deepEqual(
        route.calls.map((call) => (call.body as { scope: ScopeItem[] }).scope[0]?.action),
        ['name/cos:InitiateMultipartUpload', 'name/cos:UploadPart', 'name/cos:CompleteMultipartUpload'],
      )
    })

    it("does not serve one object's key for another object or for an action its scope lacks", async () => {
      const route = fakeRoute(contractRoute)
      const getAuthorization = createGetAuthorization(optionsFor(route.fetch))
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      await ask(getAuthorization, step('PutObject', 'uploads/alice/b.txt'))
      await ask(getAuthorization, step('GetObject', 'uploads/alice/a.txt'))
      await ask(getAuthorization, {
        Bucket: BUCKET,
        Region: REGION,
        Scope: [{ action: 'name/cos:PutObject', bucket: 'otherbucket-1250000000', region: REGION, prefix: 'uploads/alice/a.txt' }],
      })
      assert.equal(route.calls.length, 4)
    })

    it('asks again once a key has 90 s or less left (the SDK would drop it soon after)', async () => {
      const route = fakeRoute(contractRoute)
      let now = NOW_MS
      const getAuthorization = createGetAuthorization({ ...optionsFor(route.fetch), now: () => now })
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      now = NOW_MS + (1800 - 91) * 1000
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(route.calls.length, 1)
      now = NOW_MS + (1800 - 90) * 1000
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(route.calls.length, 2)
    })
  })

  describe('whole-grant keys (perFile: false)', () => {
    it('GETs one key for every call until it nears expiry, concurrent first calls sharing one request, without ScopeLimit', async () => {
      const route = fakeRoute(contractRoute)
      const getAuthorization = createGetAuthorization({ ...optionsFor(route.fetch), perFile: false })
      const first = await Promise.all(['a', 'b', 'c'].map((name) => ask(getAuthorization, step('PutObject', `uploads/alice/${name}`))))
      for (const action of MULTIPART_STEPS) await ask(getAuthorization, step(action, 'uploads/alice/d.bin'))
      assert.equal(route.calls.length, 1)
      assert.equal(route.calls[0]?.method, 'GET')
      assert.equal(route.calls[0]?.body, undefined)
      assert.deepEqual(route.calls[0]?.headers, { Accept: 'application/json' })
      for (const result of first) assert.equal('ScopeLimit' in result, false)
    })

    it('an ask with no Scope is a whole-grant ask in per-file mode too', async () => {
      const route = fakeRoute(contractRoute)
      const getAuthorization = createGetAuthorization(optionsFor(route.fetch))
      const result = await ask(getAuthorization, { Bucket: BUCKET, Region: REGION })
      assert.equal(route.calls[0]?.method, 'GET')
      assert.equal('ScopeLimit' in result, false)
    })
  })

  describe("errors: always calls back, with the route's message kept for the page", () => {
    it("401 fails at once: one request, the SDK gets {}, errorFor(key) has the route's code and message", async () => {
      const route = fakeRoute(() => error(401, 'Unauthenticated', 'Sign in to get upload credentials.'))
      const options = optionsFor(route.fetch)
      const getAuthorization = createGetAuthorization(options)
      assert.deepEqual(await ask(getAuthorization, step('ListMultipartUploads', 'uploads/alice/a.bin')), {})
      assert.equal(route.calls.length, 1)
      assert.deepEqual(options.waits, [])
      const refused = getAuthorization.errorFor('uploads/alice/a.bin')
      assert.ok(refused instanceof CredentialsError)
      assert.deepEqual(
        { ...refused, message: refused.message },
        { name: 'CredentialsError', status: 401, code: 'Unauthenticated', message: 'Sign in to get upload credentials.', retryAfter: undefined },
      )
      assert.equal(getAuthorization.errorFor(), refused)
      assert.equal(getAuthorization.errorFor('uploads/alice/other.bin'), undefined)
    })

    it('429 and 503 wait Retry-After and ask again; success clears the kept error', async () => {
      const answers = [
        error(429, 'TooManyRequests', 'Slow down.', { 'Retry-After': '7' }),
        error(503, 'StsThrottled', 'STS is busy; try again shortly.', { 'Retry-After': '1' }),
      ]
      const route = fakeRoute((call, index) => answers[index] ?? contractRoute(call))
      const options = optionsFor(route.fetch)
      const getAuthorization = createGetAuthorization(options)
      const result = await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(typeof (result as SdkCredentials).TmpSecretId, 'string')
      assert.equal(route.calls.length, 3)
      assert.deepEqual(options.waits, [7000, 1000])
      assert.equal(getAuthorization.errorFor('uploads/alice/a.txt'), undefined)
    })

    it("gives up after `retries` retries with the route's message and Retry-After", async () => {
      const route = fakeRoute(() => error(503, 'StsThrottled', 'STS is busy; try again shortly.', { 'Retry-After': '2' }))
      const options = optionsFor(route.fetch, { retries: 2 })
      const getAuthorization = createGetAuthorization(options)
      assert.deepEqual(await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt')), {})
      assert.equal(route.calls.length, 3)
      assert.deepEqual(options.waits, [2000, 2000])
      const refused = getAuthorization.errorFor('uploads/alice/a.txt')
      assert.deepEqual([refused?.status, refused?.code, refused?.message, refused?.retryAfter], [503, 'StsThrottled', 'STS is busy; try again shortly.', 2])
    })

    it('a Retry-After longer than maxRetryWaitSeconds fails at once; a missing one waits 1 s', async () => {
      let route = fakeRoute(() => error(429, 'TooManyRequests', 'Too many requests.', { 'Retry-After': '61' }))
      let options = optionsFor(route.fetch)
      assert.deepEqual(await ask(createGetAuthorization(options), step('PutObject', 'uploads/alice/a.txt')), {})
      assert.deepEqual([route.calls.length, options.waits], [1, []])

      route = fakeRoute((call, index) => (index === 0 ? error(429, 'TooManyRequests', 'Too many requests.') : contractRoute(call)))
      options = optionsFor(route.fetch)
      const result = await ask(createGetAuthorization(options), step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(typeof (result as SdkCredentials).TmpSecretId, 'string')
      assert.deepEqual(options.waits, [1000])
    })

    it('other statuses, bodies that are not JSON or lack credentials, a failing fetch or headers hook: {} at once, with a reason', async () => {
      const cases: Array<[string, ClientOptions, { status: number; code: string; message: RegExp }]> = [
        [
          '403',
          { fetch: fakeRoute(() => error(403, 'ScopeNotAllowed', 'scope[0] is outside what you may do.')).fetch },
          { status: 403, code: 'ScopeNotAllowed', message: /^scope\[0\] is outside/ },
        ],
        [
          '502 HTML',
          { fetch: fakeRoute(() => ({ status: 502, text: '<html>Bad Gateway</html>' })).fetch },
          { status: 502, code: 'InvalidResponse', message: /^The credentials route answered HTTP 502\.$/ },
        ],
        [
          '200 not JSON',
          { fetch: fakeRoute(() => ({ status: 200, text: '<html>login page</html>' })).fetch },
          { status: 200, code: 'InvalidResponse', message: /200 without credentials/ },
        ],
        [
          '200 without credentials',
          { fetch: fakeRoute(() => ({ status: 200, body: { credentials: { tmpSecretId: 'x' } } })).fetch },
          { status: 200, code: 'InvalidResponse', message: /200 without credentials/ },
        ],
        [
          'fetch rejects',
          { fetch: () => Promise.reject(new TypeError('Failed to fetch')) },
          { status: 0, code: 'NetworkError', message: /^The credentials request failed: Failed to fetch$/ },
        ],
        ['fetch never answers', { fetch: () => new Promise(() => {}), timeoutMs: 20 }, { status: 0, code: 'NetworkError', message: /no answer within 20 ms/ }],
        [
          'headers hook throws',
          {
            fetch: fakeRoute(contractRoute).fetch,
            headers: () => {
              throw new Error('no token yet')
            },
          },
          { status: 0, code: 'NetworkError', message: /no token yet/ },
        ],
      ]
      for (const [name, options, expected] of cases) {
        const getAuthorization = createGetAuthorization({ ...optionsFor(options.fetch as FetchLike), ...options })
        assert.deepEqual(await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt')), {}, name)
        const refused = getAuthorization.errorFor('uploads/alice/a.txt')
        assert.equal(refused?.status, expected.status, name)
        assert.equal(refused?.code, expected.code, name)
        assert.match(refused?.message ?? '', expected.message, name)
      }
    })

    it('a malformed SDK request or SDK instance still gets exactly one callback', async () => {
      const route = fakeRoute(contractRoute)
      const getAuthorization = createGetAuthorization({ ...optionsFor(route.fetch), perFile: false })
      for (const [request, sdk] of [
        [null, null],
        [{ Scope: 'not a list' }, { options: 'not an object' }],
        [{}, { options: { SystemClockOffset: 'soon' } }],
      ] as const) {
        const result = await ask(getAuthorization, request as unknown as AuthorizationRequest, sdk)
        assert.equal(typeof (result as SdkCredentials).TmpSecretId, 'string', JSON.stringify([request, sdk]))
      }
    })

    it('calls back even for a malformed SDK request, and concurrent asks sharing a failed request all fail', async () => {
      const route = fakeRoute(() => error(401, 'Unauthenticated', 'Sign in to get upload credentials.'))
      const getAuthorization = createGetAuthorization({ ...optionsFor(route.fetch), perFile: false })
      const results = await Promise.all([
        ask(getAuthorization, null as unknown as AuthorizationRequest),
        ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt')),
        ask(getAuthorization, step('PutObject', 'uploads/alice/b.txt')),
      ])
      assert.deepEqual(results, [{}, {}, {}])
      assert.equal(route.calls.length, 1)
      assert.equal(getAuthorization.errorFor('uploads/alice/b.txt')?.code, 'Unauthenticated')
    })
  })

  describe('request options', () => {
    it('sends the url, fetch credentials and headers given (a headers function is called for every request)', async () => {
      const route = fakeRoute(contractRoute)
      let token = 0
      const getAuthorization = createGetAuthorization({
        ...optionsFor(route.fetch),
        url: 'https://app.example.com/sts',
        credentials: 'include',
        headers: async () => ({ Authorization: `Bearer t${++token}` }),
      })
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      await ask(getAuthorization, step('PutObject', 'uploads/alice/b.txt'))
      assert.deepEqual(
        route.calls.map((call) => [call.url, call.credentials, call.headers['Authorization']]),
        [
          ['https://app.example.com/sts', 'include', 'Bearer t1'],
          ['https://app.example.com/sts', 'include', 'Bearer t2'],
        ],
      )
    })

    it('calls the global fetch as a plain function when none is given', async () => {
      const route = fakeRoute(contractRoute)
      const original = globalThis.fetch
      const receivers: unknown[] = []
      globalThis.fetch = function (this: unknown, ...args: Parameters<FetchLike>) {
        receivers.push(this)
        return route.fetch(...args)
      } as typeof globalThis.fetch
      try {
        const result = await ask(createGetAuthorization({ now: () => NOW_MS }), step('PutObject', 'uploads/alice/a.txt'))
        assert.equal(typeof (result as SdkCredentials).TmpSecretId, 'string')
        // A browser's fetch throws "Illegal invocation" for any `this` but the window (or none).
        assert.equal(receivers.length, 1)
        assert.ok(receivers[0] === undefined || receivers[0] === globalThis, 'fetch was called as a plain function')
      } finally {
        globalThis.fetch = original
      }
    })
  })

  describe('device clocks (serverTime)', () => {
    const serverNow = Math.floor(NOW_MS / 1000)
    const slowBy = 15 * 60 // the device is 15 minutes behind the server
    const slowNow = () => NOW_MS - slowBy * 1000

    it("sets the SDK's SystemClockOffset from serverTime, as the SDK does itself after RequestTimeTooSkewed", async () => {
      const route = fakeRoute(contractRoute)
      const sdk = { options: { SystemClockOffset: 0, CorrectClockSkew: true } }
      const result = await ask(createGetAuthorization({ ...optionsFor(route.fetch), now: slowNow }), step('PutObject', 'uploads/alice/a.txt'), sdk)
      assert.equal(sdk.options.SystemClockOffset, slowBy * 1000)
      // cos-js-sdk-v5 keeps a key while its clock + 30 s >= StartTime and < ExpiredTime.
      const sdkClock = Math.round((slowNow() + sdk.options.SystemClockOffset) / 1000)
      assert.ok(sdkClock + 30 >= (result as SdkCredentials).StartTime && sdkClock + 30 < (result as SdkCredentials).ExpiredTime)
      assert.equal((result as SdkCredentials).StartTime, serverNow)
    })

    it("leaves a right clock, and an SDK with CorrectClockSkew: false, alone; a key never starts after the SDK's clock", async () => {
      const route = fakeRoute(contractRoute)
      const right = { options: { SystemClockOffset: 0 } }
      await ask(createGetAuthorization({ ...optionsFor(route.fetch), now: () => NOW_MS + 3000 }), step('PutObject', 'uploads/alice/a.txt'), right)
      assert.equal(right.options.SystemClockOffset, 0)

      const optedOut = { options: { SystemClockOffset: 0, CorrectClockSkew: false } }
      const result = await ask(createGetAuthorization({ ...optionsFor(route.fetch), now: slowNow }), step('PutObject', 'uploads/alice/a.txt'), optedOut)
      assert.equal(optedOut.options.SystemClockOffset, 0)
      assert.equal((result as SdkCredentials).StartTime, Math.floor(slowNow() / 1000))

      const unbound = await new Promise<SdkCredentials>((resolve) => {
        const getAuthorization = createGetAuthorization({ ...optionsFor(route.fetch), now: slowNow })
        getAuthorization.call(undefined, step('PutObject', 'uploads/alice/a.txt'), (credentials) => resolve(credentials))
      })
      assert.equal(unbound.StartTime, Math.floor(slowNow() / 1000))
    })

    it("judges a cached key's remaining life by the server's clock, not the device's", async () => {
      const route = fakeRoute(contractRoute)
      let device = slowNow()
      const getAuthorization = createGetAuthorization({ ...optionsFor(route.fetch), now: () => device })
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      device += (1800 - 100) * 1000 // server clock: 100 s left
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(route.calls.length, 1)
      device += 20 * 1000 // 80 s left on the server's clock (the device would think 980 s)
      await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(route.calls.length, 2)
    })
  })

  describe('the wx.request adapter', () => {
    it('asks through a wx.request-style function: header, text data, Retry-After in any case, string or parsed bodies', async () => {
      const seen: Array<Parameters<RequestLike>[0]> = []
      const replies = [
        { statusCode: 429, data: JSON.stringify({ error: { code: 'TooManyRequests', message: 'Too many requests.' } }), header: { 'retry-after': '3' } },
        {
          statusCode: 200,
          data: contractRoute({ method: 'POST', url: '', headers: {}, body: { scope: step('PutObject', 'uploads/alice/a.txt').Scope }, credentials: undefined })
            .body,
        },
      ]
      const request: RequestLike = (options) => {
        seen.push(options)
        const reply = replies[seen.length - 1]
        setTimeout(() => (reply ? options.success(reply) : options.fail({ errMsg: 'request:fail timeout' })), 1)
      }
      const waits: number[] = []
      const getAuthorization = createGetAuthorization({
        url: 'https://app.example.com/api/cos-credentials',
        request,
        headers: { Authorization: 'Bearer mini' },
        now: () => NOW_MS,
        sleep: async (ms) => {
          waits.push(ms)
        },
      })
      const result = await ask(getAuthorization, step('PutObject', 'uploads/alice/a.txt'))
      assert.equal(typeof (result as SdkCredentials).TmpSecretId, 'string')
      assert.deepEqual(waits, [3000])
      assert.equal(seen.length, 2)
      const first = seen[0]
      assert.deepEqual(
        [first?.url, first?.method, first?.header, first?.dataType, JSON.parse(first?.data ?? 'null')],
        [
          'https://app.example.com/api/cos-credentials',
          'POST',
          { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: 'Bearer mini' },
          'text',
          { scope: step('PutObject', 'uploads/alice/a.txt').Scope },
        ],
      )

      // fail() is a network error, reported with wx's errMsg.
      assert.deepEqual(await ask(getAuthorization, step('PutObject', 'uploads/alice/b.txt')), {})
      assert.equal(getAuthorization.errorFor('uploads/alice/b.txt')?.message, 'The credentials request failed: request:fail timeout')
    })

    it('a mini program without fetch must pass fetch or request', () => {
      const original = globalThis.fetch
      // @ts-expect-error: a mini program has no fetch
      delete globalThis.fetch
      try {
        assert.throws(() => createGetAuthorization(), /no global fetch here; pass options\.fetch, or options\.request/)
      } finally {
        globalThis.fetch = original
      }
    })
  })
})

describe('client: requestUpload', () => {
  /** A route that names the object for `upload` bodies, as the contract describes. */
  function namingRoute(call: RouteCall): Answer {
    const upload = (call.body as { upload?: { name: string } } | undefined)?.upload
    if (!upload) return contractRoute(call)
    const key = `uploads/alice/2026/12/01/${serial}-abc.${upload.name.split('.').pop() ?? ''}`
    return issued([{ actions: UPLOAD_ACTIONS, prefixes: [key] }], { key })
  }

  it('POSTs { upload } and returns the key with a getAuthorization that serves its upload without asking again', async () => {
    const route = fakeRoute(namingRoute)
    const upload = await requestUpload({ name: 'cat.jpg', size: 2_000_000, contentType: 'image/jpeg' }, optionsFor(route.fetch))
    assert.deepEqual(route.calls[0]?.body, { upload: { name: 'cat.jpg', size: 2_000_000, contentType: 'image/jpeg' } })
    assert.match(upload.key, /^uploads\/alice\/2026\/12\/01\/\d+-abc\.jpg$/)
    assert.deepEqual([upload.bucket, upload.region], [BUCKET, REGION])
    for (const action of MULTIPART_STEPS) {
      const result = await ask(upload.getAuthorization, step(action, upload.key))
      assert.equal((result as SdkCredentials).ScopeLimit, true)
      assert.equal((result as SdkCredentials).TmpSecretId, `AKIDtmp${serial}`)
    }
    assert.equal(route.calls.length, 1)
    // Anything else is asked for as a per-file scope, never served with the upload's key.
    await ask(upload.getAuthorization, step('PutObject', 'uploads/alice/other.jpg'))
    assert.equal(route.calls.length, 2)
    assert.deepEqual(route.calls[1]?.body, { scope: step('PutObject', 'uploads/alice/other.jpg').Scope })
  })

  it("leaves out what is not given, and rejects with the route's refusal", async () => {
    const route = fakeRoute(() => error(400, 'UploadNotAllowed', 'Files of type .exe may not be uploaded.'))
    await assert.rejects(requestUpload({ name: 'setup.exe' }, optionsFor(route.fetch)), (refused: unknown) => {
      assert.ok(refused instanceof CredentialsError)
      assert.deepEqual([refused.status, refused.code, refused.message], [400, 'UploadNotAllowed', 'Files of type .exe may not be uploaded.'])
      return true
    })
    assert.deepEqual(route.calls[0]?.body, { upload: { name: 'setup.exe' } })
  })

  it('rejects a 200 without a key (a route older than server-chosen keys) and a file without a name', async () => {
    const route = fakeRoute(contractRoute)
    await assert.rejects(requestUpload({ name: 'cat.jpg' }, optionsFor(route.fetch)), /answered without a key/)
    await assert.rejects(requestUpload({ name: '' }, optionsFor(route.fetch)), /file\.name must be a non-empty string/)
  })
})
