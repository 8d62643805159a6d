// A real local 3-master Redis Cluster for the cluster suites: redis-server processes on free ports in a temp dir, joined by redis-cli.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, type ClusterOptions } from 'ioredis'

const run = promisify(execFile)
const HOST = '127.0.0.1'
/** Redis Cluster's bus listens on the client port + 10000, so that one must be free too. */
const BUS_OFFSET = 10_000
/** Every wait here is bounded: a cluster that is not up by then fails the suite with what it saw. */
const STARTUP_TIMEOUT_MS = 10_000

export interface LocalRedisCluster {
  /** The masters' client ports on 127.0.0.1. */
  ports: number[]
  /** An ioredis `Cluster` on it, ready (the suite disconnects it, or `close` does). */
  connect(options?: ClusterOptions): Promise<Cluster>
  /** `redis-cli -p <port> <args>` on one node, for inspection (CLUSTER INFO, SCRIPT EXISTS ...). */
  cli(port: number, ...args: string[]): Promise<string>
  /** Kills the processes, disconnects the clients made by `connect`, removes the temp dir. */
  close(): Promise<void>
}

/** Fails with a clear message when the Debian package redis-server (redis-server and redis-cli) is not installed: the suite never skips. */
export function requireRedisBinaries(): void {
  for (const binary of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' })
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(
        `${binary} is not installed (${probe.error?.message ?? `exit ${probe.status}`}): the Redis Cluster suite starts its own 3-master cluster and needs redis-server and redis-cli on PATH (Debian: apt-get install redis-server; bash .ci/run does)`,
      )
    }
  }
}

/** Starts three cluster-enabled redis-servers, joins them as three masters with no replicas, and waits for cluster_state:ok on each. */
export async function startRedisCluster(): Promise<LocalRedisCluster> {
  requireRedisBinaries()
  const dir = mkdtempSync(join(tmpdir(), 'ecs-redis-cluster-'))
  const processes: ChildProcess[] = []
  const clients: Cluster[] = []
  const output: string[] = []
  const killAll = () => {
    for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL')
  }
  // If mocha exits (or crashes) without the suite's after hook, the servers must not outlive it.
  process.on('exit', killAll)

  const close = async () => {
    for (const client of clients.splice(0)) client.disconnect()
    await Promise.all(
      processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGKILL')
          }),
      ),
    )
    process.off('exit', killAll)
    rmSync(dir, { recursive: true, force: true })
  }

  const cli = async (port: number, ...args: string[]) => (await run('redis-cli', ['-h', HOST, '-p', String(port), ...args], { timeout: 5000 })).stdout

  try {
    const ports = await freeClusterPorts(3)
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          HOST,
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => output.push(`[${port}] ${chunk.toString()}`))
      processes.push(child)
    }
    for (const port of ports)
      await waitUntil(`redis-server on port ${port} answers PING`, async () => (await cli(port, 'ping').catch(() => '')).trim() === 'PONG')
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: STARTUP_TIMEOUT_MS,
    })
    for (const port of ports) {
      await waitUntil(`node ${port} reports cluster_state:ok`, async () => /cluster_state:ok/.test(await cli(port, 'cluster', 'info').catch(() => '')))
    }
    return {
      ports,
      cli,
      close,
      async connect(options = {}) {
        const client = new Cluster(
          ports.map((port) => ({ host: HOST, port })),
          { lazyConnect: true, ...options },
        )
        client.on('error', () => undefined) // a test asserts on command results; connection noise must not crash mocha
        clients.push(client)
        await client.connect()
        return client
      },
    }
  } catch (error) {
    const seen = output.join('').split('\n').filter(Boolean).slice(-20).join('\n')
    await close()
    throw new Error(`could not start a local Redis Cluster: ${error instanceof Error ? error.message : String(error)}\nlast server output:\n${seen}`, {
      cause: error,
    })
  }
}

/** `count` ports on 127.0.0.1 whose port + 10000 (the cluster bus) is free as well. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = []
  for (let attempt = 0; ports.length < count && attempt < 50; attempt++) {
    const port = await listenAndRelease(0)
    if (port + BUS_OFFSET > 65_535 || ports.includes(port)) continue
    if ((await listenAndRelease(port + BUS_OFFSET).catch(() => 0)) !== 0) ports.push(port)
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free port pairs (port and port + ${BUS_OFFSET})`)
  return ports
}

function listenAndRelease(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, HOST, () => {
      const { port: bound } = server.address() as { port: number }
      server.close(() => resolve(bound))
    })
  })
}

async function waitUntil(what: string, condition: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + STARTUP_TIMEOUT_MS
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out after ${STARTUP_TIMEOUT_MS} ms waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
