// express-cos-sts/client in Debian's Chromium with cos-js-sdk-v5, the example's route and its local STS and COS: loading with no bundler, folders, 503/401, requestUpload, slow clocks, the page's folder upload.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startExample, type Example } from '../example/server.js'
import type { LocalCos } from '../example/local-cos/index.js'
import type { LocalSts } from '../src/testing/index.js'
import { TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const CHROMIUM = '/usr/bin/chromium'
const OUTPUT_DIR = join(__dirname, '..', 'test-output')
const ROUTE = '/api/cos-credentials'
const MB = 1024 * 1024

// A page with no bundler: the SDK's script, then the module imported by its URL, nothing else.
const HARNESS = `<!doctype html>
<html><head><meta charset="utf-8"><title>client harness</title><link rel="icon" href="data:,"></head><body>
<script src="/vendor/cos-js-sdk-v5.min.js"></script>
<script type="module">
  import * as client from '/vendor/express-cos-sts-client.js'
  window.client = client
  // The test folder's bytes, as bytesFor() makes them in the test.
  window.blobFor = (index, size) => {
    const body = new Uint8Array(size)
    for (let i = 0; i < size; i++) body[i] = (i * 7 + index * 13 + (i >> 12)) & 255
    return new Blob([body])
  }
  window.session = await (await fetch('/api/session')).json()
  window.ready = true
</script>
</body></html>`

/** The bytes of file `index` of a test folder: the same in the page and here, different per file. */
function bytesFor(index: number, size: number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + index * 13 + (i >> 12)) & 255
  return bytes
}

interface FileResult {
  key: string
  error: string | null
}
interface HarnessWindow {
  client: typeof import('../src/client/index.js')
  session: { bucket: string; region: string; cos: { domain: string; protocol: string } }
  ready: boolean
  blobFor: (index: number, size: number) => Blob
  COS: new (options: Record<string, unknown>) => {
    uploadFiles(
      params: Record<string, unknown>,
      callback: (err: unknown, data: { files: Array<{ options: { Key: string }; error: { message: string } | null }> }) => void,
    ): void
    uploadFile(params: Record<string, unknown>, callback: (err: { message: string } | null) => void): void
  }
}

