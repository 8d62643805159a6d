// The Redis cache store (`express-cos-sts/redis`): lets several instances share sealed keys and fill locks through the app's ioredis client.
import { sealSecretWeakness } from './cache/seal-secret.js'
import { ConfigError } from './options.js'
import type { CacheStore } from './types.js'

/** The part of an ioredis client (`Redis` or `Cluster`) the store uses; the app's own client is passed in, never created here. */
export interface RedisClientLike {
  /** ioredis's connection state; the store answers only while it is `'ready'`. */
  status: string
  call(command: string, args: Array<string | number>): Promise<unknown>
  /** ioredis's: a second connection like this one, for pub/sub (a subscribed connection can send nothing else). */
  duplicate?(): RedisSubscriberLike
  /** ioredis's events: the pub/sub connection closes with the client's `'end'` and comes back with its `'ready'`. */
  on?(event: 'end' | 'ready', listener: () => void): unknown
}

/** The part of an ioredis connection used for pub/sub. */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>
  unsubscribe(channel: string): Promise<unknown>
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  on(event: 'error', listener: (error: unknown) => void): unknown
  disconnect(): void
}

export interface RedisCacheStoreOptions {
  /** A connected ioredis client the app already has. */
  client: RedisClientLike
  /** Put before every key (default `cos-sts:`): give each app sharing a Redis its own. */
  prefix?: string
  /**
   * The secret that seals cached keys and names them in Redis (32+ characters of 3 kinds). Default: derived from the
   * router's `secretKey`, which must then be as strong. Give one when `secretKey` is a placeholder (e.g. with `sts.client`).
   */
  sealSecret?: string
}

export type { CacheStore } from './types.js'

const DEFAULT_PREFIX = 'cos-sts:'
// Deletes the lock only if this instance still holds it, in one atomic step.
const DELETE_IF_VALUE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

/**
 * A `cache.store` on Redis. It fails at once while the client is not ready (ioredis would queue the command
 * for seconds), and the router bounds every call, so a Redis outage costs STS calls, never failed requests.
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): CacheStore {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('redis', 'needs an options object', 'call createRedisCacheStore({ client }) with your ioredis client')
  }
  const { client, prefix = DEFAULT_PREFIX } = options
  if (client === null || typeof client !== 'object' || typeof client.call !== 'function' || typeof client.status !== 'string') {
    throw new ConfigError(
      'redis.client',
      'must be an ioredis client (Redis or Cluster)',
      "pass the app's client: createRedisCacheStore({ client: new Redis(process.env.REDIS_URL) })",
    )
  }
  if (typeof prefix !== 'string' || prefix.length > 100) {
    throw new ConfigError('redis.prefix', 'must be a string of at most 100 characters', "use a short name such as 'cos-sts:' or 'myapp:cos-sts:'")
  }
  // Redis Cluster slots a key by its first {…}: a brace in the prefix would put every key in one slot ('app{cos}:')
  // or split a subject's keys across slots, failing every lookup with CROSSSLOT ('a{b:').
  if (/[{}]/.test(prefix)) {
    throw new ConfigError(
      'redis.prefix',
      `must not contain '{' or '}' (got ${JSON.stringify(prefix)}): they break Redis Cluster hash slots`,
      "drop the braces, e.g. 'app:cos:' instead of 'app{cos}:'; the store adds its own per-subject {…} hash tag",
    )
  }

  const { sealSecret } = options
  const sealWeakness = sealSecret === undefined ? undefined : typeof sealSecret === 'string' ? sealSecretWeakness(sealSecret) : 'it is not a string'
  if (sealWeakness !== undefined) {
    throw new ConfigError(
      'redis.sealSecret',
      `is too weak to seal cached keys: ${sealWeakness}`,
      'use 32 or more random characters, e.g. from `openssl rand -base64 33`, kept as secret as the SecretKey',
    )
  }

  const send = async (command: string, args: Array<string | number>): Promise<unknown> => {
    if (client.status !== 'ready') throw new Error(`the Redis client is ${client.status}, not ready`)
    return client.call(command, args)
  }

  const store: CacheStore = {
    async get(keys) {
      const values = await send(
        'MGET',
        keys.map((key) => prefix + key),
      )
      if (!Array.isArray(values)) throw new Error('MGET did not answer with a list')
      return values.map((value: unknown) => (typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : null))
    },
    async set(key, value, ttlMs, onlyIfAbsent = false) {
      const args: Array<string | number> = [prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs))]
      if (onlyIfAbsent) args.push('NX')
      return (await send('SET', args)) === 'OK'
    },
    async deleteIfValue(key, value) {
      await send('EVAL', [DELETE_IF_VALUE, 1, prefix + key, value])
    },
    async publish(channel, message) {
      await send('PUBLISH', [prefix + channel, message])
    },
    ...subscriptions(client, prefix),
  }
  // Not enumerable: a logged or serialised store does not show it.
  if (sealSecret !== undefined) Object.defineProperty(store, 'sealSecret', { value: sealSecret, enumerable: false })
  return store
}

/** `subscribe` on a second connection made with `client.duplicate()`, which lives and dies with the client. */
function subscriptions(client: RedisClientLike, prefix: string): Pick<CacheStore, 'subscribe'> {
  if (typeof client.duplicate !== 'function') return {}
  const listeners = new Map<string, Set<(message: string) => void>>()
  let subscriber: RedisSubscriberLike | undefined
  const connection = (): RedisSubscriberLike => {
    if (subscriber !== undefined) return subscriber
    const made = (client.duplicate as () => RedisSubscriberLike)()
    made.on('error', () => undefined) // the store's own calls report Redis failures
    made.on('message', (channel, message) => {
      for (const listener of listeners.get(channel) ?? []) listener(message)
    })
    for (const channel of listeners.keys()) made.subscribe(channel).catch(() => undefined)
    return (subscriber = made)
  }
  client.on?.('end', () => {
    subscriber?.disconnect()
    subscriber = undefined
  })
  client.on?.('ready', () => {
    if (listeners.size > 0) connection()
  })
  return {
    async subscribe(channel, listener) {
      const name = prefix + channel
      let set = listeners.get(name)
      if (set === undefined) {
        listeners.set(name, (set = new Set()))
        await connection().subscribe(name)
      }
      set.add(listener)
      return () => {
        set.delete(listener)
        if (set.size > 0 || listeners.get(name) !== set) return
        listeners.delete(name)
        subscriber?.unsubscribe(name).catch(() => undefined)
      }
    },
  }
}
