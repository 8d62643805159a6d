// STS calls: GetFederationToken or AssumeRole through the official SDK, within the call budget, retried, bounded by one deadline, errors mapped to the contract.
import http from 'node:http'
import { sts as stsServices } from 'tencentcloud-sdk-nodejs-sts'
import { systemClock, type Clock } from './clock.js'
import { errorSummary, RouteError } from './errors.js'
import type { ResolvedOptions } from './options.js'
import { BudgetExhausted, createCallBudget } from './sts-budget.js'
import { withRetries } from './sts-retry.js'
import type { CamPolicy, StsAnswer, StsClientLike } from './types.js'
import { isLoopbackEndpoint } from './sts-endpoint.js'

/** What one STS call asks for. */
export interface StsRequest {
  subject: string
  policy: CamPolicy
  durationSeconds: number
}

/** A temporary key as the route serves it (the qcloud-cos-sts field names). */
export interface IssuedKey {
  tmpSecretId: string
  tmpSecretKey: string
  sessionToken: string
  startTime: number
  expiredTime: number
  expiration: string
  requestId: string
}

export type StsCaller = (request: StsRequest) => Promise<IssuedKey>

/** Builds the SDK client once and returns the function that asks it for one key. `clock` times the deadline and the budget. */
export function createStsCaller(options: Pick<ResolvedOptions, 'secretId' | 'secretKey' | 'sts'>, clock: Clock = systemClock): StsCaller {
  const { sts } = options
  const client: StsClientLike =
    sts.client ??
    new stsServices.v20180813.Client({
      credential: { secretId: options.secretId, secretKey: options.secretKey },
      region: sts.region,
      // reqTimeout (seconds) lets the SDK close the socket; the race below bounds the answer itself.
      profile: {
        httpProfile: {
          endpoint: sts.endpoint,
          protocol: `${sts.protocol}//`,
          reqTimeout: sts.timeoutMs / 1000 + 1,
          // The SDK follows http_proxy when given no agent; a loopback STS (tests, the example) must not go through one.
          ...(isLoopbackEndpoint(sts.endpoint) ? { agent: new http.Agent({ keepAlive: true }) } : {}),
        },
      },
    })

  const budget = createCallBudget({
    maxCalls: sts.maxCallsPerSecond,
    windowMs: STS_WINDOW_MS,
    maxConcurrency: sts.maxConcurrency,
    maxQueue: sts.maxQueue,
    clock,
  })
  // Starting an attempt with only a few ms left would spend a budget slot on a certain 504.
  const reserveMs = Math.min(1000, Math.floor(sts.timeoutMs / 4))

  return async (request) => {
    const deadline = clock.now() + sts.timeoutMs
    const policy = encodeURIComponent(JSON.stringify(request.policy))
    // Every attempt, retries included, is an STS call: each takes a budget slot until the SDK call settles
    // (the SDK's reqTimeout sees to that; the timer covers an injected client that never settles).
    const attempt = async (): Promise<StsAnswer> => {
      const slot = await budget.acquire(deadline - reserveMs)
      const guard = clock.setTimeout(slot, sts.timeoutMs + 1000)
      const release = () => {
        clock.clearTimeout(guard)
        slot()
      }
      try {
        const call =
          sts.roleArn === undefined
            ? client.GetFederationToken({ Name: federationName(request.subject), Policy: policy, DurationSeconds: request.durationSeconds })
            : client.AssumeRole({
                RoleArn: sts.roleArn,
                RoleSessionName: roleSessionName(request.subject),
                Policy: policy,
                DurationSeconds: request.durationSeconds,
              })
        call.then(release, release)
        return await call
      } catch (error) {
        release()
        throw error
      }
    }
    const answer = await withDeadline(withRetries(attempt, { maxRetries: sts.maxRetries, deadline, reserveMs, clock }), deadline, clock)
    return toIssuedKey(answer, request.durationSeconds)
  }
}

