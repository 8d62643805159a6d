// The Redis Cluster recipe of docs/rate-limits.md, as the cluster suite runs it; the suite checks the doc holds the text between the markers.
import type { Cluster, ClusterOptions } from 'ioredis'
import { RedisStore, type RedisReply, type SendCommandClusterDetails } from 'rate-limit-redis'

/** The doc's Cluster client options: fail at once while the cluster is not ready, as the single-node recipe does. */
export const RECIPE_CLIENT_OPTIONS = { enableOfflineQueue: false } as const satisfies ClusterOptions

/** rate-limit-redis stores on `cluster` the way the doc tells users to make them. */
export function recipeStores(cluster: Cluster): (prefix: string) => RedisStore {
  // recipe:start
  // rate-limit-redis loads its Lua scripts with SCRIPT LOAD, which a Cluster client sends to one random node;
  // an EVALSHA for a key on another master would fail with NOSCRIPT. Load them on every master instead.
  const sendCommandCluster = async ({ command }: SendCommandClusterDetails): Promise<RedisReply> => {
    const [name = '', ...args] = command
    if (name === 'SCRIPT' && args[0] === 'LOAD') {
      const loads = cluster.nodes('master').map((node) => node.call(name, ...args) as Promise<RedisReply>)
      await Promise.allSettled(loads) // every master has it before the first EVALSHA
      return Promise.any(loads) // the SHA (the same on every node); rejects only if no master loaded it
    }
    return cluster.call(name, ...args) as Promise<RedisReply> // EVALSHA, DECR, DEL: sent to the master of their key
  }
  const storeWithPrefix = (prefix: string) => new RedisStore({ prefix, sendCommandCluster })
  // recipe:end
  return storeWithPrefix
}
