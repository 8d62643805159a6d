#!/usr/bin/env node
// The express-cos-sts command: `audit <grant.json>` checks a grant (exit 0 clean, 1 findings, 2 usage); `doctor` checks the key against STS (exit 0 or 1).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { auditGrant } from './audit.js'
import { messageOf } from './errors.js'
import { DOCTOR_USAGE, runDoctor } from './doctor.js'
import type { AuditReport } from './types.js'
import { GRANT_LIMITS } from './grant/limits.js'

const USAGE = `Usage: express-cos-sts audit <grant.json> [--subject alice] [--bucket examplebucket-1250000000] [--region ap-guangzhou] [--json] [--strict]

Checks a grant (what your authorize hook returns) by the rules the router applies, and prints
every action × resource it grants with the findings. '{subject}' in prefixes (the router's template)
becomes --subject, else the grant's own subject; the older '\${subject}' is read as '{subject}' with --subject.
Bucket and region default to the grant's own, then COS_BUCKET / COS_REGION, then example values.

Exit status: 0 no errors (warnings allowed), 1 errors (or warnings, with --strict), 2 usage or file problem.`

const EXAMPLE_BUCKET = 'examplebucket-1250000000'
const EXAMPLE_REGION = 'ap-guangzhou'

class UsageError extends Error {}
/** The grant file could not be read or parsed: exit 2 without the usage text. */
class FileError extends Error {}

function main(argv: string[]): number {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        subject: { type: 'string' },
        bucket: { type: 'string' },
        region: { type: 'string' },
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    throw new UsageError(messageOf(error))
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  const [command, file, ...extra] = positionals
  if (command !== 'audit') throw new UsageError(command === undefined ? 'no command given' : `unknown command '${command}'`)
  if (file === undefined) throw new UsageError('audit needs the path of a grant JSON file')
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`)

  const grant = readGrant(file)
  const bucket = values.bucket ?? process.env['COS_BUCKET']
  const region = values.region ?? process.env['COS_REGION']
  const report = auditGrant(grant, {
    ...(values.subject === undefined ? {} : { subject: values.subject }),
    bucket: bucket ?? EXAMPLE_BUCKET,
    region: region ?? EXAMPLE_REGION,
  })
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } else {
    const notes: string[] = []
    if (bucket === undefined && !hasOwn(grant, 'bucket')) notes.push(`no --bucket: resources use the example bucket ${EXAMPLE_BUCKET}`)
    if (region === undefined && !hasOwn(grant, 'region')) notes.push(`no --region: resources use the example region ${EXAMPLE_REGION}`)
    process.stdout.write(formatReport(file, report, notes))
  }
  return report.errors > 0 || (values.strict && report.warnings > 0) ? 1 : 0
}

function readGrant(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new FileError(`cannot read ${file}${typeof code === 'string' ? ` (${code})` : ''}`)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new FileError(`${file} is not valid JSON: ${messageOf(error)}`)
  }
}

function hasOwn(value: unknown, key: string): boolean {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key)
}

/** The matrix as an aligned table, then the findings with their fixes. */
function formatReport(file: string, report: AuditReport, notes: string[] = []): string {
  const lines: string[] = []
  lines.push(`Audit of ${file}: subject ${report.subject ?? '(none)'}, bucket ${report.bucket ?? '(none)'}, region ${report.region ?? '(none)'}`)
  for (const note of notes) lines.push(`note: ${note}`)
  lines.push('')
  const header = ['STATEMENT', 'ACTION', 'PREFIX', 'ACCESS', 'FINDINGS']
  const cells = report.rows.map((row) => [row.statement, row.action, row.prefix, row.write ? 'write' : 'read', row.findings.join(', ') || 'ok'])
  if (cells.length === 0) {
    lines.push('(no action × resource pairs: the grant has no usable statement)')
  } else {
    const widths = header.map((title, column) => Math.max(title.length, ...cells.map((cell) => (cell[column] ?? '').length)))
    const format = (cell: string[]): string =>
      cell
        .map((text, column) => text.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd()
    lines.push(format(header), ...cells.map(format))
  }
  lines.push(
    '',
    `${report.rows.length} action × resource pair${report.rows.length === 1 ? '' : 's'}, ${report.errors} error${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`,
  )
  for (const finding of report.findings) {
    lines.push('', `${finding.severity.toUpperCase()} ${finding.rule}: ${finding.message}`, `  fix: ${finding.fix}`)
  }
  for (const { statement, condition } of report.conditions) {
    lines.push('', `condition of ${statement} (its own and the grant's, both apply): ${JSON.stringify(condition)}`)
  }
  if (report.policy !== undefined) {
    lines.push(
      '',
      `policy sent to STS: ${report.policy.statement.length} statement${report.policy.statement.length === 1 ? '' : 's'}, ${report.policyLength} of ${GRANT_LIMITS.policyEncodedChars} characters URL-encoded`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** `doctor` talks to STS, so it is the one async command. */
async function run(argv: string[]): Promise<number> {
  if (argv[0] !== 'doctor') return main(argv)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${DOCTOR_USAGE}\n`)
    return 0
  }
  let outcome
  try {
    outcome = await runDoctor(argv.slice(1))
  } catch (error) {
    throw new UsageError(messageOf(error), { cause: DOCTOR_USAGE })
  }
  process.stdout.write(`${outcome.lines.join('\n')}\n`)
  return outcome.ok ? 0 : 1
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // A crash is not a finding: report it apart from exit status 1.
    const usage = error instanceof UsageError && typeof error.cause === 'string' ? error.cause : USAGE
    const message =
      error instanceof UsageError ? `${error.message}\n\n${usage}` : error instanceof FileError ? error.message : `unexpected error: ${messageOf(error)}`
    process.stderr.write(`express-cos-sts: ${message}\n`)
    process.exitCode = 2
  },
)
