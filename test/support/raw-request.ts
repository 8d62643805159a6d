// Plain node:http requests to a test server on 127.0.0.1, bounded by a client-side deadline, for the load, fault and fuzz suites.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Express } from 'express'

export interface RawRequest {
  method?: string
  path?: string
  headers?: Record<string, string | string[]>
  body?: string | Buffer
  /** The client gives up (and the promise rejects) past this: a server that never answers fails the test, never hangs it. */
  deadlineMs?: number
  agent?: http.Agent | false
}

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown
  elapsedMs: number
}

export interface TestServer {
  url: string
  port: number
  /** Requests received and not yet answered (or abandoned) by the server. */
  inFlight(): number
  close(): Promise<void>
}

/** Serves `app` on an ephemeral 127.0.0.1 port and counts requests in flight. */
export async function serve(app: Express): Promise<TestServer> {
  let inFlight = 0
  const server = http.createServer((req, res) => {
    inFlight++
    res.once('close', () => inFlight--)
    app(req, res)
  })
  // Node closes a keep-alive socket after 5 s idle; a client reusing it just then gets ECONNRESET. The load suites
  // pause longer than that between waves on a busy machine, so idle sockets stay open until close().
  server.keepAliveTimeout = 120_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    inFlight: () => inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export function rawRequest(base: string, options: RawRequest = {}): Promise<RawResponse> {
  const { method = 'GET', path = '/', headers = {}, body, deadlineMs = 10_000, agent = false } = options
  const started = performance.now()
  return new Promise((resolve, reject) => {
    // Node's client sends a GET/DELETE body with no length at all; say it, or the server reads it as the next request.
    const framed =
      body === undefined || Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name))
        ? headers
        : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
    const req = http.request(`${base}${path}`, { method, headers: framed, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        clearTimeout(timer)
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, elapsedMs: performance.now() - started })
      })
    })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new Error(`${method} ${path}: no answer within ${deadlineMs} ms`))
    }, deadlineMs)
    req.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    req.end(body)
  })
}
