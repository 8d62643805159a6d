// Uploads as users run them, in Debian's Chromium with cos-js-sdk-v5 and the README's hand-written front end, against the router with default limits, the local STS and the local COS.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { join } from 'node:path'
import express from 'express'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startLocalCos, type LocalCos } from '../example/local-cos/index.js'
import { createStsRouter, type Grant, type StsRouter } from '../src/index.js'
import { startLocalSts, type LocalSts } from '../src/testing/index.js'
import { capturingLogger } from './support/app.js'
import { TEST_BUCKET, TEST_REGION, TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const CHROMIUM = '/usr/bin/chromium'
const ROUTE = '/api/cos-credentials'
const SDK = join(__dirname, '..', 'node_modules', 'cos-js-sdk-v5', 'dist', 'cos-js-sdk-v5.min.js')
const MULTIPART_UPLOAD = [
  'name/cos:PutObject',
  'name/cos:InitiateMultipartUpload',
  'name/cos:ListMultipartUploads',
  'name/cos:ListParts',
  'name/cos:UploadPart',
  'name/cos:CompleteMultipartUpload',
  'name/cos:AbortMultipartUpload',
]

/**
 * The page: the SDK's script and the README's front end as written there ("The smallest front end"), aimed at the
 * local COS. `frontEnd.wholeGrant` drops the scope (POST {}), as a front end that asks for its whole grant does.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>uploads</title><link rel="icon" href="data:,"></head><body>
<script src="/vendor/cos-js-sdk-v5.min.js"></script>
<script>
  // tsx (esbuild keepNames) wraps named functions of the test's page.evaluate callbacks in __name(): give the page one.
  window.__name = (target) => target
  window.routeAsks = 0
  window.makeCos = (frontEnd) => new COS({
    Domain: frontEnd.domain, Protocol: 'http:', AutoSwitchHost: false,
    getAuthorization(options, callback) {
      window.routeAsks++
      fetch('${ROUTE}', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(frontEnd.wholeGrant ? {} : { scope: options.Scope }),   // ask for exactly this upload
      })
        .then((res) => res.json())
        .then((body) => body.credentials ? callback({
          TmpSecretId: body.credentials.tmpSecretId,
          TmpSecretKey: body.credentials.tmpSecretKey,
          SecurityToken: body.credentials.sessionToken,
          StartTime: frontEnd.startTimeShift ? body.startTime + frontEnd.startTimeShift : body.startTime,
          ExpiredTime: body.expiredTime,
          ScopeLimit: !frontEnd.wholeGrant,
        }) : callback({}))                                // an error answer fails the upload at once
        .catch(() => callback({}))
    },
  })
  // File i of a test folder: its bytes depend on i, so a mixed-up object is caught.
  window.fileFor = (name, index, size) => {
    const body = new Uint8Array(size)
    for (let i = 0; i < size; i += 4096) body[i] = (index + i / 4096) & 255
    return new File([body], name)
  }
</script>
</body></html>`

function bytesFor(index: number, size: number): Buffer {
  const body = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4096) body[i] = (index + i / 4096) & 255
  return body
}

interface PageWindow {
  routeAsks: number
  makeCos(frontEnd: { domain: string; wholeGrant?: boolean; startTimeShift?: number }): SdkClient
  fileFor(name: string, index: number, size: number): File
}
interface SdkError {
  code?: string
  statusCode?: number
  message?: string
  error?: { Code?: string }
}
interface SdkClient {
  uploadFiles(
    params: Record<string, unknown>,
    callback: (err: SdkError | null, data: { files: Array<{ options: { Key: string }; error: SdkError | null }> }) => void,
  ): void
  uploadFile(params: Record<string, unknown>, callback: (err: SdkError | null) => void): void
  putObject(params: Record<string, unknown>, callback: (err: SdkError | null) => void): void
}

describe('uploads in Chromium (cos-js-sdk-v5, the README front end, default limits)', function () {
  this.timeout(300_000)
  let sts: LocalSts
  let cos: LocalCos
  let router: StsRouter
  let server: Server
  let origin: string
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const statuses: number[] = []

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env['CI']) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`)
      console.warn(`\n  SKIPPING the browser uploads suite: ${CHROMIUM} is missing (apt-get install -y chromium)\n`)
      this.skip()
    }
    sts = await startLocalSts({ secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY })
    cos = await startLocalCos({ credentials: sts, bucket: TEST_BUCKET, region: TEST_REGION })
    // Default options: cache and both rate-limit layers as shipped.
    router = createStsRouter({
      secretId: TEST_SECRET_ID,
      secretKey: TEST_SECRET_KEY,
      bucket: TEST_BUCKET,
      region: TEST_REGION,
      sts: { endpoint: sts.endpoint, protocol: sts.protocol },
      logger: capturingLogger(),
      authorize: (req): Grant | null => {
        const user = /(?:^|;\s*)user=(\w+)/.exec(req.headers.cookie ?? '')?.[1]
        return user === undefined ? null : { subject: user, actions: MULTIPART_UPLOAD, prefixes: [`uploads/${user}/*`] }
      },
    })
    const app = express()
    app.get('/', (_req, res) => {
      res.type('html').send(PAGE)
    })
    app.get('/vendor/cos-js-sdk-v5.min.js', (_req, res) => {
      res.type('js').send(readFileSync(SDK))
    })
    app.use(
      ROUTE,
      (_req, res, next) => {
        res.on('finish', () => statuses.push(res.statusCode))
        next()
      },
      router,
    )
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
  })

  after(async () => {
    await browser?.close()
    server?.close()
    server?.closeAllConnections()
    await cos?.close()
    await sts?.close()
  })

  /** A fresh page for `user` (a cookie the route's authorize reads); `slowClockMs` makes the page's Date run behind. */
  async function openPage(user: string, slowClockMs = 0): Promise<void> {
    context = await browser.newContext()
    await context.addCookies([{ name: 'user', value: user, url: origin }])
    if (slowClockMs > 0) {
      // A string, not a function: the script runs before the page's own, where tsx's __name helper does not exist.
      await context.addInitScript(`(() => {
        const RealDate = Date
        const offset = ${slowClockMs}
        function SlowDate(...args) {
          if (!new.target) return new RealDate(RealDate.now() - offset).toString()
          return args.length === 0 ? new RealDate(RealDate.now() - offset) : new RealDate(...args)
        }
        SlowDate.now = () => RealDate.now() - offset
        SlowDate.parse = RealDate.parse
        SlowDate.UTC = RealDate.UTC
        SlowDate.prototype = RealDate.prototype
        globalThis.Date = SlowDate
      })()`)
    }
    page = await context.newPage()
    await page.goto(origin)
    await page.waitForFunction(() => typeof (window as unknown as { makeCos?: unknown }).makeCos === 'function')
  }

  afterEach(async () => {
    await context?.close()
  })

  it('a folder of 100 multipart files (1.1 MB each): all stored, at most one STS call per file, no 429', async () => {
    const FILES = 100
    const SIZE = Math.round(1.1 * 1024 * 1024)
    sts.reset()
    statuses.length = 0
    await openPage('alice')
    const results = await page.evaluate(
      async ({ domain, files, size }) => {
        const w = window as unknown as PageWindow
        const sdk = w.makeCos({ domain })
        const list = Array.from({ length: files }, (_, i) => ({
          Bucket: 'examplebucket-1250000000',
          Region: 'ap-guangzhou',
          Key: `uploads/alice/folder/f${i}.bin`,
          Body: w.fileFor(`f${i}.bin`, i, size),
        }))
        return new Promise<Array<{ key: string; error: string | null }>>((resolve, reject) => {
          sdk.uploadFiles({ files: list, SliceSize: 1024 * 1024 }, (err, data) => {
            if (err) reject(new Error(err.message))
            else
              resolve(data.files.map((file) => ({ key: file.options.Key, error: file.error ? `${file.error.code ?? ''} ${file.error.message ?? ''}` : null })))
          })
        })
      },
      { domain: cos.endpoint, files: FILES, size: SIZE },
    )

    assert.deepEqual(
      results.filter((file) => file.error !== null),
      [],
      'no file failed',
    )
    for (let i = 0; i < FILES; i++) {
      assert.ok(cos.getObject(`uploads/alice/folder/f${i}.bin`)?.body.equals(bytesFor(i, SIZE)), `f${i}.bin is stored whole`)
    }
    const count = (status: number) => statuses.filter((s) => s === status).length
    assert.equal(count(429), 0, 'no 429')
    assert.equal(count(200), statuses.length, `every route answer was 200: ${JSON.stringify(statuses.filter((s) => s !== 200))}`)
    assert.ok(sts.calls.length <= FILES, `${sts.calls.length} STS calls for ${FILES} files`)
    const multipart = cos.requests.filter((r) => r.operation === 'InitiateMultipartUpload' && r.status === 200).length
    assert.equal(multipart, FILES, 'every file went multipart')
    // The arithmetic of docs/rate-limits.md: route requests per folder, under the per-IP default.
    console.log(`      folder of ${FILES} multipart files: ${statuses.length} route requests, ${sts.calls.length} STS calls`)
  })

  it('a page whose Date runs 15 minutes slow: one credential request for three uploads (the SDK keeps the key)', async () => {
    await openPage('bob', 15 * 60 * 1000)
    const lag = Date.now() - (await page.evaluate(() => Date.now()))
    assert.ok(lag > 14.9 * 60 * 1000 && lag < 15.1 * 60 * 1000, `the page's clock runs ${lag} ms behind`)
    const upload = (frontEnd: { wholeGrant?: boolean; startTimeShift?: number }, keys: string[]) =>
      page.evaluate(
        async ({ domain, frontEnd, keys }) => {
          const w = window as unknown as PageWindow
          w.routeAsks = 0
          const sdk = w.makeCos({ domain, ...frontEnd })
          for (const [i, key] of keys.entries()) {
            await new Promise<void>((resolve, reject) => {
              sdk.putObject({ Bucket: 'examplebucket-1250000000', Region: 'ap-guangzhou', Key: key, Body: w.fileFor('a.txt', i, 100) }, (err) =>
                err ? reject(new Error(err.message ?? err.code)) : resolve(),
              )
            })
          }
          return w.routeAsks
        },
        { domain: cos.endpoint, frontEnd, keys },
      )

    // The README front end asks per scope: the same object three times is one scope, so one request.
    const same = ['uploads/bob/again.txt', 'uploads/bob/again.txt', 'uploads/bob/again.txt']
    assert.equal(await upload({}, same), 1)
    // A front end asking for its whole grant: three different files, one request.
    assert.equal(await upload({ wholeGrant: true }, ['uploads/bob/1.txt', 'uploads/bob/2.txt', 'uploads/bob/3.txt']), 1)
    // Control: with qcloud-cos-sts's StartTime (the issue time) the slow page throws each key away and asks every time.
    assert.equal(await upload({ startTimeShift: 15 * 60 }, same), 3)
    assert.ok(cos.getObject('uploads/bob/3.txt'), 'the uploads went through')
  })

  it('a server-chosen key: uploadFile (multipart) lands at it, two cat.jpg get two keys, and its credentials cannot write another key', async () => {
    await openPage('carol')
    const SIZE = Math.round(1.5 * 1024 * 1024)
    const outcome = await page.evaluate(
      async ({ domain, route, size }) => {
        const w = window as unknown as PageWindow & { COS: new (options: Record<string, unknown>) => SdkClient }
        const ask = async () =>
          (await (
            await fetch(route, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ upload: { name: 'cat.jpg', size, contentType: 'image/jpeg' } }),
            })
          ).json()) as { key: string; credentials: { tmpSecretId: string; tmpSecretKey: string; sessionToken: string }; startTime: number; expiredTime: number }
        const first = await ask()
        const second = await ask()
        const sdk = new w.COS({
          Domain: domain,
          Protocol: 'http:',
          AutoSwitchHost: false,
          getAuthorization: (_options: unknown, callback: (value: unknown) => void) =>
            callback({
              TmpSecretId: first.credentials.tmpSecretId,
              TmpSecretKey: first.credentials.tmpSecretKey,
              SecurityToken: first.credentials.sessionToken,
              StartTime: first.startTime,
              ExpiredTime: first.expiredTime,
            }),
        })
        const run = (call: (done: (err: SdkError | null) => void) => void) => new Promise<SdkError | null>((resolve) => call(resolve))
        const uploaded = await run((done) =>
          sdk.uploadFile(
            { Bucket: 'examplebucket-1250000000', Region: 'ap-guangzhou', Key: first.key, Body: w.fileFor('cat.jpg', 7, size), SliceSize: 1024 * 1024 },
            done,
          ),
        )
        const elsewhere = await run((done) =>
          sdk.putObject({ Bucket: 'examplebucket-1250000000', Region: 'ap-guangzhou', Key: 'uploads/carol/elsewhere.jpg', Body: w.fileFor('x', 1, 10) }, done),
        )
        return {
          first: first.key,
          second: second.key,
          uploaded,
          elsewhere: elsewhere && { code: elsewhere.code ?? elsewhere.error?.Code, statusCode: elsewhere.statusCode },
        }
      },
      { domain: cos.endpoint, route: ROUTE, size: SIZE },
    )

    assert.match(outcome.first, /^uploads\/carol\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{24}\.jpg$/)
    assert.match(outcome.second, /^uploads\/carol\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f]{24}\.jpg$/)
    assert.notEqual(outcome.first, outcome.second, 'two uploads of cat.jpg, two keys')
    assert.equal(outcome.uploaded, null)
    assert.ok(cos.getObject(outcome.first)?.body.equals(bytesFor(7, SIZE)), 'the file is stored at the chosen key')
    assert.ok(
      cos.requests.some((r) => r.key === outcome.first && r.operation === 'CompleteMultipartUpload' && r.status === 200),
      'it went multipart',
    )
    assert.deepEqual(outcome.elsewhere, { code: 'AccessDenied', statusCode: 403 })
    assert.equal(cos.getObject('uploads/carol/elsewhere.jpg'), undefined)
  })
})
