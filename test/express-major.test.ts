// Proves which Express the suite runs against: EXPRESS_MAJOR=4 must reach the package's own `express` import, not just the tests'.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import express from 'express'
import request from 'supertest'
import { startFixture } from './support/app.js'

const major = process.env['EXPRESS_MAJOR'] ?? '5'

/** Directory names of every loaded module that lives in an Express package. */
function loadedExpressPackages(): Set<string> {
  const names = new Set<string>()
  for (const file of Object.keys(require.cache)) {
    const match = /[\\/]node_modules[\\/](express4?)[\\/]/.exec(file)
    if (match?.[1] !== undefined) names.add(match[1])
  }
  return names
}

describe(`Express ${major} run`, () => {
  it(`resolves 'express' to Express ${major}`, () => {
    const { version } = JSON.parse(readFileSync(require.resolve('express/package.json'), 'utf8')) as { version: string }
    assert.ok(version.startsWith(`${major}.`), `express/package.json says ${version}`)
    assert.equal(path.basename(path.dirname(require.resolve('express/package.json'))), major === '4' ? 'express4' : 'express')
  })

  it('the router module itself was loaded against that Express, and only that one', async () => {
    const fixture = await startFixture()
    try {
      await request(fixture.app).get('/creds').set('x-user', 'alice').expect(200)
      assert.deepEqual([...loadedExpressPackages()], [major === '4' ? 'express4' : 'express'])
      // Express 4 and 5 differ in how a Router is built: 5 delegates to the `router` package, 4 has its own.
      const routerIsFromRouterPackage = Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]router[\\/]/.test(file))
      assert.equal(routerIsFromRouterPackage, major === '5')
      assert.equal(typeof express.Router, 'function')
    } finally {
      await fixture.close()
    }
  })
})
