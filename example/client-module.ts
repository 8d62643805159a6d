// Serves express-cos-sts/client to the example page straight from src/client/index.ts, so `npm run example` needs no build.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RequestHandler } from 'express'

const ROOT = join(__dirname, '..')
const SOURCE = join(ROOT, 'src', 'client', 'index.ts')

let compiled: string | undefined

/** The module as the package ships it (tsconfig.client.json's own compiler options), transpiled once on first use. */
function clientModule(): string {
  if (compiled === undefined) {
    // Loaded here, not at start-up: TypeScript takes a moment to load and only this route needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require('typescript') as typeof import('typescript')
    const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.client.json'), (path) => ts.sys.readFile(path)) as { config: unknown }
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT)
    compiled = ts.transpileModule(readFileSync(SOURCE, 'utf8'), { compilerOptions: options, fileName: 'index.ts' }).outputText
  }
  return compiled
}

/** GET handler: the client module as JavaScript (module scripts need a JavaScript content type). */
export const serveClientModule: RequestHandler = (_req, res) => {
  res.type('text/javascript').send(clientModule())
}
