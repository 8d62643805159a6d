// The audit command run as a child process (node + tsx) on temp grant files: the table, the findings, exit codes 0, 1 and 2.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const CLI = path.resolve('src/cli.ts')

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI with a clean environment (no COS_BUCKET / COS_REGION from the machine). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const { COS_BUCKET: _bucket, COS_REGION: _region, ...clean } = process.env
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...clean, ...env }, timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

describe('cli: express-cos-sts audit', () => {
  let dir: string
  const file = (name: string, content: unknown): string => {
    const target = path.join(dir, name)
    writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content))
    return target
  }
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cos-sts-cli-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('exit 0 and an aligned table for a clean grant, with the policy size', async () => {
    const grant = file('clean.json', {
      statements: [
        { actions: ['name/cos:GetBucket', 'name/cos:GetObject'], prefixes: ['app/files/*'], shared: true },
        { actions: ['name/cos:PutObject', 'name/cos:DeleteObject'], prefixes: ['app/files/${subject}/*'] },
      ],
    })
    const run = await cli(['audit', grant, '--subject', 'alice', '--bucket', 'photos-1250000001', '--region', 'ap-shanghai'])
    assert.equal(run.code, 0, run.stderr)
    assert.equal(run.stderr, '')
    const lines = run.stdout.split('\n')
    assert.equal(lines[0], `Audit of ${grant}: subject alice, bucket photos-1250000001, region ap-shanghai`)
    const header = lines.findIndex((line) => line.startsWith('STATEMENT'))
    const table = lines.slice(header, header + 5)
    assert.deepEqual(
      table.map((line) => line.split(/ {2,}/)),
      [
        ['STATEMENT', 'ACTION', 'PREFIX', 'ACCESS', 'FINDINGS'],
        ['grant.statements[0]', 'name/cos:GetBucket', 'app/files/*', 'read', 'ok'],
        ['grant.statements[0]', 'name/cos:GetObject', 'app/files/*', 'read', 'ok'],
        ['grant.statements[1]', 'name/cos:PutObject', 'app/files/alice/*', 'write', 'ok'],
        ['grant.statements[1]', 'name/cos:DeleteObject', 'app/files/alice/*', 'write', 'ok'],
      ],
    )
    // Aligned: every column starts at the same place on every line.
    for (const title of ['ACTION', 'PREFIX', 'ACCESS', 'FINDINGS']) {
      const column = table[0]!.indexOf(title)
      for (const line of table.slice(1)) assert.match(line.slice(column - 2, column + 1), /^ {2}\S$/, `${title} in ${line}`)
    }
    assert.match(run.stdout, /4 action × resource pairs, 0 errors, 0 warnings/)
    assert.match(run.stdout, /policy sent to STS: 2 statements, \d+ of 5120 characters URL-encoded/)
  })

  it('exit 1 on findings, naming the rule, the statement and the fix', async () => {
    const grant = file('joined.json', {
      subject: 'alice',
      statements: [{ actions: ['name/cos:GetBucket', 'name/cos:GetObject', 'name/cos:PutObject'], prefixes: ['app/files/*', 'app/files/{subject}/*'] }],
    })
    const run = await cli(['audit', grant])
    assert.equal(run.code, 1)
    assert.match(run.stdout, /note: no --bucket: resources use the example bucket examplebucket-1250000000/)
    assert.match(run.stdout, /grant\.statements\[0\] +name\/cos:PutObject +app\/files\/\* +write +write-outside-subject\n/)
    assert.equal(run.stdout.match(/^grant\.statements\[0\] /gm)?.length, 6, 'six rows for 3 actions × 2 prefixes')
    assert.match(run.stdout, /6 action × resource pairs, 1 error, 1 warning/)
    assert.match(
      run.stdout,
      /ERROR write-outside-subject: grant\.statements\[0\] lets 'alice' name\/cos:PutObject on 'app\/files\/\*'.*\n {2}fix: do not join actions and resources/,
    )
    assert.match(run.stdout, /WARNING read-outside-subject: /)
    assert.doesNotMatch(run.stdout, /policy sent to STS/)
  })

  it("fills {subject} as the router does and prints each statement's effective condition", async () => {
    const grant = file('template.json', {
      subject: 'alice',
      condition: { numeric_less_than_equal: { 'cos:content-length': 1000 } },
      statements: [{ actions: ['name/cos:PutObject'], prefixes: ['uploads/{subject}/*'], condition: { string_like: { 'cos:content-type': 'image/*' } } }],
    })
    const run = await cli(['audit', grant])
    assert.equal(run.code, 0, run.stdout)
    assert.match(run.stdout, /grant\.statements\[0\] +name\/cos:PutObject +uploads\/alice\/\* +write +ok\n/)
    assert.match(
      run.stdout,
      /condition of grant\.statements\[0\] \(its own and the grant's, both apply\): \{"numeric_less_than_equal":\{"cos:content-length":1000\},"string_like":\{"cos:content-type":"image\/\*"\}\}/,
    )
  })

  it('warnings alone exit 0, or 1 with --strict', async () => {
    const grant = file('shared.json', { subject: 'alice', statements: [{ actions: ['name/cos:PutObject'], prefixes: ['app/guestbook/*'], shared: true }] })
    const relaxed = await cli(['audit', grant])
    assert.equal(relaxed.code, 0)
    assert.match(relaxed.stdout, /WARNING shared-write: /)
    assert.equal((await cli(['audit', grant, '--strict'])).code, 1)
  })

  it('--json prints the report; COS_BUCKET / COS_REGION fill in bucket and region', async () => {
    const grant = file('wide.json', {
      subject: 'alice',
      actions: ['name/cos:*', 'name/cos:GetObject', 'name/cos:PutObject'],
      prefixes: ['app/avatar/*', 'app/avatar/alice/*'],
    })
    const run = await cli(['audit', grant, '--json'], { COS_BUCKET: 'env-1250000002', COS_REGION: 'ap-beijing' })
    assert.equal(run.code, 1)
    const report = JSON.parse(run.stdout) as { rows: Array<{ resource: string; findings: string[] }>; errors: number; bucket: string }
    assert.equal(report.rows.length, 6)
    assert.equal(report.bucket, 'env-1250000002')
    assert.equal(report.rows[0]!.resource, 'qcs::cos:ap-beijing:uid/1250000002:env-1250000002/app/avatar/*')
    assert.deepEqual(report.rows[0]!.findings, ['wildcard-action'])
    assert.equal(report.errors, 2)
  })

  it('exit 2 with a clear message for an unreadable file or invalid JSON', async () => {
    const missing = await cli(['audit', path.join(dir, 'missing.json')])
    assert.equal(missing.code, 2)
    assert.equal(missing.stdout, '')
    assert.equal(missing.stderr, `express-cos-sts: cannot read ${path.join(dir, 'missing.json')} (ENOENT)\n`)
    const broken = await cli(['audit', file('broken.json', '{ "subject": "alice", ')])
    assert.equal(broken.code, 2)
    assert.match(broken.stderr, /^express-cos-sts: .*broken\.json is not valid JSON: /)
    assert.doesNotMatch(broken.stderr, /\n\s+at /, 'no stack trace')
    assert.equal((await cli(['audit', dir])).code, 2, 'a directory is unreadable as a grant')
  })

  it('exit 2 with the usage for bad arguments; --help exits 0', async () => {
    for (const args of [
      [],
      ['audits', 'x.json'],
      ['audit'],
      ['audit', 'a.json', 'b.json'],
      ['audit', 'a.json', '--subjet', 'alice'],
      ['audit', 'a.json', '--subject'],
    ]) {
      const run = await cli(args)
      assert.equal(run.code, 2, args.join(' '))
      assert.match(run.stderr, /Usage: express-cos-sts audit <grant\.json>/)
    }
    const help = await cli(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: express-cos-sts audit/)
  })

  it('starts with a shebang, so the built bin runs as a command', () => {
    assert.equal(readFileSync(CLI, 'utf8').split('\n')[0], '#!/usr/bin/env node')
  })
})
