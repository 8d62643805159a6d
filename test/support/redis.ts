// The real Redis on 127.0.0.1:6379 for the shared-store suites: connect (or skip loudly, or fail under CI), unique prefixes, clean-up.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_PORT = 6379

/** A connected client for a suite; skips the suite with a loud message when no Redis answers, unless CI is set (then it fails). */
export async function connectTestRedis(context: Mocha.Context): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port: REDIS_PORT, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: () => null })
  client.on('error', () => undefined) // connection errors surface through connect() below
  try {
    await client.connect()
    await client.ping()
    return client
  } catch (error) {
    client.disconnect()
    const reason = `no Redis answers on 127.0.0.1:${REDIS_PORT} (${error instanceof Error ? error.message : String(error)})`
    if (process.env['CI']) throw new Error(`${reason}; CI is set, so the Redis suites must run: start redis-server (bash .ci/run does)`, { cause: error })
    console.warn(`\n  !!! SKIPPING "${context.test?.parent?.title ?? 'Redis'}": ${reason}. Start redis-server to run it; with CI set this fails. !!!\n`)
    context.skip()
  }
}

/** A client the way an app makes one (ioredis defaults), already ready. */
export async function appRedisClient(): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port: REDIS_PORT, lazyConnect: true })
  client.on('error', () => undefined) // an app logs these; the store reports its own failures
  await client.connect()
  return client
}

/** A key prefix no other run (or the Express 4 pass of the suite) shares. */
export function uniquePrefix(): string {
  return `ecs-test:${randomBytes(6).toString('hex')}:`
}

/** Every key under `prefix`, for inspection and clean-up. */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    found.push(...keys)
    cursor = next
  } while (cursor !== '0')
  return found
}

export async function deleteUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix)
  if (keys.length > 0) await client.del(...keys)
}
