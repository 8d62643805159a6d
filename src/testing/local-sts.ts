// Local stand-in for Tencent Cloud STS (GetFederationToken / AssumeRole) on 127.0.0.1, for tests and the example app.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { randomBytes, randomUUID } from 'node:crypto'
import { parseTc3Authorization, utcDate, verifyTc3 } from './tc3.js'
import { validateAssumeRole, validateGetFederationToken, type AccountType, type StsError, type ValidationResult } from './sts-validation.js'

export interface LocalStsOptions {
  secretId?: string // the permanent key it accepts (default: an obviously fake test id)
  secretKey?: string
  keys?: Array<{ secretId: string; secretKey: string }> // more accepted keys
  accountType?: AccountType // GetFederationToken duration ceiling: root 7200, sub 129600 (default 'sub')
  port?: number // default 0 (ephemeral); always binds 127.0.0.1
  latencyMs?: number // added before answering each call
  now?: () => number // ms clock, for expiry tests (default Date.now)
}

export type LocalStsFault =
  | { kind: 'error'; code: string; message?: string } // e.g. RequestLimitExceeded, InternalError, ResourceUnavailable
  | { kind: 'http500' } // HTTP 500 with a non-JSON body
  | { kind: 'malformed' } // HTTP 200 with a body that is not JSON
  | { kind: 'hang' } // accept the request and never answer (until close())
  | { kind: 'reset' } // destroy the socket without an answer

export interface LocalStsCall {
  action: string
  at: number // ms, on the server clock
  secretId: string | undefined
  params: Record<string, unknown> // the JSON body as received
  policy?: unknown // decoded Policy, when valid
  durationSeconds?: number
  name?: string
  roleArn?: string
  roleSessionName?: string
  outcome: string // 'ok' or the error code / fault kind answered
  latencyMs: number // the delay added before this call's answer (setLatency / options.latencyMs)
}

export interface IssuedCredentials {
  tmpSecretId: string
  tmpSecretKey: string
  token: string
  policy: unknown
  startTime: number // unix seconds
  expiredTime: number // unix seconds
  action: string
}

export interface LocalSts {
  endpoint: string // '127.0.0.1:PORT' — pass as sts.endpoint
  protocol: 'http:' // pass as sts.protocol
  port: number
  url: string // 'http://127.0.0.1:PORT/'
  secretId: string // the primary accepted key (the default one unless options.secretId is given)
  secretKey: string
  calls: LocalStsCall[] // every call in order of arrival, including refused ones
  setLatency(ms: number): void
  fail(fault: LocalStsFault | null, times?: number): void
  findByTmpSecretId(id: string): IssuedCredentials | undefined
  findByToken(token: string): IssuedCredentials | undefined
  reset(): void // clears calls and faults (issued credentials stay findable)
  close(): Promise<void> // also ends hanging requests and idle keep-alive sockets
}

// Obviously fake; never a real key.
const DEFAULT_SECRET_ID = 'AKIDLOCALSTSTESTONLYNOTAREALKEY00000'
const DEFAULT_SECRET_KEY = 'LocalStsTestOnlyNotARealSecretKey000'
const API_VERSION = '2018-08-13'
const ACTIONS = new Set(['GetFederationToken', 'AssumeRole'])
const MAX_CLOCK_SKEW_S = 300 // the documented five minutes of AuthFailure.SignatureExpire
// The real API takes 10 MB with TC3; 64 KiB is our bound, far above any valid STS request (policy <= 6144 chars).
const MAX_BODY_BYTES = 64 * 1024
const DRAIN_LIMIT_BYTES = 1024 * 1024 // past this an oversized body is cut off with a reset instead of drained
const MAX_ISSUED = 10_000 // oldest issued credentials are forgotten past this, to stay bounded

type Reply = { kind: 'json'; payload: unknown } | { kind: 'http500' } | { kind: 'malformed' } | { kind: 'hang' } | { kind: 'reset' }

const stsError = (code: string, message: string): StsError => ({ code, message })
const errorPayload = (e: StsError) => ({ Response: { Error: { Code: e.code, Message: e.message }, RequestId: randomUUID() } })

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const base62 = (n: number): string => [...randomBytes(n)].map((b) => BASE62[b % 62]).join('')

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function parseParams(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'))
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Reads the whole body; an oversized one is drained (so the answer is not lost to a TCP reset) but not kept. */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'cut-off' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > DRAIN_LIMIT_BYTES) resolve('cut-off')
      else if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)))
    req.on('error', () => resolve('aborted'))
    req.on('close', () => resolve('aborted')) // no-op after 'end': a promise settles once
  })
}

