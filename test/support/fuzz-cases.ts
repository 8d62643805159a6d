// fast-check generators of hostile requests to the credential route, each carrying the statuses the contract allows for it.
import zlib from 'node:zlib'
import fc from 'fast-check'

/** The fuzz app's authorize hook reads these (see fuzz.test.ts): who asks, and how the app answers for them. */
export const USER_HEADER = 'x-user'
export const MOUNT = '/creds'
export const GRANT_MOUNT = '/grant' // authorize returns the POST body's `grant` as is
export const BODY_LIMIT_BYTES = 16 * 1024
export const SUBJECTS = ['alice', 'bob', 'user1', 'user10', 'Ünïcødé', '爱丽丝', '😀', 'a b'] as const
export const GRANTED_ACTIONS = ['name/cos:PutObject', 'name/cos:GetObject'] as const

export interface FuzzCase {
  /** The input class, for the tally and failure messages. */
  kind: string
  method: string
  path: string
  headers: Record<string, string>
  body?: Buffer
  /** Statuses the contract allows for this input; anything else fails. */
  allowed: readonly number[]
  /**
   * Answered before or after the router, not by it: Node's HTTP parser (unknown method, headers over 16 KiB) or
   * the app (OPTIONS is left to the app's CORS handling). No JSON body to check.
   */
  answeredBy?: 'node' | 'app'
  /** The subject a 200 must be for, and the exact prefixes it must cover when known (else: anything inside the grant). */
  subject?: string
  prefixes?: string[]
}

type Outcome = number | 'ok'

interface User {
  header?: string
  outcome: Outcome
  subject?: string
}

const subjectArb = fc.constantFrom(...SUBJECTS)

/** Who asks, and what the app's authorize makes of it. 4xx throws must come back as that status. */
const userArb: fc.Arbitrary<User> = fc.oneof(
  { weight: 8, arbitrary: subjectArb.map((subject): User => ({ header: encodeURIComponent(subject), outcome: 'ok', subject })) },
  { weight: 1, arbitrary: fc.constant<User>({ outcome: 401 }) },
  { weight: 1, arbitrary: fc.constant<User>({ header: '', outcome: 401 }) },
  { weight: 1, arbitrary: fc.constant<User>({ header: 'banned', outcome: 403 }) },
  { weight: 1, arbitrary: fc.constantFrom(400, 401, 403, 429).map((status): User => ({ header: `throw-${status}`, outcome: status })) },
  // The app's own failure: 500 InternalError by design.
  { weight: 1, arbitrary: fc.constant<User>({ header: 'crash', outcome: 500 }) },
)

const pathArb = fc.oneof(
  fc.constantFrom(MOUNT, `${MOUNT}/`, MOUNT.toUpperCase(), `${MOUNT}?`, `${MOUNT}?__proto__[polluted]=1&constructor[prototype][polluted]=1`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((query) => `${MOUNT}?q=${encodeURIComponent(query)}&${encodeURIComponent(query)}=1`),
)

/** Harmless extra headers with odd names and values (printable, as Node's client insists). */
const noiseHeadersArb = fc.dictionary(
  fc.stringMatching(/^x-[a-z0-9-]{1,16}$/).filter((name) => name !== USER_HEADER),
  fc.string({ unit: 'binary-ascii', maxLength: 200 }).map((value) => value.replace(/[^\x20-\x7e]/g, '')),
  { maxKeys: 6 },
)

function headersFor(user: User, noise: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return { ...noise, ...(user.header === undefined ? {} : { [USER_HEADER]: user.header }), ...extra }
}

// ---- requested-scope items -------------------------------------------------------------------------------

interface ScopeItemCase {
  item: unknown
  /** 400 when the item is malformed (found while parsing, before any coverage check), else what coverage gives. */
  parse: 'ok' | 400 | 'either'
  cover: readonly Outcome[]
  prefix?: string
}

const fileNameArb = fc.stringMatching(/^[\w.-]{1,20}$/).filter((name) => name !== '.' && name !== '..')
const unicodeArb = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 })

