// TC3-HMAC-SHA256 (Tencent Cloud API signature v3) parsing and verification for the local STS.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

export const TC3_ALGORITHM = 'TC3-HMAC-SHA256'

export interface Tc3Authorization {
  secretId: string
  date: string // YYYY-MM-DD from the credential scope
  service: string // the SDK puts endpoint.split('.')[0] here, so '127' for an IP endpoint
  signedHeaders: string[]
  signature: string // lowercase hex
}

export interface Tc3Request {
  method: string
  url: string // path and query as received
  headers: IncomingHttpHeaders
  body: Buffer
  timestamp: string // X-TC-Timestamp exactly as sent
}

const AUTH_RE = /^TC3-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/

/** Returns undefined when the header is absent or not TC3 shaped (answered as AuthFailure.InvalidAuthorization). */
export function parseTc3Authorization(header: string | undefined): Tc3Authorization | undefined {
  const m = header === undefined ? null : AUTH_RE.exec(header.trim())
  if (!m) return undefined
  const [, secretId, date, service, signed, signature] = m
  if (!secretId || !date || !service || !signed || !signature) return undefined
  return { secretId, date, service, signedHeaders: signed.split(';'), signature }
}

/** UTC calendar date of a unix timestamp in seconds, the way the credential scope spells it. */
export function utcDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10)
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest()

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name]
  return (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().toLowerCase()
}

/** Signature for one choice of the Host value; everything else comes from the request. */
export function computeTc3Signature(
  req: Tc3Request,
  auth: Pick<Tc3Authorization, 'date' | 'service' | 'signedHeaders'>,
  secretKey: string,
  host: string,
): string {
  const q = req.url.indexOf('?')
  const path = q === -1 ? req.url : req.url.slice(0, q)
  const query = q === -1 ? '' : req.url.slice(q + 1)
  const canonicalHeaders = auth.signedHeaders
    .map((name) => `${name}:${name === 'host' ? host.trim().toLowerCase() : headerValue(req.headers, name)}\n`)
    .join('')
  const canonicalRequest = [req.method.toUpperCase(), path, query, canonicalHeaders, auth.signedHeaders.join(';'), sha256Hex(req.body)].join('\n')
  const scope = `${auth.date}/${auth.service}/tc3_request`
  const stringToSign = `${TC3_ALGORITHM}\n${req.timestamp}\n${scope}\n${sha256Hex(canonicalRequest)}`
  const kDate = hmac(`TC3${secretKey}`, auth.date)
  const kSigning = hmac(hmac(kDate, auth.service), 'tc3_request')
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex')
}

/**
 * True when the signature matches. The SDK signs the hostname without the port while its Host
 * header carries the port, so both spellings of the host are tried.
 */
export function verifyTc3(req: Tc3Request, auth: Tc3Authorization, secretKey: string): boolean {
  const sent = headerValue(req.headers, 'host')
  const candidates = new Set([sent, sent.replace(/:\d+$/, '')])
  const given = Buffer.from(auth.signature, 'hex')
  let ok = false
  for (const host of candidates) {
    const expected = Buffer.from(computeTc3Signature(req, auth, secretKey, host), 'hex')
    // Every candidate is compared, so timing does not reveal which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true
  }
  return ok
}