export async function startLocalSts(options: LocalStsOptions = {}): Promise<LocalSts> {
  const now = options.now ?? Date.now
  const accountType: AccountType = options.accountType ?? 'sub'
  const primary = { secretId: options.secretId ?? DEFAULT_SECRET_ID, secretKey: options.secretKey ?? DEFAULT_SECRET_KEY }
  const keys = new Map<string, string>()
  for (const k of [primary, ...(options.keys ?? [])]) {
    if (!k.secretId || !k.secretKey) throw new TypeError('local STS keys need a non-empty secretId and secretKey')
    keys.set(k.secretId, k.secretKey)
  }
  const checkMs = (ms: number) => {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a finite number >= 0, got ${ms}`)
    return ms
  }
  let latencyMs = checkMs(options.latencyMs ?? 0)
  let fault: LocalStsFault | null = null
  let faultLeft = 0
  let closed = false
  const calls: LocalStsCall[] = []
  const byTmpId = new Map<string, IssuedCredentials>()
  const byToken = new Map<string, IssuedCredentials>()
  const sockets = new Set<Socket>()
  const waits = new Set<() => void>()

  // Latency waits end early on close() so no handler outlives the server.
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || closed) return resolve()
      const done = () => {
        waits.delete(done)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(done, ms)
      waits.add(done)
    })

  function takeFault(): LocalStsFault | null {
    const f = fault
    if (f && --faultLeft <= 0) fault = null
    return f
  }

  function authenticate(req: IncomingMessage, body: Buffer, call: LocalStsCall): StsError | undefined {
    const auth = parseTc3Authorization(header(req, 'authorization'))
    if (!auth) {
      return stsError('AuthFailure.InvalidAuthorization', 'The Authorization header is missing or is not a TC3-HMAC-SHA256 authorization.')
    }
    call.secretId = auth.secretId
    if (!auth.signedHeaders.includes('content-type') || !auth.signedHeaders.includes('host')) {
      return stsError('AuthFailure.InvalidAuthorization', 'SignedHeaders must include content-type and host.')
    }
    const ts = header(req, 'x-tc-timestamp')
    if (ts === undefined || ts === '') return stsError('MissingParameter', 'The request is missing a required parameter `X-TC-Timestamp`.')
    if (!/^\d{1,12}$/.test(ts)) return stsError('InvalidParameter', '`X-TC-Timestamp` must be a unix time in seconds.')
    const serverSeconds = Math.floor(now() / 1000)
    if (Math.abs(serverSeconds - Number(ts)) > MAX_CLOCK_SKEW_S) {
      return stsError(
        'AuthFailure.SignatureExpire',
        `Signature expired: X-TC-Timestamp ${ts} is more than ${MAX_CLOCK_SKEW_S}s from server time ${serverSeconds}.`,
      )
    }
    const secretKey = keys.get(auth.secretId)
    if (secretKey === undefined) {
      return stsError('AuthFailure.SecretIdNotFound', 'The SecretId is not found, please ensure that your SecretId is correct.')
    }
    // The real service signs with the date it derives from the timestamp, so a different scope date cannot match.
    const request = { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body, timestamp: ts }
    const signed = auth.date === utcDate(Number(ts)) && verifyTc3(request, auth, secretKey)
    if (!signed) {
      return stsError('AuthFailure.SignatureFailure', 'The provided credentials could not be validated. Please check your signature is correct.')
    }
    return undefined
  }

  function issue(action: string, policy: unknown, durationSeconds: number): Reply {
    const startTime = Math.floor(now() / 1000)
    const issued: IssuedCredentials = Object.freeze({
      tmpSecretId: `AKID${base62(44)}`,
      tmpSecretKey: randomBytes(33).toString('base64'),
      token: base62(24) + randomBytes(480).toString('base64url'),
      policy,
      startTime,
      expiredTime: startTime + durationSeconds,
      action,
    })
    byTmpId.set(issued.tmpSecretId, issued)
    byToken.set(issued.token, issued)
    if (byTmpId.size > MAX_ISSUED) {
      const [oldest] = byTmpId.values()
      if (oldest) {
        byTmpId.delete(oldest.tmpSecretId)
        byToken.delete(oldest.token)
      }
    }
    const payload = {
      Response: {
        Credentials: { Token: issued.token, TmpSecretId: issued.tmpSecretId, TmpSecretKey: issued.tmpSecretKey },
        ExpiredTime: issued.expiredTime,
        Expiration: new Date(issued.expiredTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        RequestId: randomUUID(),
      },
    }
    return { kind: 'json', payload }
  }

  /** Decides the answer and fills in the call record; order: auth, faults, protocol, parameters. */
  function decide(req: IncomingMessage, body: Buffer, call: LocalStsCall): { reply: Reply; outcome: string } {
    const refuse = (e: StsError) => ({ reply: { kind: 'json', payload: errorPayload(e) } as Reply, outcome: e.code })
    const params = parseParams(body)
    call.params = params ?? {}
    const authError = authenticate(req, body, call)
    if (authError) return refuse(authError)

    const f = takeFault()
    if (f?.kind === 'error') return refuse(stsError(f.code, f.message ?? `Injected ${f.code} from the local STS.`))
    if (f) return { reply: f, outcome: f.kind }

    const contentType = header(req, 'content-type') ?? ''
    if (req.method !== 'POST' || !/^application\/json\b/i.test(contentType)) {
      return refuse(stsError('InvalidParameter', 'The local STS implements only POST with an application/json body.'))
    }
    const version = header(req, 'x-tc-version')
    if (!version) return refuse(stsError('MissingParameter', 'The request is missing a required parameter `Version`.'))
    if (version !== API_VERSION) return refuse(stsError('NoSuchVersion', `The API version \`${version}\` does not exist.`))
    if (!call.action) return refuse(stsError('MissingParameter', 'The request is missing a required parameter `Action`.'))
    if (!ACTIONS.has(call.action)) return refuse(stsError('InvalidAction', `The action \`${call.action}\` is not found.`))
    if (!header(req, 'x-tc-region')) return refuse(stsError('MissingParameter', 'The request is missing a required parameter `Region`.'))
    if (!params) return refuse(stsError('InvalidParameter', 'The request body must be a JSON object.'))

    const result: ValidationResult = call.action === 'AssumeRole' ? validateAssumeRole(params) : validateGetFederationToken(params, accountType)
    Object.assign(call, result.parsed)
    if (result.error) return refuse(result.error)
    return { reply: issue(call.action, result.parsed.policy, result.parsed.durationSeconds ?? 0), outcome: 'ok' }
  }

  function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    if (closed || res.destroyed) return
    const traceId = header(req, 'x-tc-traceid')
    const jsonHeaders = { 'Content-Type': 'application/json', ...(traceId ? { 'X-TC-TraceId': traceId } : {}) }
    switch (reply.kind) {
      case 'json':
        res.writeHead(200, jsonHeaders).end(JSON.stringify(reply.payload))
        return
      case 'http500':
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal Server Error')
        return
      case 'malformed':
        res.writeHead(200, jsonHeaders).end('{"Response": {"Credentials": ') // cut short, as a broken proxy would
        return
      case 'hang':
        return // the socket is tracked; close() destroys it
      case 'reset':
        req.socket.destroy()
        return
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call: LocalStsCall = { action: header(req, 'x-tc-action') ?? '', at: now(), secretId: undefined, params: {}, outcome: 'pending', latencyMs: 0 }
    calls.push(call)
    const body = await readBody(req)
    let decided: { reply: Reply; outcome: string }
    if (body === 'aborted') decided = { reply: { kind: 'hang' }, outcome: 'aborted' }
    else if (body === 'cut-off') decided = { reply: { kind: 'reset' }, outcome: 'RequestSizeLimitExceeded' }
    else if (body === 'too-large') {
      const e = stsError('RequestSizeLimitExceeded', `The request body exceeds ${MAX_BODY_BYTES} bytes.`)
      decided = { reply: { kind: 'json', payload: errorPayload(e) }, outcome: e.code }
    } else {
      try {
        decided = decide(req, body, call)
      } catch (err) {
        const e = stsError('InternalError', `local STS failure: ${err instanceof Error ? err.message : String(err)}`)
        decided = { reply: { kind: 'json', payload: errorPayload(e) }, outcome: e.code }
      }
    }
    call.outcome = decided.outcome
    call.latencyMs = latencyMs
    await wait(latencyMs)
    send(req, res, decided.reply)
  }

  const server = createServer((req, res) => void handle(req, res))
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_err, socket) => socket.destroy())

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => (server.off('error', reject), resolve()))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('local STS did not bind a TCP port')
  const port = address.port

  let closing: Promise<void> | undefined
  return {
    endpoint: `127.0.0.1:${port}`,
    protocol: 'http:',
    port,
    url: `http://127.0.0.1:${port}/`,
    secretId: primary.secretId,
    secretKey: primary.secretKey,
    calls,
    setLatency(ms) {
      latencyMs = checkMs(ms)
    },
    fail(next, times) {
      if (times !== undefined && !(Number.isInteger(times) && times > 0)) {
        throw new RangeError(`times must be a positive integer, got ${times}`)
      }
      fault = next
      faultLeft = next === null ? 0 : (times ?? Number.POSITIVE_INFINITY)
    },
    findByTmpSecretId: (id) => byTmpId.get(id),
    findByToken: (token) => byToken.get(token),
    reset() {
      calls.length = 0
      fault = null
      faultLeft = 0
    },
    close() {
      if (!closing) {
        closed = true
        for (const done of [...waits]) done()
        closing = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const socket of sockets) socket.destroy()
      }
      return closing
    },
  }
}