function scopeItemArb(subject: string): fc.Arbitrary<ScopeItemCase> {
  const other = subjectArb.filter((candidate) => candidate !== subject)
  const action = fc.constantFrom(...GRANTED_ACTIONS, 'cos:PutObject', 'cos:GetObject')
  const item = (fields: Record<string, unknown>) => fields
  return fc.oneof(
    // Inside the grant: issued, narrowed to exactly this prefix.
    fc.tuple(action, fileNameArb).map(([a, name]) => ({
      item: item({ action: a, prefix: `uploads/${subject}/${name}` }),
      parse: 'ok' as const,
      cover: ['ok' as const],
      prefix: `uploads/${subject}/${name}`,
    })),
    fc.tuple(action, fileNameArb).map(([a, name]) => ({
      item: item({ action: a, prefix: `uploads/${subject}/${name}/*` }),
      parse: 'ok' as const,
      cover: ['ok' as const],
      prefix: `uploads/${subject}/${name}/*`,
    })),
    // Unicode, NUL and everything else after the user's own prefix: either issued exactly, or refused as malformed.
    unicodeArb.map((tail) => ({
      item: item({ action: 'name/cos:PutObject', prefix: `uploads/${subject}/${tail}` }),
      parse: 'either' as const,
      cover: ['ok' as const],
      prefix: `uploads/${subject}/${tail}`,
    })),
    // Someone else's, or a sibling that only looks like the user's: refused, nothing issued.
    fc
      .tuple(other, fileNameArb)
      .map(([o, name]) => ({ item: item({ action: 'name/cos:PutObject', prefix: `uploads/${o}/${name}` }), parse: 'ok' as const, cover: [403] })),
    fc
      .constantFrom(
        `uploads/${subject}*`,
        `uploads/${subject}`,
        `uploads/${subject}2/x`,
        `uploads/${subject.toUpperCase()}x/y`,
        'uploads/*',
        `uploads/${subject} /x`,
      )
      .map((prefix) => ({ item: item({ action: 'name/cos:PutObject', prefix }), parse: 'ok' as const, cover: [403] })),
    // Outside the grant another way: an action not granted, another bucket or region.
    fileNameArb.map((name) => ({ item: item({ action: 'name/cos:DeleteObject', prefix: `uploads/${subject}/${name}` }), parse: 'ok' as const, cover: [403] })),
    fileNameArb.map((name) => ({
      item: item({ action: 'name/cos:PutObject', prefix: `uploads/${subject}/${name}`, bucket: 'otherbucket-1250000001' }),
      parse: 'ok' as const,
      cover: [403],
    })),
    fileNameArb.map((name) => ({
      item: item({ action: 'name/cos:PutObject', prefix: `uploads/${subject}/${name}`, region: 'ap-beijing' }),
      parse: 'ok' as const,
      cover: [403],
    })),
    // Malformed: traversal, leading slash, wildcards, control characters, too long, wrong types, prototype keys.
    fc
      .constantFrom(
        `uploads/${subject}/../${subject === 'bob' ? 'alice' : 'bob'}/x`,
        `uploads/${subject}/..`,
        `/uploads/${subject}/x`,
        `uploads/${subject}/*/x`,
        '*',
        '/*',
        '',
        `uploads/${subject}/a\u0000b`,
        `uploads/${subject}/\n`,
        `uploads/${subject}/${'é'.repeat(500)}`,
      )
      .map((prefix) => ({ item: item({ action: 'name/cos:PutObject', prefix }), parse: 400 as const, cover: [] })),
    fc
      .constantFrom<unknown>(
        null,
        7,
        'uploads/x',
        [],
        { prefix: `uploads/${subject}/x` },
        { action: 'name/cos:PutObject' },
        { action: 5, prefix: `uploads/${subject}/x` },
        { action: 'name/cos:PutObject', prefix: 5 },
        { action: 'name/cos:PutObject', prefix: `uploads/${subject}/x`, bucket: 5 },
        { action: 'name/cos:PutObject', prefix: `uploads/${subject}/x`, region: [] },
        JSON.parse(`{"__proto__": {"action": "name/cos:PutObject", "prefix": "uploads/${subject}/x"}}`) as unknown,
      )
      .map((malformed) => ({ item: malformed, parse: 400 as const, cover: [] })),
    // An action that is not a COS action at all: found while narrowing, after parsing.
    fc
      .constantFrom('name/cos:*', '*', 'cos:Put*', 'name/cvm:RunInstances', 'PutObject', 'name/cos:putobject')
      .map((a) => ({ item: item({ action: a, prefix: `uploads/${subject}/x` }), parse: 'ok' as const, cover: [400] })),
    // Anything at all, judged only by the invariants.
    fc
      .oneof(unicodeArb, fc.jsonValue({ maxDepth: 2 }))
      .map((anything) => ({ item: { action: 'name/cos:PutObject', prefix: anything }, parse: 'either' as const, cover: [400, 403, 'ok' as const] })),
  )
}

