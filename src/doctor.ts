// `express-cos-sts doctor`: one STS call with a minimal policy, using the app's environment, and what is wrong in plain words.
import { parseArgs } from 'node:util'
import { messageOf, RouteError } from './errors.js'
import { ConfigError, resolveOptions } from './options.js'
import { resourceOf } from './cos/names.js'
import { stsHint } from './sts-hints.js'
import { createStsCaller } from './sts.js'
import type { StsOptions } from './types.js'

export const DOCTOR_USAGE = `Usage: express-cos-sts doctor [--bucket B] [--region R] [--endpoint HOST[:PORT]] [--protocol https:|http:] [--role-arn ARN]

Makes one STS call with the permanent key the router would use (TENCENTCLOUD_SECRET_ID /
TENCENTCLOUD_SECRET_KEY) and a minimal policy (HeadObject on one key), then says what is wrong,
if anything. Bucket and region come from --bucket/--region or COS_BUCKET/COS_REGION; the STS
endpoint, protocol and role from the flags or COS_STS_ENDPOINT, COS_STS_PROTOCOL, COS_STS_ROLE_ARN.
No key is printed. Exit status: 0 STS issued a key, 1 it did not (or the settings are wrong), 2 usage.`

/** The key the probe policy names: read-only, and nothing is read. */
export const DOCTOR_PROBE_KEY = 'express-cos-sts-doctor/probe'

export interface DoctorOutcome {
  ok: boolean
  lines: string[]
}

/** Runs the check; never throws for a setting or an STS answer (they are the diagnosis), only for usage errors. */
export async function runDoctor(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<DoctorOutcome> {
  const { values } = parseArgs({
    args: argv,
    options: {
      bucket: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      protocol: { type: 'string' },
      'role-arn': { type: 'string' },
    },
  })
  const lines: string[] = []
  const bucket = values.bucket ?? env['COS_BUCKET']
  const region = values.region ?? env['COS_REGION']
  const sts: StsOptions = {}
  const endpoint = values.endpoint ?? env['COS_STS_ENDPOINT']
  const protocol = values.protocol ?? env['COS_STS_PROTOCOL']
  const roleArn = values['role-arn'] ?? env['COS_STS_ROLE_ARN']
  if (endpoint) sts.endpoint = endpoint
  if (protocol) sts.protocol = protocol as StsOptions['protocol']
  if (roleArn) sts.roleArn = roleArn

  let resolved
  try {
    resolved = resolveOptions({ bucket: bucket ?? '', region: region ?? '', authorize: () => null, sts }, env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const where =
      error.message.includes('`bucket`') && bucket === undefined
        ? ' (set COS_BUCKET or pass --bucket)'
        : error.message.includes('`region`') && region === undefined
          ? ' (set COS_REGION or pass --region)'
          : ''
    return { ok: false, lines: [`✗ settings: ${error.message}${where}`] }
  }
  const target = `${resolved.sts.protocol}//${resolved.sts.endpoint}`
  const mode = resolved.sts.roleArn === undefined ? 'GetFederationToken' : `AssumeRole (${resolved.sts.roleArn})`
  lines.push(`checking: ${mode} at ${target} with SecretId ${maskId(resolved.secretId)}, bucket ${resolved.bucket}, region ${resolved.region}`)

  const policy = {
    version: '2.0' as const,
    statement: [
      { effect: 'allow' as const, action: ['name/cos:HeadObject'], resource: [resourceOf('cos', resolved.region, resolved.bucket, DOCTOR_PROBE_KEY)] },
    ],
  }
  try {
    const key = await createStsCaller(resolved)({ subject: 'express-cos-sts-doctor', policy, durationSeconds: resolved.durationSeconds })
    lines.push(
      `✓ STS issued a temporary key (RequestId ${key.requestId || 'none'}, expires ${new Date(key.expiredTime * 1000).toISOString()}): the router can issue keys for this bucket.`,
    )
    return { ok: true, lines }
  } catch (error) {
    lines.push(diagnose(error, target))
    return { ok: false, lines }
  }
}

/** One line: STS's code and the remedy, or why STS could not be reached. */
function diagnose(error: unknown, target: string): string {
  if (!(error instanceof RouteError)) return `✗ unexpected failure: ${messageOf(error)}`
  const cause = error.cause as { message?: unknown } | undefined
  const said = typeof cause?.message === 'string' && cause.message !== '' ? ` STS said: "${cause.message}".` : ''
  if (error.stsCode !== undefined) {
    const hint = stsHint(error.stsCode) ?? 'see the STS error code list in the Tencent Cloud docs'
    return `✗ STS refused (${error.stsCode}, RequestId ${error.stsRequestId ?? 'none'}): ${hint}.${said}`
  }
  if (error.code === 'StsTimeout') return `✗ no answer from ${target} in time: check outbound HTTPS from this machine, a proxy, or sts.endpoint.${said}`
  return `✗ could not get an answer from ${target}: check sts.endpoint / COS_STS_ENDPOINT and outbound network access.${said}`
}

/** Enough of the SecretId to tell which key is in use, not the whole id. */
function maskId(secretId: string): string {
  return secretId.length <= 8 ? '****' : `${secretId.slice(0, 4)}…${secretId.slice(-4)}`
}
