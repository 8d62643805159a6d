// A local stand-in for one COS bucket on 127.0.0.1: verifies COS signatures made with keys the local STS issued, evaluates their policy, keeps objects in memory.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { authenticate, authorize, type CredentialLookup } from './access.js'
import { perform, type CosReply } from './handlers.js'
import { identifyOperation, keyOfPath, parseQuery, type Operation, type OperationName } from './operations.js'
import { ObjectStore, type StoredObject } from './store.js'
import { CosError, errorDocument } from './xml.js'

export type { CredentialLookup } from './access.js'
export type { StoredObject } from './store.js'

export interface LocalCosOptions {
  /** Where temporary keys are looked up: pass the local STS. */
  credentials: CredentialLookup
  /** The one bucket served, `BucketName-APPID`, and its region. */
  bucket: string
  region: string
  port?: number // default 0 (ephemeral); always binds 127.0.0.1
  /** Origins allowed by CORS, like a bucket's CORS rule; default ['*']. */
  allowedOrigins?: string[]
  /** Largest request body (one PUT or one part); default 64 MiB. */
  maxBodyBytes?: number
  /** Most bytes held in memory (objects and parts); default 512 MiB. */
  maxStoredBytes?: number
  now?: () => number // ms clock, for expiry tests (default Date.now)
}

/** One answered request, in order of arrival. No credentials are kept. */
export interface LocalCosRequest {
  method: string
  key: string
  operation: OperationName | undefined
  status: number
  code?: string // COS error code, for error answers
}

export interface LocalCos {
  url: string // 'http://127.0.0.1:PORT/'
  endpoint: string // '127.0.0.1:PORT': cos-js-sdk-v5's Domain, cos-nodejs-sdk-v5's Ip
  port: number
  bucket: string
  region: string
  requests: LocalCosRequest[]
  getObject(key: string): StoredObject | undefined
  keys(): string[]
  close(): Promise<void>
}

const MiB = 1024 * 1024
const MAX_RECORDED = 10_000 // requests kept for inspection; a long demo session must not grow without bound
const EXPOSED_HEADERS = 'ETag, Content-Length, x-cos-request-id, x-cos-hash-crc64ecma'
// cos-nodejs-sdk-v5 with `Ip` keeps COS's own host name, so the bucket and region come from it.
const BUCKET_HOST = /^([a-z0-9][a-z0-9-]*-\d+)\.cos\.([a-z0-9-]+)\.myqcloud\.com(?::\d+)?$/

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** Reads the body up to `limit` bytes; past it, EntityTooLarge. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        reject(tooLarge(limit))
      } else {
        chunks.push(chunk)
      }
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

const tooLarge = (limit: number): CosError =>
  new CosError(400, 'EntityTooLarge', `Your proposed upload exceeds the local COS's ${limit}-byte limit for one request.`)

