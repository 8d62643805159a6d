// Mocha root hooks: every byte any test server sends, and every logger line, is scanned for the permanent secret key.
import http from 'node:http'
import { TEST_SECRET_KEY } from './keys.js'

const leaks: string[] = []
let responsesScanned = 0

const SECRET_FORMS = [TEST_SECRET_KEY, encodeURIComponent(TEST_SECRET_KEY), Buffer.from(TEST_SECRET_KEY).toString('base64')]

/** True when `text` carries the permanent key, raw, URL-encoded or base64-encoded. */
export function containsSecret(text: string): boolean {
  return SECRET_FORMS.some((form) => text.includes(form))
}

/** Records a leak when `text` carries the permanent key. */
export function scanForSecret(where: string, text: string): void {
  if (containsSecret(text)) leaks.push(`${where}: ${text.slice(0, 200)}`)
}

export function leakReport(): { leaks: string[]; responsesScanned: number } {
  return { leaks: [...leaks], responsesScanned }
}

// Tee what every http.ServerResponse writes (headers and body): this observes, it changes nothing sent.
const proto = http.ServerResponse.prototype as unknown as {
  write: (this: http.ServerResponse, chunk: unknown, ...rest: unknown[]) => boolean
  end: (this: http.ServerResponse, chunk?: unknown, ...rest: unknown[]) => http.ServerResponse
}
const originalWrite = proto.write
const originalEnd = proto.end
const textOf = (chunk: unknown): string => (typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '')
proto.write = function (chunk, ...rest) {
  scanForSecret(`body of ${this.req?.method} ${this.req?.url}`, textOf(chunk))
  return originalWrite.call(this, chunk, ...rest)
}
proto.end = function (chunk, ...rest) {
  if (typeof chunk !== 'function') scanForSecret(`body of ${this.req?.method} ${this.req?.url}`, textOf(chunk))
  scanForSecret(`headers of ${this.req?.method} ${this.req?.url}`, JSON.stringify(this.getHeaders()))
  responsesScanned++
  return originalEnd.call(this, chunk, ...rest)
}

export const mochaHooks = {
  afterAll(): void {
    if (leaks.length > 0) throw new Error(`the permanent secret key leaked ${leaks.length} time(s):\n${leaks.join('\n')}`)
  },
}