/** STS's limit is per second; the budget counts each call until a second after its answer, so delays on the way cannot bunch calls up at STS. */
export const STS_WINDOW_MS = 1000

/** AssumeRole's RoleSessionName: 2..128 of `[\w+=,.@-]`, derived from the subject so the cloud audit log names the user. */
export function roleSessionName(subject: string): string {
  const cleaned = subject.replace(/[^\w+=,.@-]/g, '_').slice(0, 128)
  return cleaned.length >= 2 ? cleaned : `u_${cleaned}`
}

/** GetFederationToken's Name: up to 32 of `[\w+=,.@-]`, also derived from the subject. */
export function federationName(subject: string): string {
  return roleSessionName(subject).slice(0, 32)
}

/** Races the attempts against the deadline; a late answer is ignored (its rejection is swallowed, never unhandled). */
async function withDeadline(call: Promise<StsAnswer>, deadlineAt: number, clock: Clock): Promise<StsAnswer> {
  let timer: unknown
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new RouteError('StsTimeout')), deadlineAt - clock.now())
  })
  call.catch(() => undefined)
  try {
    return await Promise.race([call, deadline])
  } catch (error) {
    throw stsFailure(error)
  } finally {
    clock.clearTimeout(timer)
  }
}

/** Every way an STS call can fail, as the contract's error. STS's own code and RequestId go to onError only. */
export function stsFailure(error: unknown): RouteError {
  if (error instanceof RouteError) return error
  if (error instanceof BudgetExhausted) {
    // Our own budget said no before STS was asked: the same answer as STS throttling, so clients back off alike.
    return new RouteError('StsThrottled', undefined, {
      cause: { name: error.name, message: error.message, reason: error.reason },
      retryAfter: Math.max(1, Math.ceil(error.retryAfterMs / 1000)),
    })
  }
  const { code, requestId, httpCode, type, message } = (error ?? {}) as {
    code?: unknown
    requestId?: unknown
    httpCode?: unknown
    type?: unknown
    message?: unknown
  }
  const details = {
    cause: errorSummary(error),
    ...(typeof code === 'string' && code !== '' ? { stsCode: code } : {}),
    ...(typeof requestId === 'string' && requestId !== '' ? { stsRequestId: requestId } : {}),
  }
  if (code === 'RequestLimitExceeded') return new RouteError('StsThrottled', 'STS is busy; try again shortly.', { ...details, retryAfter: 1 })
  if (type === 'request-timeout' || (typeof message === 'string' && /timeout/i.test(message) && !details.stsCode)) {
    return new RouteError('StsTimeout', undefined, details)
  }
  if (details.stsCode) return new RouteError('StsError', undefined, details)
  if (typeof httpCode === 'number') return new RouteError('StsError', 'STS answered with an error.', details)
  return new RouteError('StsError', 'Could not get an answer from STS.', details)
}

function toIssuedKey(answer: StsAnswer, durationSeconds: number): IssuedKey {
  const credentials = answer?.Credentials
  const { TmpSecretId, TmpSecretKey, Token } = credentials ?? {}
  const expiredTime = answer?.ExpiredTime
  if (typeof TmpSecretId !== 'string' || typeof TmpSecretKey !== 'string' || typeof Token !== 'string' || typeof expiredTime !== 'number') {
    throw new RouteError('StsError', 'STS answered without credentials.', { cause: { message: 'answer lacks Credentials or ExpiredTime' } })
  }
  return {
    tmpSecretId: TmpSecretId,
    tmpSecretKey: TmpSecretKey,
    sessionToken: Token,
    // As qcloud-cos-sts reports it: cos-js-sdk-v5 signs with the StartTime;ExpiredTime window.
    startTime: expiredTime - durationSeconds,
    expiredTime,
    expiration: typeof answer.Expiration === 'string' ? answer.Expiration : new Date(expiredTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    requestId: typeof answer.RequestId === 'string' ? answer.RequestId : '',
  }
}