/** What a list of items yields: malformed items win (parsed first), then the first item not covered, in order. */
function scopeOutcomes(items: ScopeItemCase[]): readonly Outcome[] {
  if (items.length === 0 || items.length > 50) return [400]
  if (items.some((item) => item.parse === 400)) return [400]
  const outcomes = new Set<Outcome>()
  if (items.some((item) => item.parse === 'either')) outcomes.add(400)
  for (const item of items) {
    for (const cover of item.cover) if (cover !== 'ok') outcomes.add(cover)
    if (item.cover.length === 1 && item.cover[0] !== 'ok' && item.parse === 'ok') return [...outcomes] // certainly refused here
  }
  outcomes.add('ok')
  return [...outcomes]
}

// ---- POST bodies -----------------------------------------------------------------------------------------

interface BodyCase {
  kind: string
  contentType?: string
  encoding?: string
  body: Buffer
  /** 400/413 when body parsing refuses it (before authorize runs), else the parsed value's fate for an authorised user. */
  parsed: { refused: 400 | 413 } | { outcomes: readonly Outcome[]; prefixes?: string[] }
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8'] as const

const jsonText = (value: unknown): string => JSON.stringify(value)

/** Not JSON even once a leading byte-order mark is dropped (body-parser drops it). */
function isNotJson(text: string): boolean {
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''))
    return false
  } catch {
    return true
  }
}
const withinLimit = (text: string): boolean => Buffer.byteLength(text) <= BODY_LIMIT_BYTES

/** A JSON object text with own `__proto__` / `constructor` keys, as an attacker would send them (JSON.stringify drops neither). */
function protoText(payload: Record<string, unknown>, polluting: unknown): string {
  const parts = [
    `"__proto__":${jsonText(polluting)}`,
    `"constructor":{"prototype":${jsonText(polluting)}}`,
    ...Object.entries(payload).map(([key, value]) => `${jsonText(key)}:${jsonText(value)}`),
  ]
  return `{${parts.join(',')}}`
}

