// One throwaway redis-server on a free port (never the shared 6379), for suites and benches that pause or stop Redis.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis, type RedisOptions } from 'ioredis'

export interface LocalRedisServer {
  port: number
  /** A client on it the way an app makes one (ioredis defaults), ready; `close` disconnects it. */
  connect(options?: RedisOptions): Promise<Redis>
  /** Stops the server and every client made by `connect`. */
  close(): Promise<void>
}

const STARTUP_TIMEOUT_MS = 10_000

/** Starts `redis-server --port N --save "" --appendonly no` as a child process and waits until it answers PING. */
export async function startRedisServer(): Promise<LocalRedisServer> {
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  })
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server could not start (install the Debian package redis-server): ${error.message}`)))
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before answering`)))
  })
  exited.catch(() => undefined)
  const clients: Redis[] = []
  const connect = async (options: RedisOptions = {}): Promise<Redis> => {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, ...options })
    client.on('error', () => undefined) // an app logs these; the store reports its own failures
    clients.push(client)
    await client.connect()
    return client
  }
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  probe.on('error', () => undefined)
  for (const until = Date.now() + STARTUP_TIMEOUT_MS; ;) {
    try {
      await Promise.race([probe.connect().then(() => probe.ping()), exited])
      break
    } catch (error) {
      if (Date.now() > until || child.exitCode !== null) {
        child.kill()
        throw error
      }
      probe.disconnect()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  probe.disconnect()
  return {
    port,
    connect,
    async close() {
      for (const client of clients) client.disconnect()
      if (child.exitCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve))
        child.kill()
        await gone
      }
    },
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
