// The example page in Debian's Chromium (playwright-core): log in, upload with progress, multipart, 401 when logged out, COS's AccessDenied for another folder.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startExample, type Example } from '../example/server.js'
import type { LocalCos } from '../example/local-cos/index.js'
import type { LocalSts } from '../src/testing/index.js'
import { TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const CHROMIUM = '/usr/bin/chromium'
const OUTPUT_DIR = join(__dirname, '..', 'test-output')
const SETTLED = '#status[data-state="done"], #status[data-state="error"]'
// Every wait is bounded: an upload the SDK left waiting fails the test instead of hanging it.
const UPLOAD_TIMEOUT_MS = 15_000

describe('example page in Chromium', function () {
  let example: Example
  let cos: LocalCos
  let sts: LocalSts
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let offHostRequests: string[]

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      // CI installs it (.ci/run); there a missing browser is a failure, never a silent skip.
      if (process.env['CI']) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`)
      console.warn(`\n  SKIPPING the browser suite: ${CHROMIUM} is missing (apt-get install -y chromium)\n`)
      this.skip()
    }
    // env: {} keeps the example offline whatever this machine's environment holds.
    example = await startExample({ port: 0, env: {}, offlineKey: { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY }, logger: { warn() {}, error() {} } })
    assert.ok(example.cos && example.sts, 'offline mode starts a local COS and STS')
    cos = example.cos
    sts = example.sts
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    })
    mkdirSync(OUTPUT_DIR, { recursive: true })
  })

  after(async () => {
    await browser?.close()
    await example?.close()
  })

  beforeEach(async () => {
    // A fresh context per test: no cookie, no key cached by the SDK.
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
    page = await context.newPage()
    offHostRequests = []
    page.on('request', (req) => {
      const { hostname } = new URL(req.url())
      if (hostname !== '127.0.0.1' && !req.url().startsWith('data:')) offHostRequests.push(req.url())
    })
    await page.goto(example.url)
    await page.waitForSelector('#login-alice')
  })

  afterEach(async function () {
    const title = this.currentTest?.title ?? 'test'
    await page.screenshot({ path: join(OUTPUT_DIR, `browser-${title.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`), fullPage: true })
    await context.close()
    sts.fail(null)
    assert.deepEqual(offHostRequests, [], 'the page talks to 127.0.0.1 only: no CDN, no telemetry')
  })

  async function logIn(user: string): Promise<void> {
    await page.click(`#login-${user}`)
    await page.waitForFunction((name) => document.querySelector('#who')?.textContent === `Logged in as ${name}`, user)
  }

  async function choose(name: string, bytes: Buffer, mimeType = 'application/octet-stream'): Promise<void> {
    await page.setInputFiles('#file', { name, mimeType, buffer: bytes })
  }

  async function settled(): Promise<{ state: string; text: string }> {
    const status = await page.waitForSelector(SETTLED, { timeout: UPLOAD_TIMEOUT_MS })
    return { state: (await status.getAttribute('data-state')) ?? '', text: (await status.textContent()) ?? '' }
  }

  it('alice uploads a file: progress reaches 100 %, the object is listed and stored with its bytes', async () => {
    await logIn('alice')
    const name = `hello-${randomBytes(4).toString('hex')}.txt`
    const bytes = Buffer.from(`hello from alice, ${new Date().toISOString()}\n`)
    await choose(name, bytes, 'text/plain')
    assert.equal(await page.textContent('#target'), `uploads/alice/${name}`)
    await page.click('#upload')

    const status = await settled()
    assert.equal(status.state, 'done', status.text)
    assert.match(status.text, new RegExp(`Uploaded uploads/alice/${name}`))
    assert.equal(await page.textContent('#percent'), '100 %')
    assert.equal(await page.$eval('#progress', (el) => (el as HTMLProgressElement).value), 100)
    await page.waitForSelector(`#uploads tr[data-key="uploads/alice/${name}"]`, { timeout: UPLOAD_TIMEOUT_MS })

    const stored = cos.getObject(`uploads/alice/${name}`)
    assert.ok(stored?.body.equals(bytes), 'the local COS holds exactly the file bytes')
    assert.equal(stored?.contentType, 'text/plain')
  })

  it('a multi-megabyte file goes through multipart upload and arrives intact', async () => {
    await logIn('alice')
    const name = `big-${randomBytes(4).toString('hex')}.bin`
    const bytes = randomBytes(5 * 1024 * 1024 + 1234)
    const first = cos.requests.length
    await choose(name, bytes)
    await page.click('#upload')

    const status = await settled()
    assert.equal(status.state, 'done', status.text)
    assert.equal(await page.textContent('#percent'), '100 %')
    const operations = cos.requests.slice(first).filter((r) => r.key === `uploads/alice/${name}` || r.operation === 'ListMultipartUploads')
    const count = (operation: string) => operations.filter((r) => r.operation === operation && r.status === 200).length
    assert.equal(count('ListMultipartUploads'), 1, 'the SDK looks for an upload to resume first')
    assert.equal(count('InitiateMultipartUpload'), 1)
    assert.equal(count('UploadPart'), 6, '1 MB parts')
    assert.equal(count('CompleteMultipartUpload'), 1)
    assert.equal(count('PutObject'), 0)

    const stored = cos.getObject(`uploads/alice/${name}`)
    assert.equal(stored?.body.length, bytes.length)
    assert.ok(stored?.body.equals(bytes), 'the joined parts are the file')
    await page.waitForSelector(`#uploads tr[data-key="uploads/alice/${name}"]`, { timeout: UPLOAD_TIMEOUT_MS })
  })

  it("logged out, the upload fails at once with the route's 401 message and nothing reaches COS", async () => {
    // Logging in first makes the SDK cache a key: logging out must drop it, or the upload would still work.
    await logIn('alice')
    await page.waitForSelector('#uploads tr, #list-status:has-text("Nothing under")', { timeout: UPLOAD_TIMEOUT_MS })
    await page.click('#logout')
    await page.waitForFunction(() => document.querySelector('#who')?.textContent === 'Not logged in')
    const first = cos.requests.length
    const keys = cos.keys()
    await choose('secret.txt', Buffer.from('should never be stored'), 'text/plain')
    await page.click('#upload')

    const status = await settled()
    assert.equal(status.state, 'error')
    assert.match(status.text, /Unauthenticated: Sign in to get upload credentials\. \(HTTP 401\)/)
    assert.deepEqual(cos.requests.slice(first), [], 'no request reached COS')
    assert.deepEqual(cos.keys(), keys)
  })

  it("alice trying bob's folder: COS answers AccessDenied, the page shows it, nothing is stored", async () => {
    await logIn('alice')
    // A whole-grant key reaches COS, which refuses it (a per-file key is refused by the route first: next test).
    await page.click('#flow-grant')
    await choose('intruder.txt', Buffer.from('alice was here'), 'text/plain')
    assert.equal(await page.textContent('#try-other'), "Try bob's folder")
    await page.click('#try-other')

    const status = await settled()
    assert.equal(status.state, 'error')
    assert.match(
      status.text,
      /COS refused uploads\/bob\/intruder\.txt: AccessDenied: Access Denied\. \(RequestId [0-9a-f]{32}\) The key covers only uploads\/alice\/\*\./,
    )
    assert.equal(await page.textContent('#percent'), 'failed')
    const refused = cos.requests.at(-1)
    assert.deepEqual(refused, { method: 'PUT', key: 'uploads/bob/intruder.txt', operation: 'PutObject', status: 403, code: 'AccessDenied' })
    assert.equal(cos.keys().filter((key) => key.startsWith('uploads/bob/')).length, 0)
  })

  it("alice trying bob's folder with a per-file key: the route refuses it (403) and nothing reaches COS", async () => {
    await logIn('alice')
    await choose('intruder.txt', Buffer.from('alice was here'), 'text/plain')
    const first = cos.requests.length
    await page.click('#try-other')

    const status = await settled()
    assert.equal(status.state, 'error')
    assert.match(
      status.text,
      /^No key, so nothing was sent to COS\. ScopeNotAllowed: scope\[0\] \(name\/cos:\w+ on examplebucket-1250000000\/uploads\/bob\/intruder\.txt in ap-guangzhou\) is outside what you may do\. \(HTTP 403\)$/,
    )
    assert.deepEqual(cos.requests.slice(first), [], 'no request reached COS')
    assert.equal(cos.keys().filter((key) => key.startsWith('uploads/bob/')).length, 0)
  })

  it("a failing STS (502) and a throttled one (503, Retry-After) fail the upload with the route's message", async () => {
    // bob has no cached key yet, so the route must reach STS.
    sts.fail({ kind: 'error', code: 'InternalError' })
    await logIn('bob')
    await choose('b.txt', Buffer.from('bob'), 'text/plain')
    const first = cos.requests.length
    await page.click('#upload')
    let status = await settled()
    assert.equal(status.state, 'error')
    assert.match(status.text, /No key, so nothing was sent to COS\. StsError: .+ \(HTTP 502\)/)

    sts.fail({ kind: 'error', code: 'RequestLimitExceeded' })
    await page.evaluate(() => {
      document.querySelector('#status')?.setAttribute('data-state', 'idle')
    })
    await page.click('#upload')
    status = await settled()
    assert.equal(status.state, 'error')
    assert.match(status.text, /StsThrottled: .+ Retry in \d+ s\. \(HTTP 503\)/)
    assert.deepEqual(cos.requests.slice(first), [])
    assert.equal(cos.getObject('uploads/bob/b.txt'), undefined)
  })
})