export async function startLocalCos(options: LocalCosOptions): Promise<LocalCos> {
  const now = options.now ?? Date.now
  const maxBodyBytes = options.maxBodyBytes ?? 64 * MiB
  const allowedOrigins = options.allowedOrigins ?? ['*']
  const store = new ObjectStore(options.maxStoredBytes ?? 512 * MiB)
  const requests: LocalCosRequest[] = []
  const sockets = new Set<Socket>()

  function allowedOrigin(req: IncomingMessage): string | undefined {
    const origin = header(req, 'origin')
    if (origin === undefined) return undefined
    return allowedOrigins.includes('*') ? '*' : allowedOrigins.includes(origin) ? origin : undefined
  }

  function commonHeaders(req: IncomingMessage, requestId: string): Record<string, string> {
    const origin = allowedOrigin(req)
    return {
      Server: 'tencent-cos',
      'x-cos-request-id': requestId,
      ...(origin === undefined ? {} : { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSED_HEADERS, Vary: 'Origin' }),
    }
  }

  function preflight(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    const origin = allowedOrigin(req)
    if (origin === undefined) {
      const error = new CosError(
        403,
        'AccessForbidden',
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      )
      res.writeHead(403, { ...commonHeaders(req, requestId), 'Content-Type': 'application/xml' }).end(errorDocument(error, req.url ?? '/', requestId))
      return
    }
    res
      .writeHead(200, {
        ...commonHeaders(req, requestId),
        'Access-Control-Allow-Methods': 'GET, PUT, POST, DELETE, HEAD',
        'Access-Control-Allow-Headers': header(req, 'access-control-request-headers') ?? '',
        'Access-Control-Max-Age': '600',
        'Content-Length': '0',
      })
      .end()
  }

  /** Bucket and region the request is for: from a COS host name, else the one bucket served. */
  function bucketOf(req: IncomingMessage): { bucket: string; region: string } {
    const match = BUCKET_HOST.exec(header(req, 'host') ?? '')
    if (!match) return { bucket: options.bucket, region: options.region }
    if (match[1] !== options.bucket || match[2] !== options.region) {
      throw new CosError(404, 'NoSuchBucket', 'The specified bucket does not exist.')
    }
    return { bucket: options.bucket, region: options.region }
  }

  function conditionContext(req: IncomingMessage, operation: Operation): Record<string, string | number> {
    const context: Record<string, string | number> = { 'qcs:ip': (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '') }
    const length = header(req, 'content-length')
    if (length !== undefined && /^\d+$/.test(length)) context['cos:content-length'] = Number(length)
    const contentType = header(req, 'content-type')
    if (contentType !== undefined) context['cos:content-type'] = contentType
    if (operation.key === '') context['cos:prefix'] = operation.resourceKey
    return context
  }

  async function answer(req: IncomingMessage, requestId: string, record: LocalCosRequest): Promise<CosReply> {
    // Split by hand: WHATWG URL parsing would read a path starting with '//' as a host.
    const target = req.url ?? '/'
    const mark = target.indexOf('?')
    const { bucket, region } = bucketOf(req)
    const key = keyOfPath(mark === -1 ? target : target.slice(0, mark))
    record.key = key
    const query = parseQuery(mark === -1 ? '' : target.slice(mark))
    const operation = identifyOperation(req.method ?? 'GET', key, query)
    record.operation = operation.name
    if (operation.name === 'PutObject' && header(req, 'x-cos-copy-source') !== undefined) {
      throw new CosError(501, 'NotImplemented', 'The local COS does not implement PUT Object - Copy.')
    }
    const parts = { method: req.method ?? 'GET', pathname: `/${key}`, query, headers: req.headers }
    const credentials = authenticate(req, parts, options.credentials, Math.floor(now() / 1000))
    authorize(credentials, operation, { bucket, region, context: conditionContext(req, operation) })

    const declared = header(req, 'content-length')
    if (declared !== undefined && Number(declared) > maxBodyBytes) throw tooLarge(maxBodyBytes)
    const body = await readBody(req, maxBodyBytes)
    return perform(store, {
      operation,
      bucket,
      contentType: header(req, 'content-type') || 'application/octet-stream',
      contentMd5: header(req, 'content-md5'),
      body,
      origin: `http://${header(req, 'host') ?? '127.0.0.1'}/`,
    })
  }

  /** A refused request's body is read and dropped, so the client sees the answer rather than a reset; past the limit the socket is cut. */
  function discardBody(req: IncomingMessage, res: ServerResponse): void {
    if (req.readableEnded) return
    if (Number(header(req, 'content-length') ?? 0) > maxBodyBytes) res.setHeader('Connection', 'close')
    let drained = 0
    req.removeAllListeners('data')
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length
      if (drained > maxBodyBytes) req.socket.destroy()
    })
    req.resume()
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(16).toString('hex')
    if (req.method === 'OPTIONS') {
      preflight(req, res, requestId)
      return
    }
    const record: LocalCosRequest = { method: req.method ?? '', key: '', operation: undefined, status: 0 }
    requests.push(record)
    if (requests.length > MAX_RECORDED) requests.shift()
    let reply: CosReply
    try {
      reply = await answer(req, requestId, record)
    } catch (thrown) {
      const error = thrown instanceof CosError ? thrown : new CosError(500, 'InternalError', 'The local COS failed; see its console.')
      if (!(thrown instanceof CosError)) console.error('local COS:', thrown)
      record.code = error.code
      reply = { status: error.status, headers: { 'Content-Type': 'application/xml' }, body: errorDocument(error, `${options.bucket}/${record.key}`, requestId) }
      discardBody(req, res)
    }
    record.status = reply.status
    const body = req.method === 'HEAD' ? undefined : reply.body
    res.writeHead(reply.status, {
      ...commonHeaders(req, requestId),
      ...reply.headers,
      ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }),
    })
    res.end(body)
  }

  const server = createServer((req, res) => void handle(req, res))
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('local COS: no TCP address')
  let closing: Promise<void> | undefined

  return {
    url: `http://127.0.0.1:${address.port}/`,
    endpoint: `127.0.0.1:${address.port}`,
    port: address.port,
    bucket: options.bucket,
    region: options.region,
    requests,
    getObject: (key) => store.get(key),
    keys: () => store.keys(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      return closing
    },
  }
}
