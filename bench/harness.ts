// What the bench scripts and their children share: child processes that report one JSON line, the results table, rounds and ratios.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** One row of a results table; `met` is undefined for a figure without a target. */
export interface Row {
  case: string
  figure: string
  target: string
  met: boolean | undefined
}

/** A child running a bench/ file with tsx; stdin is a pipe so it exits when this process does. */
export function child(file: string, args: string[], nodeFlags: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(__dirname, file), ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
}

/** Runs a child's main; any failure is printed and ends the process, so the parent's wait for its first line ends too. */
export function runChild(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}

/** The JSON line a child prints when it is ready (or done). */
export function firstLine<T>(spawned: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!spawned.stdout) return reject(new Error('child has no stdout'))
    const lines = createInterface({ input: spawned.stdout })
    lines.once('line', (line) => resolve(JSON.parse(line) as T))
    spawned.once('exit', (code) => reject(new Error(`bench child exited with ${code} before reporting`)))
  })
}

/** The rows as an aligned Markdown table under a title line. */
export function print(title: string, rows: Row[]): void {
  const header = ['case', 'figure', 'target', '']
  const cells = rows.map((row) => [row.case, row.figure, row.target, row.met === undefined ? '' : row.met ? 'met' : 'MISSED'])
  const widths = header.map((heading, i) => Math.max(heading.length, ...cells.map((cell) => (cell[i] ?? '').length)))
  const line = (cell: string[]) => `| ${cell.map((text, i) => text.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log(`\n${title}\n`)
  console.log([line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n'))
}

export const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length
export const fmt = (value: number) => Math.round(value).toLocaleString('en-US')

/** One measured case: requests per second, and the server's own CPU time per request. */
export interface Measured {
  rate: number
  cpuMicrosPerRequest: number
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/**
 * Measures the cases in turn for `rounds` rounds, reversing their order every other round so that a machine slowly
 * getting busier or calmer weighs on each case alike. Returns each case's measurements, in round order.
 */
export async function alternate<K extends string>(
  cases: readonly K[],
  rounds: number,
  measure: (name: K) => Promise<Measured>,
): Promise<Record<K, Measured[]>> {
  const measured = Object.fromEntries(cases.map((name) => [name, [] as Measured[]])) as Record<K, Measured[]>
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? cases : [...cases].reverse()) measured[name].push(await measure(name))
  }
  return measured
}

/**
 * `of`'s rate over `to`'s, as the median of the ratios of each round (the two measured seconds apart): on a shared
 * machine a busy neighbour lands on one round, and the median lets no single round decide. The mean ratio is given too.
 */
export function pairedRatio(of: Measured[], to: Measured[]): { median: number; mean: number } {
  const ratios = of.map((measured, i) => measured.rate / (to[i] as Measured).rate)
  return { median: median(ratios), mean: mean(of.map((m) => m.rate)) / mean(to.map((m) => m.rate)) }
}
