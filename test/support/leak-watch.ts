// Mocha root hooks: every byte any test server sends, and every logger line, is scanned for the permanent secret key.
import http from 'node:http'
import { TEST_SECRET_KEY } from './keys.js'

const leaks: string[] = []
let responsesScanned = 0

/**
 * The forms a secret takes inside other text: raw, URL-encoded, hex, and base64/base64url at each of the three byte
 * alignments it can have inside a longer encoded string (only the characters that depend on the secret alone).
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret)
  const base64 = [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64')
    return encoded.slice([0, 2, 3][offset], Math.floor((offset + bytes.length) / 3) * 4)
  })
  return [secret, encodeURIComponent(secret), bytes.toString('hex'), ...base64, ...base64.map((form) => form.replace(/\+/g, '-').replace(/\//g, '_'))]
}

const SECRET_FORMS = encodedForms(TEST_SECRET_KEY)

/** True when `text` carries the permanent key in any of its encoded forms. */
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
