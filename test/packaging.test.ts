// Packaging: `npm pack`, then temp projects install the tarball with Express 5 and Express 4 and use it as ESM, CommonJS and strict TypeScript.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { CJS_CONSUMER, ESM_CONSUMER, TS_CLIENT_CONSUMER, TS_CONFIG, TS_CONSUMER } from './support/consumers.js'
import { TEST_SECRET_ID, TEST_SECRET_KEY } from './support/keys.js'
import { containsSecret } from './support/leak-watch.js'

const run = promisify(execFile)
const ROOT = path.resolve(__dirname, '..')
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  exports: Record<string, string | Record<string, string>>
  bin: Record<string, string>
  devDependencies: Record<string, string>
}
const CONSUMER_ENV = { ...process.env, TEST_SECRET_ID, TEST_SECRET_KEY }

/** Runs a command to completion; its output is searched for the permanent key before it is returned. */
async function exec(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env: CONSUMER_ENV, timeout: 240_000, maxBuffer: 16 * 2 ** 20 })
    assert.equal(containsSecret(stdout + stderr), false, `${command} ${args.join(' ')} printed the permanent key`)
    return stdout
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`, { cause: error })
  }
}

/** The one JSON line a consumer prints (the last line of its output). */
function consumerReport(stdout: string): Record<string, unknown> {
  const last = stdout.trim().split('\n').at(-1) ?? ''
  return JSON.parse(last) as Record<string, unknown>
}

function assertServedByTarball(report: Record<string, unknown>, project: string): void {
  assert.equal(report['status'], 200, JSON.stringify(report))
  assert.equal(report['cacheControl'], 'no-store')
  assert.equal(report['issuedByLocalSts'], true, 'the key served is not one the local STS issued')
  assert.deepEqual(report['scope'], [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/alice/*'] }])
  assert.equal(report['configError'], true)
  // The package that answered is the installed tarball, not this repository's source or dist.
  assert.equal(report['resolved'], path.join(realpathSync(project), 'node_modules', manifest.name, 'dist', 'index.js'))
}

/** A fresh project in `dir` that installs the tarball and `packages` from the npm registry. */
async function consumerProject(dir: string, tarball: string, packages: string[]): Promise<string> {
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${path.basename(dir)}`, version: '1.0.0', private: true, type: 'commonjs' }))
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, ...packages], dir)
  writeFileSync(path.join(dir, 'esm.mjs'), ESM_CONSUMER)
  writeFileSync(path.join(dir, 'cjs.cjs'), CJS_CONSUMER)
  return dir
}

