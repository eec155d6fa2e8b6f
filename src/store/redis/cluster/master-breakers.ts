import type { ClusterClient } from '../clients.js';

/** Calls in a row a master may fail before its checks count locally without a call. */
const MASTER_FAILURES = 3;
/** How often such a master is asked anyway (the call that makes the client reconnect). */
const MASTER_RETRY_MS = 1_000;

/**
 * Per master of a Redis Cluster (its node group in the slot map): after {@link MASTER_FAILURES}
 * calls in a row failed while the client has no ready connection to it (a master killed,
 * until a failover gives its slots to another), its clients' checks count locally at once
 * instead of waiting a budget on it, but for one batch a second that tries it again; the other
 * masters' checks stay shared, which the node's breaker (one for all of Redis) cannot do. A
 * master that is reachable but refusing for a moment (a slot moving during a reshard) is
 * still asked: its answers keep the limits exact.
 */
export class MasterBreakers {
  private readonly state = new Map<string, { failures: number; triedAt: number }>();

  /** True when `node`'s checks are not to be sent now (it rests); false also when this call is its retry. */
  resting(client: ClusterClient, node: string, now: number): boolean {
    const state = this.state.get(node);
    if (state === undefined || state.failures < MASTER_FAILURES || connectionReady(client, node)) return false;
    if (now - state.triedAt < MASTER_RETRY_MS) return true;
    state.triedAt = now;
    return false;
  }

  /** Counts a failed call to `node`. */
  failed(node: string, now: number): void {
    const state = this.state.get(node) ?? { failures: 0, triedAt: now };
    state.failures++;
    this.state.set(node, state);
  }

  /** `node` answered: its failures are forgotten. */
  answered(node: string): void {
    this.state.delete(node);
  }
}

/**
 * True when the cluster client holds a ready connection to the master of `node`. After a
 * master died, ioredis keeps a fresh, unconnected one for it while the slot map names it.
 */
function connectionReady(client: ClusterClient, node: string): boolean {
  const address = node.split(';')[0];
  return client.nodes('master').some((n) => `${n.options.host}:${n.options.port}` === address && n.status === 'ready');
}