describe('client helper in Chromium (cos-js-sdk-v5, local STS and COS)', function () {
  this.timeout(240_000)
  let example: Example
  let cos: LocalCos
  let sts: LocalSts
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let routeStatuses: number[]
  let consoleErrors: string[]

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env['CI']) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`)
      console.warn(`\n  SKIPPING the client browser suite: ${CHROMIUM} is missing (apt-get install -y chromium)\n`)
      this.skip()
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
    mkdirSync(OUTPUT_DIR, { recursive: true })
  })

  after(async () => {
    await browser?.close()
  })

  // A fresh example (route with default limits, STS, COS) per test: no test spends another's rate-limit budget.
  beforeEach(async () => {
    example = await startExample({ port: 0, env: {}, offlineKey: { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY }, logger: { warn() {}, error() {} } })
    assert.ok(example.cos && example.sts)
    cos = example.cos
    sts = example.sts
    context = await browser.newContext()
    page = await context.newPage()
    routeStatuses = []
    consoleErrors = []
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === ROUTE) routeStatuses.push(res.status())
    })
    page.on('pageerror', (error) => consoleErrors.push(error.message))
  })

  afterEach(async function () {
    const title = this.currentTest?.title ?? 'test'
    await page
      .screenshot({
        path: join(
          OUTPUT_DIR,
          `client-${title
            .replace(/[^a-z0-9]+/gi, '-')
            .toLowerCase()
            .slice(0, 80)}.png`,
        ),
        fullPage: true,
      })
      .catch(() => {})
    await context.close()
    await example.close()
  })

  async function openHarness(user?: string): Promise<void> {
    // On the example's origin, so the route's cookie and the local COS's CORS rule apply as to the real page. The document
    // comes from the example server itself (Chromium lets only a loopback-served document reach loopback COS), then is replaced.
    await page.goto(`${example.url}api/session`)
    await page.setContent(HARNESS)
    await page.waitForFunction(() => (window as unknown as HarnessWindow).ready === true, undefined, { timeout: 10_000 })
    if (user) {
      const status = await page.evaluate(
        async (name) =>
          (await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: name }) })).status,
        user,
      )
      assert.equal(status, 204)
    }
  }

  /** Uploads a generated folder with cos-js-sdk-v5's uploadFiles and the helper; resolves with each file's error (null when stored). */
  function uploadFolder(options: { prefix: string; count: number; size: number; perFile: boolean }): Promise<FileResult[]> {
    return page.evaluate(({ prefix, count, size, perFile }) => {
      // No named functions in here: tsx's esbuild would wrap them in a __name() the page does not have.
      const { client, session, COS, blobFor } = window as unknown as HarnessWindow
      const getAuthorization = client.createGetAuthorization({ perFile })
      const sdk = new COS({ Domain: session.cos.domain, Protocol: session.cos.protocol, AutoSwitchHost: false, getAuthorization })
      const files = Array.from({ length: count }, (_, index) => ({
        Bucket: session.bucket,
        Region: session.region,
        Key: `${prefix}${index}.bin`,
        Body: blobFor(index, size),
      }))
      return new Promise<FileResult[]>((resolve) => {
        sdk.uploadFiles({ files, SliceSize: 1024 * 1024 }, (_err, data) => {
          resolve(
            data.files.map(({ options, error }) => ({
              key: options.Key,
              error: error ? (getAuthorization.errorFor(options.Key)?.message ?? error.message) : null,
            })),
          )
        })
      })
    }, options)
  }

  it('loads as an ES module in a page with no bundler', async () => {
    const scripts: string[] = []
    page.on('request', (req) => {
      if (req.resourceType() === 'script') scripts.push(new URL(req.url()).pathname)
    })
    await openHarness()
    const exported = await page.evaluate(() => {
      const { client } = window as unknown as HarnessWindow
      return Object.keys(client)
        .sort()
        .map((name) => `${name}: ${typeof client[name as keyof typeof client]}`)
    })
    assert.deepEqual(exported, ['CredentialsError: function', 'createGetAuthorization: function', 'requestUpload: function'])
    assert.deepEqual(scripts.sort(), ['/vendor/cos-js-sdk-v5.min.js', '/vendor/express-cos-sts-client.js'])
    assert.deepEqual(consoleErrors, [])
  })

  it('a folder of 100 multipart files (1.1 MB) with per-file keys under default limits: all stored, ≤ 100 route requests and STS calls, no 429', async () => {
    await openHarness('alice')
    const prefix = `uploads/alice/folder-${randomBytes(3).toString('hex')}/`
    const stsBefore = sts.calls.length
    const size = Math.round(1.1 * MB)
    const results = await uploadFolder({ prefix, count: 100, size, perFile: true })

    assert.deepEqual(
      results.filter((result) => result.error !== null),
      [],
      'every file uploaded',
    )
    assert.ok(routeStatuses.length <= 100, `${routeStatuses.length} route requests`)
    assert.equal(routeStatuses.filter((status) => status === 429).length, 0, 'no 429')
    assert.ok(sts.calls.length - stsBefore <= 100, `${sts.calls.length - stsBefore} STS calls`)
    for (let index = 0; index < 100; index++) {
      const stored = cos.getObject(`${prefix}${index}.bin`)
      assert.ok(stored?.body.equals(bytesFor(index, size)), `file ${index} stored intact`)
    }
    const multipart = cos.requests.filter(
      (request) => request.key.startsWith(prefix) && request.operation === 'CompleteMultipartUpload' && request.status === 200,
    )
    assert.equal(multipart.length, 100, 'each file went through multipart upload')
  })

  it('a folder with a whole-grant key: one route request for all files', async () => {
    await openHarness('alice')
    const prefix = `uploads/alice/grant-${randomBytes(3).toString('hex')}/`
    const results = await uploadFolder({ prefix, count: 12, size: Math.round(1.1 * MB), perFile: false })
    assert.deepEqual(
      results.filter((result) => result.error !== null),
      [],
    )
    assert.deepEqual(routeStatuses, [200])
    assert.equal(cos.keys().filter((key) => key.startsWith(prefix)).length, 12)
  })

  it('the route answering 503 with Retry-After: 1 once: the helper waits and the upload still succeeds', async () => {
    await openHarness('alice')
    // The router tries STS three times (sts.maxRetries 2) before its 503 StsThrottled; the fourth call succeeds.
    sts.fail({ kind: 'error', code: 'RequestLimitExceeded' }, 3)
    let retryAfter: string | undefined
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === ROUTE && res.status() === 503) retryAfter = res.headers()['retry-after']
    })
    const prefix = `uploads/alice/retry-${randomBytes(3).toString('hex')}/`
    const results = await uploadFolder({ prefix, count: 1, size: Math.round(1.5 * MB), perFile: true })
    assert.deepEqual(results, [{ key: `${prefix}0.bin`, error: null }])
    assert.equal(routeStatuses[0], 503)
    assert.equal(retryAfter, '1')
    assert.equal(routeStatuses.at(-1), 200)
    assert.ok(cos.getObject(`${prefix}0.bin`)?.body.equals(bytesFor(0, Math.round(1.5 * MB))))
  })

  it("401: the upload fails at once with the route's message; one route request, nothing reaches COS", async () => {
    await openHarness() // not logged in
    const before = cos.requests.length
    const results = await uploadFolder({ prefix: 'uploads/alice/nobody-', count: 1, size: Math.round(1.1 * MB), perFile: true })
    assert.deepEqual(results, [{ key: 'uploads/alice/nobody-0.bin', error: 'Sign in to get upload credentials.' }])
    assert.deepEqual(routeStatuses, [401])
    assert.deepEqual(cos.requests.slice(before), [])
  })

  it('requestUpload: the server-chosen key uploads (multipart), with one route request', async () => {
    await openHarness('alice')
    const size = Math.round(2.5 * MB)
    const outcome = await page.evaluate(async (size) => {
      const { client, COS, blobFor } = window as unknown as HarnessWindow
      const upload = await client.requestUpload({ name: 'Holiday Photo.JPG', size, contentType: 'image/jpeg' })
      const { session } = window as unknown as HarnessWindow
      const sdk = new COS({ Domain: session.cos.domain, Protocol: session.cos.protocol, AutoSwitchHost: false, getAuthorization: upload.getAuthorization })
      const error = await new Promise<string | null>((resolve) => {
        sdk.uploadFile({ Bucket: upload.bucket, Region: upload.region, Key: upload.key, Body: blobFor(1, size), SliceSize: 1024 * 1024 }, (err) =>
          resolve(err ? err.message : null),
        )
      })
      return { key: upload.key, bucket: upload.bucket, error }
    }, size)
    assert.equal(outcome.error, null)
    assert.equal(outcome.bucket, 'examplebucket-1250000000')
    assert.match(outcome.key, /^uploads\/alice\/.+\.jpg$/)
    assert.ok(cos.getObject(outcome.key)?.body.equals(bytesFor(1, size)), 'stored at the key the server chose')
    assert.deepEqual(routeStatuses, [200])
  })

  /**
   * Three uploads from a page whose clock is `minutes` off (negative: slow), with a whole-grant key and one SDK client.
   * Resolves with each upload's error and the SDK's SystemClockOffset afterwards.
   */
  async function uploadsWithClockOff(minutes: number): Promise<{ errors: Array<string | null>; offsetMs: number; prefix: string }> {
    // A script string, not a function: the page runs it before its own scripts.
    await page.addInitScript(`{
      const RealDate = Date
      const OFF_MS = ${minutes * 60 * 1000}
      globalThis.Date = class extends RealDate {
        constructor(...args) { if (args.length === 0) super(RealDate.now() + OFF_MS); else super(...args) }
        static now() { return RealDate.now() + OFF_MS }
      }
    }`)
    await openHarness('alice')
    const offByMs = await page.evaluate(() => new Date().getTime() - (performance.timeOrigin + performance.now()))
    assert.ok(Math.abs(offByMs - minutes * 60_000) < 5000, `the page clock is ${minutes} minutes off (${offByMs} ms)`)
    const prefix = `uploads/alice/clock-${randomBytes(3).toString('hex')}/`
    const outcome = await page.evaluate(async (prefix) => {
      const { client, session, COS } = window as unknown as HarnessWindow
      const sdk = new COS({
        Domain: session.cos.domain,
        Protocol: session.cos.protocol,
        AutoSwitchHost: false,
        getAuthorization: client.createGetAuthorization({ perFile: false }),
      })
      const errors: Array<string | null> = []
      for (const name of ['a', 'b', 'c']) {
        errors.push(
          await new Promise((resolve) => {
            sdk.uploadFile({ Bucket: session.bucket, Region: session.region, Key: `${prefix}${name}.txt`, Body: new Blob([name]) }, (err) =>
              resolve(err ? err.message : null),
            )
          }),
        )
      }
      return { errors, offsetMs: Number((sdk as unknown as { options: { SystemClockOffset: number } }).options.SystemClockOffset) }
    }, prefix)
    return { ...outcome, prefix }
  }

  // The route starts keys 15 minutes early, which covers slow clocks up to that; past it, and for fast clocks, the
  // helper sets the SDK's SystemClockOffset from serverTime.
  for (const minutes of [-40, 40]) {
    it(`a device clock ${Math.abs(minutes)} minutes ${minutes < 0 ? 'slow' : 'fast'}: one route request for three uploads, as with a right clock`, async () => {
      const { errors, offsetMs, prefix } = await uploadsWithClockOff(minutes)
      assert.deepEqual(errors, [null, null, null])
      assert.deepEqual(routeStatuses, [200])
      assert.ok(Math.abs(offsetMs + minutes * 60_000) < 5000, `SystemClockOffset ${offsetMs} ms corrects the clock`)
      assert.deepEqual(
        cos
          .keys()
          .filter((key) => key.startsWith(prefix))
          .sort(),
        ['a', 'b', 'c'].map((name) => `${prefix}${name}.txt`),
      )
    })
  }

  describe("the example page's folder upload", () => {
    let folder: string
    before(() => {
      folder = mkdtempSync(join(tmpdir(), 'cos-folder-'))
      mkdirSync(join(folder, 'photos', 'raw'), { recursive: true })
      writeFileSync(join(folder, 'notes.txt'), 'notes\n')
      writeFileSync(join(folder, 'photos', 'a.jpg'), bytesFor(2, Math.round(1.2 * MB)))
      writeFileSync(join(folder, 'photos', 'raw', 'b.bin'), bytesFor(3, 2 * MB + 5))
      writeFileSync(join(folder, 'photos', 'c.png'), bytesFor(4, 1000))
    })
    after(() => rmSync(folder, { recursive: true, force: true }))

    async function pickFolder(flow: 'grant' | 'file' | 'server'): Promise<string> {
      await page.goto(example.url)
      await page.click('#login-alice')
      await page.waitForFunction(() => document.querySelector('#who')?.textContent === 'Logged in as alice')
      await page.click(`#flow-${flow}`)
      await page.setInputFiles('#folder', folder)
      const status = await page.waitForSelector('#folder-status[data-state="done"], #folder-status[data-state="error"]', { timeout: 60_000 })
      return (await status.textContent()) ?? ''
    }

    const name = (path: string) => path.split('/').slice(1).join('/') // the chosen folder's own name comes first

    it('per-file keys: every file uploaded with its own progress bar at 100 %, one route request per file', async () => {
      const status = await pickFolder('file')
      assert.equal(status, '4 of 4 uploaded (per-file keys)')
      const rows = await page.$$eval('#files tr', (rows) =>
        rows.map((row) => ({
          path: (row as HTMLElement).dataset['path'] ?? '',
          state: (row as HTMLElement).dataset['state'],
          progress: (row.querySelector('progress') as HTMLProgressElement).value,
          result: (row as HTMLTableRowElement).cells[3]?.textContent ?? '',
        })),
      )
      assert.deepEqual(rows.map((row) => name(row.path)).sort(), ['notes.txt', 'photos/a.jpg', 'photos/c.png', 'photos/raw/b.bin'])
      for (const row of rows) {
        assert.equal(row.state, 'done', row.result)
        assert.equal(row.progress, 100)
        assert.equal(row.result, `uploads/alice/${row.path}`)
        assert.ok(cos.getObject(row.result), `${row.result} stored`)
      }
      assert.ok(cos.getObject(`uploads/alice/${rows.find((row) => row.path.endsWith('b.bin'))?.path}`)?.body.equals(bytesFor(3, 2 * MB + 5)))
      // One per file (the listing's whole-grant key is counted under the whole-grant flow).
      assert.equal(await page.textContent('#requests-file'), '4')
      assert.equal(routeStatuses.filter((status) => status === 200).length, routeStatuses.length)
    })

    it('a whole-grant key: the folder and the listing share one route request', async () => {
      const status = await pickFolder('grant')
      assert.equal(status, '4 of 4 uploaded (whole-grant keys)')
      const results = await page.$$eval('#files tr td:nth-child(4)', (cells) => cells.map((cell) => cell.textContent ?? ''))
      for (const key of results) assert.ok(cos.getObject(key), `${key} stored`)
      assert.equal(await page.textContent('#requests-grant'), '1')
      assert.deepEqual(routeStatuses, [200])
    })

    it('server-chosen keys: every file lands at a key the server chose', async () => {
      const status = await pickFolder('server')
      assert.equal(status, '4 of 4 uploaded (server-chosen keys)')
      const results = await page.$$eval('#files tr td:nth-child(4)', (cells) => cells.map((cell) => cell.textContent ?? ''))
      assert.equal(new Set(results).size, 4)
      for (const key of results) {
        assert.match(key, /^uploads\/alice\//)
        assert.ok(cos.getObject(key), `${key} stored`)
      }
      assert.equal(await page.textContent('#requests-server'), '4')
    })
  })
})
