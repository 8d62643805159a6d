// The example app over HTTP (toy login, signed cookie, credentials route, session) and `npm run example` as a process (prints the URL, stops on Ctrl-C).
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startExample, type Example } from '../example/server.js'
import { TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'

const ROOT = join(__dirname, '..')
const TSX_CLI = require.resolve('tsx/cli')

describe('example app', () => {
  let example: Example

  before(async () => {
    example = await startExample({ port: 0, env: {}, offlineKey: { secretId: TEST_SECRET_ID, secretKey: TEST_SECRET_KEY } })
  })
  after(() => example.close())

  const login = (user: unknown) =>
    fetch(`${example.url}api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user }),
    })
  /** `name=value` of the Set-Cookie, for the next request's Cookie header. */
  const cookieOf = (res: Response): string => (res.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const credentials = (cookie?: string) => fetch(`${example.url}api/cos-credentials`, cookie ? { headers: { Cookie: cookie } } : {})

  it('tells the page where COS is and who is logged in', async () => {
    const res = await fetch(`${example.url}api/session`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('cache-control'), 'no-store')
    assert.deepEqual(await res.json(), {
      user: null,
      users: ['alice', 'bob'],
      bucket: 'examplebucket-1250000000',
      region: 'ap-guangzhou',
      cos: { domain: example.cos?.endpoint, protocol: 'http:' },
    })
  })

  it('logs in with a signed, httpOnly, SameSite=Strict cookie that the credentials route accepts', async () => {
    const res = await login('alice')
    assert.equal(res.status, 204)
    assert.match(res.headers.get('set-cookie') ?? '', /^example_user=s%3Aalice\.[^;]+; Path=\/; HttpOnly; SameSite=Strict$/)
    const issued = await credentials(cookieOf(res))
    assert.equal(issued.status, 200)
    const body = (await issued.json()) as { scope: Array<{ prefixes: string[] }> }
    assert.deepEqual([...new Set(body.scope.flatMap((statement) => statement.prefixes))], ['uploads/alice/*'])
  })

  it('refuses unknown users, and treats a missing or forged cookie as nobody (401)', async () => {
    for (const user of ['mallory', '', 42, null, 'uploads/*']) {
      const res = await login(user)
      assert.equal(res.status, 400, JSON.stringify(user))
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'InvalidRequest')
    }
    const alice = cookieOf(await login('alice'))
    for (const cookie of [undefined, alice.replace('alice', 'bob'), 'example_user=bob', alice.slice(0, -2)]) {
      const res = await credentials(cookie)
      assert.equal(res.status, 401, String(cookie))
      assert.deepEqual(await res.json(), { error: { code: 'Unauthenticated', message: 'Sign in to get upload credentials.' } })
    }
  })

  it('logs out by clearing the cookie', async () => {
    const res = await fetch(`${example.url}api/logout`, { method: 'POST' })
    assert.equal(res.status, 204)
    assert.match(res.headers.get('set-cookie') ?? '', /^example_user=; Path=\/; Expires=Thu, 01 Jan 1970/)
  })

  it('serves the page and the cos-js-sdk-v5 bundle from node_modules', async () => {
    const page = await fetch(example.url)
    assert.equal(page.status, 200)
    assert.match(await page.text(), /<script src="\/vendor\/cos-js-sdk-v5\.min\.js"><\/script>/)
    const sdk = await fetch(`${example.url}vendor/cos-js-sdk-v5.min.js`)
    assert.equal(sdk.status, 200)
    assert.match(sdk.headers.get('content-type') ?? '', /javascript/)
    assert.ok((await sdk.text()).length > 100_000)
  })

  it('serves express-cos-sts/client from src as a JavaScript module, which the page imports', async () => {
    assert.match(await (await fetch(example.url)).text(), /<script type="module" src="app\.js"><\/script>/)
    assert.match(
      await (await fetch(`${example.url}app.js`)).text(),
      /^import \{ createGetAuthorization, requestUpload \} from '\/vendor\/express-cos-sts-client\.js'$/m,
    )
    const client = await fetch(`${example.url}vendor/express-cos-sts-client.js`)
    assert.equal(client.status, 200)
    assert.match(client.headers.get('content-type') ?? '', /^text\/javascript/)
    const source = await client.text()
    assert.match(source, /^export function createGetAuthorization\(/m)
    assert.match(source, /^export async function requestUpload\(/m)
    assert.doesNotMatch(source, /^\s*import\s/m, 'self-contained: no imports')
    // Byte for byte what `npm run build` ships, so the browser suites test the shipped module.
    const out = mkdtempSync(join(tmpdir(), 'client-build-'))
    try {
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.client.json', '--outDir', out], { cwd: ROOT })
      assert.equal(source, readFileSync(join(out, 'index.js'), 'utf8'))
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })
})

describe('npm run example (tsx example/server.ts)', () => {
  /** Runs the example as `npm run example` does; resolves with its output and exit once it ends (or `stop` is done). */
  function run(env: NodeJS.ProcessEnv, stop?: (url: string, child: ReturnType<typeof spawn>) => Promise<void>) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TENCENTCLOUD_|COS_)/.test(name)))
    const child = spawn(process.execPath, [TSX_CLI, 'example/server.ts'], { cwd: ROOT, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const started = Date.now()
    let printedAfterMs: number | undefined
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    return new Promise<{ stdout: string; stderr: string; code: number | null; printedAfterMs: number | undefined }>((resolve, reject) => {
      const killer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`the example did not end; output so far:\n${stdout}${stderr}`))
      }, 15_000)
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1]
        if (url && printedAfterMs === undefined) {
          printedAfterMs = Date.now() - started
          stop?.(url, child).catch(reject)
        }
      })
      child.on('close', (code) => {
        clearTimeout(killer)
        resolve({ stdout, stderr, code, printedAfterMs })
      })
    })
  }

  it('prints the URL within a few seconds, serves it, and Ctrl-C stops it', async () => {
    const result = await run({ PORT: '0' }, async (url, child) => {
      const res = await fetch(`${url}api/session`)
      assert.equal(res.status, 200)
      child.kill('SIGINT')
    })
    assert.match(result.stdout, /express-cos-sts example \(offline: local STS at http:\/\/127\.0\.0\.1:\d+\/, local COS at http:\/\/127\.0\.0\.1:\d+\/\)/)
    assert.ok(result.printedAfterMs !== undefined && result.printedAfterMs < 10_000, `printed after ${result.printedAfterMs} ms`)
    assert.equal(result.code, 0, result.stderr)
  })

  it('with TENCENTCLOUD_SECRET_ID but no bucket, says which variables to set and exits 1', async () => {
    const result = await run({ TENCENTCLOUD_SECRET_ID: 'AKIDnotUsedBecauseItStopsFirst', PORT: '0' })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /also set TENCENTCLOUD_SECRET_KEY, COS_BUCKET, COS_REGION/)
    assert.doesNotMatch(result.stdout, /open http/)
  })
})
