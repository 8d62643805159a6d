// CONTRIBUTING.md's layout table is the src/ file list with each file's own first-line comment: this keeps it true.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

/** Every .ts file under src/, as 'src/…' paths. */
function sourceFiles(dir = 'src'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.posix.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : []
  })
}

/** The first `//` comment of a file (after a shebang), without the slashes. */
function firstComment(file: string): string {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('//') && !text.startsWith('#!'))
  return (line ?? '').slice(2).trim()
}

describe('layout: CONTRIBUTING.md lists every source file with its job', () => {
  const rows = new Map(
    [...readFileSync('CONTRIBUTING.md', 'utf8').matchAll(/^\| `(src\/[^`]+)` \| (.*) \|$/gm)].map((match) => [match[1] as string, match[2] as string]),
  )

  it('every file under src/ opens with a one-line comment saying what it is for', () => {
    const bare = sourceFiles().filter((file) => firstComment(file).length < 20)
    assert.deepEqual(bare, [])
  })

  it('every file has its row, every row its file, and each row says what the file itself says', () => {
    const files = sourceFiles().sort()
    assert.deepEqual([...rows.keys()].sort(), files)
    for (const file of files) assert.equal(rows.get(file), firstComment(file), file)
  })
})
