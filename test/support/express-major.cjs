// With EXPRESS_MAJOR=4, makes `express` (and `express/…`) resolve to the installed `express4` alias, for the package and the tests alike.
'use strict'
const Module = require('node:module')
const { pathToFileURL } = require('node:url')

const major = process.env.EXPRESS_MAJOR ?? '5'
if (major !== '4' && major !== '5') throw new Error(`EXPRESS_MAJOR must be 4 or 5, got ${JSON.stringify(major)}`)

if (major === '4') {
  const toExpress4 = (request) => (request === 'express' || request.startsWith('express/') ? `express4${request.slice('express'.length)}` : request)

  // require(): the tests and src run as CommonJS under tsx, and Node 20's module.register hooks do not see require().
  const resolveFilename = Module._resolveFilename
  Module._resolveFilename = function (request, ...rest) {
    return resolveFilename.call(this, typeof request === 'string' ? toExpress4(request) : request, ...rest)
  }

  // import: the same mapping for ES modules (an .mjs test, or a dependency loaded with import).
  if (typeof Module.register === 'function') {
    const hook = [
      'export async function resolve(specifier, context, next) {',
      "  const mapped = specifier === 'express' || specifier.startsWith('express/') ? 'express4' + specifier.slice(7) : specifier",
      '  return next(mapped, context)',
      '}',
    ].join('\n')
    Module.register(`data:text/javascript,${encodeURIComponent(hook)}`, pathToFileURL(__filename))
  }
}