function bodyArb(subject: string): fc.Arbitrary<BodyCase> {
  const json = (kind: string, text: string, outcomes: readonly Outcome[], prefixes?: string[]): fc.Arbitrary<BodyCase> =>
    fc.constantFrom(...JSON_TYPES).map((contentType) => ({
      kind,
      contentType,
      body: Buffer.from(text),
      parsed: withinLimit(text) ? { outcomes, ...(prefixes ? { prefixes } : {}) } : { refused: 413 as const },
    }))
  const scoped = fc.array(scopeItemArb(subject), { minLength: 1, maxLength: 4 })
  const polluting = fc.constantFrom<unknown>(
    { polluted: 'yes' },
    { scope: [{ action: 'name/cos:PutObject', prefix: 'uploads/*' }] },
    { isAdmin: true, toString: 'x' },
  )
  return fc.oneof(
    // A requested scope: odd prefixes, odd actions, mixed items.
    {
      weight: 6,
      arbitrary: scoped.chain((items) => {
        const prefixes = items.every((item) => item.prefix !== undefined && item.parse === 'ok') ? items.map((item) => item.prefix as string) : undefined
        return json('scope', jsonText({ scope: items.map((item) => item.item) }), scopeOutcomes(items), prefixes)
      }),
    },
    // No scope: the whole grant. Empty body, empty object, extra keys.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', '{}', '{"Scope":[]}', '{"scope":null}')
        .chain((text) => json('no-scope', text, text === '{"scope":null}' ? [400] : ['ok'], [`uploads/${subject}/*`])),
    },
    // Prototype keys: never read as the scope, never change Object.prototype.
    {
      weight: 2,
      arbitrary: fc
        .tuple(polluting, fc.option(scopeItemArb(subject), { nil: undefined }))
        .chain(([pollute, own]) =>
          own === undefined
            ? json('proto', protoText({}, pollute), ['ok'], [`uploads/${subject}/*`])
            : json(
                'proto+scope',
                protoText({ scope: [own.item] }, pollute),
                scopeOutcomes([own]),
                own.parse === 'ok' && own.prefix !== undefined ? [own.prefix] : undefined,
              ),
        ),
    },
    // Scope that is not an array of items, including huge arrays (413 past the byte limit, else 400 past 50 items).
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc
            .integer({ min: 51, max: 3000 })
            .map((n) => jsonText({ scope: Array.from({ length: n }, () => ({ action: 'name/cos:PutObject', prefix: `uploads/${subject}/x` })) })),
          fc.integer({ min: 0, max: 5000 }).map((n) => jsonText({ scope: Array.from({ length: n }, (_, i) => i) })),
          fc.constantFrom(
            '{"scope":{}}',
            '{"scope":"uploads/*"}',
            '{"scope":[]}',
            '{"scope":{"0":{"action":"name/cos:PutObject","prefix":"uploads/x"},"length":1}}',
          ),
        )
        .chain((text) => json('bad-scope', text, [400])),
    },
    // Deep nesting, inside an object (ignored: whole grant) or as the scope or top-level array (400).
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: 1, max: 4000 })
        .chain((depth) =>
          fc.constantFrom(
            { text: `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`, outcomes: ['ok'] as Outcome[] },
            { text: `{"scope":${'['.repeat(depth)}${']'.repeat(depth)}}`, outcomes: [400] as Outcome[] },
            { text: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`, outcomes: ['ok'] as Outcome[] },
            { text: `${'['.repeat(depth)}${']'.repeat(depth)}`, outcomes: [400] as Outcome[] },
          ),
        )
        .chain(({ text, outcomes }) => json('deep', text, outcomes, outcomes[0] === 'ok' ? [`uploads/${subject}/*`] : undefined)),
    },
    // Any JSON value at all: a non-object is refused; an object with no `scope` gets the whole grant.
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 4 }).chain((value) => {
        const text = jsonText(value)
        const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
        if (!isObject) {
          // body-parser's strict mode refuses primitives (400) before authorize; arrays pass it and the router refuses them.
          const primitive = typeof value !== 'object' || value === null
          return primitive
            ? fc.constantFrom(...JSON_TYPES).map((contentType): BodyCase => ({
                kind: 'json-value',
                contentType,
                body: Buffer.from(text),
                parsed: withinLimit(text) ? { refused: 400 } : { refused: 413 },
              }))
            : json('json-value', text, [400])
        }
        return Object.hasOwn(value, 'scope') ? json('json-value', text, [400, 403, 'ok']) : json('json-value', text, ['ok'], [`uploads/${subject}/*`])
      }),
    },
    // Not JSON at all, sent as JSON: refused while parsing, whoever asks.
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter(isNotJson),
          fc.constantFrom('{"scope": [', '{scope: []}', "{'scope': []}", '{"a":1,}', '\u0000', '{"a":"\u0000', 'null null', '\uFEFF{}x', 'NaN'),
        )
        .chain((text) =>
          fc.constantFrom(...JSON_TYPES).map((contentType): BodyCase => ({
            kind: 'invalid-json',
            contentType,
            body: Buffer.from(text),
            parsed: { refused: withinLimit(text) ? 400 : 413 },
          })),
        ),
    },
    // Raw bytes, NUL included.
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 300 })
        .filter((bytes) => isNotJson(Buffer.from(bytes).toString('utf8')))
        .map((bytes): BodyCase => ({ kind: 'bytes', contentType: 'application/json', body: Buffer.from(bytes), parsed: { refused: 400 } })),
    },
    // A body that is not declared as JSON: refused, whatever it holds.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom<string | undefined>(
            undefined,
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/vnd.api+json',
            'application/jsonx',
            'json',
            'application/xml',
          ),
          fc.constantFrom('{}', 'scope=all', '{"scope":[]}', '<x/>'),
        )
        .map(([contentType, text]): BodyCase => ({
          kind: 'not-json-type',
          ...(contentType === undefined ? {} : { contentType }),
          body: Buffer.from(text),
          parsed: { refused: 400 },
        })),
    },
    // Charsets and encodings: unsupported or corrupt ones are the client's bad body (400), valid gzip is read.
    {
      weight: 2,
      arbitrary: fc.constantFrom<BodyCase>(
        { kind: 'charset', contentType: 'application/json; charset=latin1', body: Buffer.from('{}'), parsed: { refused: 400 } },
        { kind: 'charset', contentType: 'application/json; charset=nonsense', body: Buffer.from('{}'), parsed: { refused: 400 } },
        { kind: 'encoding', contentType: 'application/json', encoding: 'gzip', body: Buffer.from('not gzip at all'), parsed: { refused: 400 } },
        { kind: 'encoding', contentType: 'application/json', encoding: 'deflate', body: Buffer.from('not deflate'), parsed: { refused: 400 } },
        { kind: 'encoding', contentType: 'application/json', encoding: 'br', body: Buffer.from('not brotli'), parsed: { refused: 400 } },
        { kind: 'encoding', contentType: 'application/json', encoding: 'compress', body: Buffer.from('{}'), parsed: { refused: 400 } },
        {
          kind: 'encoding',
          contentType: 'application/json',
          encoding: 'gzip',
          body: zlib.gzipSync('{}'),
          parsed: { outcomes: ['ok'], prefixes: [`uploads/${subject}/*`] },
        },
        {
          kind: 'encoding',
          contentType: 'application/json',
          encoding: 'gzip',
          body: zlib.gzipSync(JSON.stringify({ pad: 'x'.repeat(40_000) })),
          parsed: { refused: 413 },
        },
      ),
    },
  )
}

// ---- whole requests --------------------------------------------------------------------------------------

const OTHER_METHODS = [
  'PUT',
  'DELETE',
  'PATCH',
  'PROPFIND',
  'SEARCH',
  'TRACE',
  'LOCK',
  'MKCOL',
  'COPY',
  'MOVE',
  'PURGE',
  'REPORT',
  'M-SEARCH',
  'NOTIFY',
  'SUBSCRIBE',
  'UNLINK',
] as const

function expectFor(user: User, outcomes: readonly Outcome[]): readonly number[] {
  if (user.outcome !== 'ok') return [user.outcome]
  return outcomes.map((outcome) => (outcome === 'ok' ? 200 : outcome))
}

const getArb: fc.Arbitrary<FuzzCase> = fc
  .tuple(userArb, pathArb, noiseHeadersArb, fc.option(fc.string({ maxLength: 100 }), { nil: undefined }))
  .map(([user, path, noise, ignoredBody]) => ({
    kind: 'get',
    method: 'GET',
    path,
    headers: headersFor(user, noise, ignoredBody === undefined ? {} : { 'content-type': 'application/json' }),
    ...(ignoredBody === undefined ? {} : { body: Buffer.from(ignoredBody) }), // a GET body is never read
    allowed: expectFor(user, ['ok']),
    ...(user.subject === undefined ? {} : { subject: user.subject, prefixes: [`uploads/${user.subject}/*`] }),
  }))

const postArb: fc.Arbitrary<FuzzCase> = fc.tuple(userArb, pathArb, noiseHeadersArb).chain(([user, path, noise]) =>
  bodyArb(user.subject ?? 'alice').map((body): FuzzCase => {
    const extra: Record<string, string> = {}
    if (body.contentType !== undefined) extra['content-type'] = body.contentType
    if (body.encoding !== undefined) extra['content-encoding'] = body.encoding
    const allowed = 'refused' in body.parsed ? [body.parsed.refused] : expectFor(user, body.parsed.outcomes)
    const prefixes = 'outcomes' in body.parsed ? body.parsed.prefixes : undefined
    return {
      kind: `post:${body.kind}`,
      method: 'POST',
      path,
      headers: headersFor(user, noise, extra),
      body: body.body,
      allowed,
      ...(user.subject === undefined ? {} : { subject: user.subject }),
      ...(prefixes === undefined ? {} : { prefixes }),
    }
  }),
)

/** Other methods get 405; OPTIONS is left to the app (CORS), which here has no handler: Express's own 404. */
const methodArb: fc.Arbitrary<FuzzCase> = fc
  .tuple(fc.constantFrom(...OTHER_METHODS, 'HEAD', 'OPTIONS'), userArb, pathArb, fc.option(fc.string({ maxLength: 50 }), { nil: undefined }))
  .map(([method, user, path, text]) => ({
    kind: `method:${method === 'HEAD' || method === 'OPTIONS' ? method : 'other'}`,
    method,
    path,
    headers: headersFor(user, {}, text === undefined ? {} : { 'content-type': 'application/json' }),
    ...(text === undefined ? {} : { body: Buffer.from(text) }),
    allowed: method === 'OPTIONS' ? [404] : [405],
    ...(method === 'OPTIONS' ? { answeredBy: 'app' as const } : {}),
  }))

/** Node's parser refuses these before Express sees them: an unknown method (400) and headers over 16 KiB (431). */
const byNodeArb: fc.Arbitrary<FuzzCase> = fc.oneof(
  fc
    .constantFrom('FOO', 'BREW', 'X-CUSTOM', 'GETT')
    .map((method) => ({ kind: 'node:method', method, path: MOUNT, headers: { [USER_HEADER]: 'alice' }, allowed: [400], answeredBy: 'node' as const })),
  fc.tuple(fc.integer({ min: 17 * 1024, max: 64 * 1024 }), fc.constantFrom('x-big', USER_HEADER, 'cookie')).map(([size, name]) => ({
    kind: 'node:header',
    method: 'GET',
    path: MOUNT,
    headers: { [name]: 'a'.repeat(size) },
    allowed: [431],
    answeredBy: 'node' as const,
  })),
)

// ---- random grants (the app's side) ----------------------------------------------------------------------

export interface GrantCase extends FuzzCase {
  grant: unknown
}

const validActions = fc.constantFrom(
  'name/cos:PutObject',
  'cos:GetObject',
  'name/cos:InitiateMultipartUpload',
  'name/cos:ListMultipartUploads',
  'name/cos:HeadObject',
)
const anyActions = fc.oneof(validActions, fc.constantFrom('name/cos:*', '*', 'cos:Put*', 'name/cvm:*', 'name/cos:putobject', ''), fc.string({ maxLength: 20 }))
const anyPrefix = fc.oneof(
  subjectArb.map((s) => `uploads/${s}/*`),
  subjectArb.map((s) => `uploads/${s}/file.jpg`),
  fc.constantFrom('*', '/*', '', 'uploads/*', 'uploads/*/x', 'a/../b/*', '/abs/*', 'x\u0000/*', `${'k'.repeat(900)}*`, 'shared/*'),
  fc.string({ unit: 'binary', maxLength: 30 }),
)
const grantFieldArb = fc.record(
  {
    subject: fc.oneof(
      subjectArb,
      fc.constantFrom('', 'a/b', 'a*', 'x'.repeat(129), 'a\u0007', ' '),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.integer(),
      fc.constant(null),
    ),
    actions: fc.oneof(fc.array(anyActions, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    prefixes: fc.oneof(fc.array(anyPrefix, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
    condition: fc.oneof(fc.constant({ numeric_less_than_equal: { 'cos:content-length': 1048576 } }), fc.jsonValue({ maxDepth: 3 })),
    statements: fc.oneof(
      fc.array(
        fc.record(
          { actions: fc.array(anyActions, { maxLength: 3 }), prefixes: fc.array(anyPrefix, { maxLength: 2 }), shared: fc.boolean() },
          { requiredKeys: ['actions', 'prefixes'] },
        ),
        { maxLength: 3 },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    durationSeconds: fc.oneof(fc.constantFrom(900, 1800, 7200, 43200, 129600, 129601, 0, -1, 1.5), fc.double(), fc.string({ maxLength: 5 })),
    bucket: fc.oneof(fc.constantFrom('examplebucket-1250000000', 'other-1250000001', 'Bad_Bucket', '', 'a-1'), fc.string({ maxLength: 20 })),
    region: fc.oneof(fc.constantFrom('ap-guangzhou', 'ap-shanghai', 'AP-GUANGZHOU', '', '../x'), fc.string({ maxLength: 12 })),
  },
  { requiredKeys: [] },
)

const grantArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: grantFieldArb },
  { weight: 2, arbitrary: subjectArb.map((subject) => ({ subject, actions: ['name/cos:PutObject'], prefixes: [`uploads/${subject}/*`] })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
)

/** POST /grant with `{ grant }`: the app hands the router whatever grant it built. Allowed: 200, or 500 InvalidGrant. */
const grantCaseArb: fc.Arbitrary<GrantCase> = fc.tuple(grantArb, fc.boolean(), noiseHeadersArb).map(([grant, withProto, noise]) => {
  const text = withProto ? protoText({ grant }, { subject: 'root', actions: ['name/cos:*'], prefixes: ['*'] }) : jsonText({ grant })
  // authorize returns the grant as is: null/undefined → 401, false → 403, anything else is judged by the router.
  const allowed = grant === null || grant === undefined ? [401] : grant === false ? [403] : [200, 500]
  return {
    kind: withProto ? 'grant+proto' : 'grant',
    method: 'POST',
    path: GRANT_MOUNT,
    headers: { ...noise, 'content-type': 'application/json' },
    body: Buffer.from(text),
    allowed: withinLimit(text) ? allowed : [413],
    grant,
  }
})

/** One generated request: the mix the fuzz suite sends. */
export const fuzzCaseArb: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 3, arbitrary: getArb },
  { weight: 8, arbitrary: postArb },
  { weight: 2, arbitrary: methodArb },
  { weight: 1, arbitrary: byNodeArb },
  { weight: 3, arbitrary: grantCaseArb },
)
