import type { StoreHealth } from '../store/types.js';
import type { StoreMessage } from '../store/primary/protocol.js';

/**
 * The messages between a node's primary and its workers (`node:cluster` IPC, JSON): the
 * process's life here (start, settings, ready, metrics scrapes, drain), and the store's
 * messages of `store/primary/protocol.ts` (calls, ban entries and changes, health).
 */

/** A worker's settings, as the primary validated them. */
export interface WorkerInit {
  /** The worker's slot, 1 to WORKERS: its name in logs (`worker`) and metrics. */
  slot: number;
  settings: Record<string, unknown>;
  secrets: string[];
  /** The upstream to forward to (the primary's demo upstream when REVERSE_PROXY_HOST is empty). */
  upstream: string;
  /** The node's random seed (`PluginContext.nodeSecret`). */
  nodeSeed: string;
  health: StoreHealth;
}

/** The messages of a worker's life. */
export type ProcessMessage =
  // worker → primary
  | { t: 'up' }
  | { t: 'ready'; address: { address: string; family: string; port: number } }
  /** `errno`: the system error under it (`EADDRINUSE` for a proxy port taken), when there is one. */
  | { t: 'failed'; code: string; message: string; errno?: string }
  | { t: 'scraped'; id: number; metrics: unknown[] }
  /** Plugins' notes for their instance in the primary (`PluginContext.tellNode`), as `[plugin, note]`. */
  | { t: 'notes'; n: Array<[string, unknown]> }
  // primary → worker
  | { t: 'init'; init: WorkerInit }
  | { t: 'scrape'; id: number }
  /** `gentle` (a reload): idle keep-alive connections are left to time out instead of being closed. */
  | { t: 'drain'; gentle: boolean };

export type WireMessage = ProcessMessage | StoreMessage;

/** True for a message of this protocol (cluster delivers others too). */
export function isWireMessage(message: unknown): message is WireMessage {
  return typeof message === 'object' && message !== null && typeof (message as { t?: unknown }).t === 'string';
}
