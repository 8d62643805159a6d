// Redis Cluster, first class: the cache store's prefix keeps slotting intact, and the store works on a real local 3-master cluster.
import assert from 'node:assert/strict'
import { ConfigError } from '../src/index.js'
import { createRedisCacheStore } from '../src/redis.js'

const client = { status: 'ready', call: async () => null }

describe('Redis Cluster: the cache store prefix', () => {
  it("refuses '{' or '}' in the prefix with a ConfigError naming redis.prefix and the fix", () => {
    for (const prefix of ['app{cos}:', 'a{b:', 'a}b:', '{', '}']) {
      assert.throws(() => createRedisCacheStore({ client, prefix }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${prefix}: ${String(error)}`)
        assert.match(error.message, /`redis\.prefix`/)
        assert.match(error.message, /Fix: drop the braces/)
        return true
      }, prefix)
    }
  })

  it('accepts a prefix without braces', () => {
    for (const prefix of ['cos-sts:', 'myapp:cos-sts:', 'a:b|c-d_e.f:', '']) assert.doesNotThrow(() => createRedisCacheStore({ client, prefix }), prefix)
  })
})
