// COS request signatures (q-sign-algorithm=sha1): parse the Authorization string and recompute it, per COS's documented algorithm.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** The fields of a COS Authorization string (`q-sign-algorithm=sha1&q-ak=…&q-signature=…`). */
export interface CosAuthorization {
  secretId: string
  signTime: string // 'start;end', unix seconds, as signed
  keyTime: string
  signWindow: [number, number]
  keyWindow: [number, number]
  headerList: string[] // lower-case, URL-encoded names
  paramList: string[]
  signature: string // 40 lower-case hex digits
}

/** What the signature covers, as the server received it: names are matched case-insensitively. */
export interface SignedParts {
  method: string
  pathname: string // decoded: '/' + object key
  query: ReadonlyArray<readonly [string, string]> // decoded name and value, in arrival order
  headers: Readonly<Record<string, string | string[] | undefined>> // Node's lower-case header names
}

const FIELDS = ['q-sign-algorithm', 'q-ak', 'q-sign-time', 'q-key-time', 'q-header-list', 'q-url-param-list', 'q-signature'] as const
const TIME_WINDOW = /^(\d{1,12});(\d{1,12})$/

/** COS's URL encoding: encodeURIComponent plus the five characters it leaves alone. */
export function cosEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

/** Parses an Authorization string; a string result is the reason it is unusable. */
export function parseCosAuthorization(value: string | undefined): CosAuthorization | string {
  if (value === undefined || value === '') return 'no Authorization was sent'
  const fields = new Map<string, string>()
  for (const pair of value.split('&')) {
    const eq = pair.indexOf('=')
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  const missing = FIELDS.filter((name) => !fields.has(name))
  if (missing.length > 0) return `the Authorization lacks ${missing.join(', ')}`
  const field = (name: (typeof FIELDS)[number]): string => fields.get(name) ?? ''
  if (field('q-sign-algorithm') !== 'sha1') return 'q-sign-algorithm must be sha1'
  const signWindow = windowOf(field('q-sign-time'))
  const keyWindow = windowOf(field('q-key-time'))
  if (!signWindow || !keyWindow) return 'q-sign-time and q-key-time must be "start;end" in unix seconds'
  const signature = field('q-signature')
  if (!/^[0-9a-f]{40}$/.test(signature)) return 'q-signature must be 40 lower-case hex digits'
  const list = (text: string): string[] => (text === '' ? [] : text.split(';'))
  return {
    secretId: field('q-ak'),
    signTime: field('q-sign-time'),
    keyTime: field('q-key-time'),
    signWindow,
    keyWindow,
    headerList: list(field('q-header-list')),
    paramList: list(field('q-url-param-list')),
    signature,
  }
}

function windowOf(text: string): [number, number] | undefined {
  const match = TIME_WINDOW.exec(text)
  if (!match) return undefined
  const start = Number(match[1])
  const end = Number(match[2])
  return start <= end ? [start, end] : undefined
}

/**
 * `name=value&…` over the listed names, sorted, each name lower-case URL-encoded and each value
 * URL-encoded. A listed name the request lacks signs as an empty value, so it cannot match.
 */
function canonicalPairs(listed: string[], received: Iterable<readonly [string, string | string[] | undefined]>): string {
  const values = new Map<string, string>()
  for (const [name, value] of received) {
    const encoded = cosEncode(name).toLowerCase()
    if (!values.has(encoded)) values.set(encoded, Array.isArray(value) ? value.join(',') : (value ?? ''))
  }
  return [...new Set(listed)]
    .sort()
    .map((name) => `${name}=${cosEncode(values.get(name) ?? '')}`)
    .join('&')
}

/** The signature COS expects for these request parts under this key. */
export function expectedSignature(secretKey: string, auth: CosAuthorization, parts: SignedParts): string {
  const httpString = [
    parts.method.toLowerCase(),
    parts.pathname,
    canonicalPairs(auth.paramList, parts.query),
    canonicalPairs(auth.headerList, Object.entries(parts.headers)),
    '',
  ].join('\n')
  const signKey = hmacSha1Hex(secretKey, auth.keyTime)
  const stringToSign = ['sha1', auth.signTime, createHash('sha1').update(httpString).digest('hex'), ''].join('\n')
  return hmacSha1Hex(signKey, stringToSign)
}

/** Constant-time comparison of the sent signature with the expected one. */
export function signatureMatches(secretKey: string, auth: CosAuthorization, parts: SignedParts): boolean {
  const expected = Buffer.from(expectedSignature(secretKey, auth, parts))
  const sent = Buffer.from(auth.signature)
  return expected.length === sent.length && timingSafeEqual(expected, sent)
}

function hmacSha1Hex(key: string, message: string): string {
  return createHmac('sha1', key).update(message).digest('hex')
}
