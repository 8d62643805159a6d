// What both bench scripts share: child processes that report one JSON line, the results table, number formatting.
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