describe('packaging: the npm pack tarball, installed the way users install it', function () {
  this.timeout(300_000)
  let work: string
  let tarball: string
  let packed: string[]

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'express-cos-sts-pack-'))
    // prepack builds a clean dist first, so the tarball is the current source.
    const stdout = await exec('npm', ['pack', '--json', '--pack-destination', work], ROOT)
    const [result] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>
    assert.ok(result, 'npm pack reported nothing')
    tarball = path.join(work, result.filename)
    packed = result.files.map((file) => file.path).sort()
  })
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('holds only dist, README.md, LICENSE and package.json', () => {
    const outside = packed.filter((file) => !file.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(file))
    assert.deepEqual(outside, [])
    for (const required of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/testing/index.js'])
      assert.ok(packed.includes(required), `${required} is missing`)
    assert.ok(!packed.some((file) => /\.test\.|\.tsbuildinfo$|\.tgz$|(^|\/)test\//.test(file)), 'tests or build leftovers in the tarball')
    // dist holds only what src builds (prepack cleans it): every .js has its source.
    for (const file of packed.filter((name) => name.endsWith('.js'))) {
      assert.ok(existsSync(path.join(ROOT, 'src', file.slice('dist/'.length).replace(/\.js$/, '.ts'))), `${file} has no source in src/ (a stale build?)`)
    }
  })

  it('every exports entry, its types, and the bin are in the tarball', () => {
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const file of typeof target === 'string' ? [target] : Object.values(target)) {
        assert.ok(packed.includes(path.posix.normalize(file)), `exports["${subpath}"] → ${file} is not packed`)
      }
    }
    for (const [name, file] of Object.entries(manifest.bin)) assert.ok(packed.includes(path.posix.normalize(file)), `bin ${name} → ${file} is not packed`)
  })

  describe('with Express 5: ESM, CommonJS and strict TypeScript', () => {
    let project: string
    before(async () => {
      const dev = manifest.devDependencies
      project = await consumerProject(mkdtempSync(path.join(work, 'express5-')), tarball, [
        'express@^5',
        `typescript@${dev['typescript']}`,
        `@types/express@${dev['@types/express']}`,
        `@types/node@${dev['@types/node']}`,
      ])
    })

    it('import (ESM) mounts the router and gets a 200 from the local STS', async () => {
      const report = consumerReport(await exec(process.execPath, ['esm.mjs'], project))
      assertServedByTarball(report, project)
      assert.match(String(report['express']), /^5\./)
      assert.equal(report['redisStore'], 'function')
      // express-cos-sts/client is an ES module from the tarball, and its getAuthorization got a key from the route.
      assert.deepEqual(report['client'], {
        resolved: path.join(realpathSync(project), 'node_modules', manifest.name, 'dist', 'client', 'index.js'),
        issuedByLocalSts: true,
        scopeLimit: true,
      })
    })

    it('require (CommonJS) mounts the router and gets a 200 from the local STS', async () => {
      const report = consumerReport(await exec(process.execPath, ['cjs.cjs'], project))
      assertServedByTarball(report, project)
      assert.equal(report['redisStore'], 'function')
    })

    it('TypeScript: tsc --noEmit passes in strict mode (the @ts-expect-error lines prove the types are real), and the compiled app gets a 200', async () => {
      writeFileSync(path.join(project, 'tsconfig.json'), TS_CONFIG)
      writeFileSync(path.join(project, 'consumer.ts'), TS_CONSUMER)
      const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc')
      await exec(process.execPath, [tsc, '--noEmit', '-p', '.'], project)
      await exec(process.execPath, [tsc, '-p', '.', '--noCheck'], project) // checked just above
      assertServedByTarball(consumerReport(await exec(process.execPath, [path.join('out', 'consumer.js')], project)), project)
    })

    it('TypeScript: express-cos-sts/client type-checks in strict mode with only the ES2020 library (no DOM, no Node)', async () => {
      writeFileSync(path.join(project, 'client-consumer.mts'), TS_CLIENT_CONSUMER)
      writeFileSync(
        path.join(project, 'tsconfig.client.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            target: 'ES2020',
            lib: ['ES2020'],
            types: [],
            module: 'nodenext',
            moduleResolution: 'nodenext',
          },
          files: ['client-consumer.mts'],
        }),
      )
      const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc')
      await exec(process.execPath, [tsc, '-p', 'tsconfig.client.json'], project)
    })

    it('the bin is linked and runs', async () => {
      const bin = Object.keys(manifest.bin)[0] ?? ''
      const usage = await exec(path.join(project, 'node_modules', '.bin', bin), ['--help'], project)
      assert.match(usage, new RegExp(`Usage: ${bin}`))
    })
  })

  describe('with Express 4: ESM and CommonJS', () => {
    let project: string
    before(async () => {
      project = await consumerProject(mkdtempSync(path.join(work, 'express4-')), tarball, ['express@^4.21'])
    })

    for (const [kind, file] of [
      ['import (ESM)', 'esm.mjs'],
      ['require (CommonJS)', 'cjs.cjs'],
    ] as const) {
      it(`${kind} mounts the router on Express 4 and gets a 200`, async () => {
        const report = consumerReport(await exec(process.execPath, [file], project))
        assertServedByTarball(report, project)
        assert.match(String(report['express']), /^4\./)
      })
    }
  })
})
