import type { DegradedRate, RateDecision } from '../store/counters.js';
import type { AuditEntry } from '../store/audit.js';
import type { SessionRecord } from '../store/sessions.js';
import type { Ban, BanChange, BanRequest, StoreHealth } from '../store/types.js';

/**
 * The messages between a node's primary and its workers (`node:cluster` IPC, JSON). The
 * primary holds the store; a worker holds ban entries pushed to it and reaches everything
 * else through calls, batched per event-loop turn.
 */

/** One end of an ordered message channel: `process` in a worker, a `cluster.Worker` in the primary. */
export interface Channel {
  /** Queues `message`; `written` runs once it left this process (for pacing large transfers). */
  send(message: unknown, written?: () => void): void;
  onMessage(handler: (message: WireMessage) => void): () => void;
}

/** The calls a worker makes, with their arguments and answers. */
export interface Calls {
  rate(path: string, limit: number, periodMs: number, degraded: DegradedRate): RateDecision;
  increment(path: string, windowMs: number, by: number): number;
  reset(path: string): null;
  'session.get'(id: string, touchIdleMs: number | null): SessionRecord | null;
  'session.set'(id: string, record: SessionRecord, ttlMs: number): null;
  'session.destroy'(id: string): null;
  'lock.acquire'(name: string, token: string, ttlMs: number): boolean;
  'lock.release'(name: string, token: string): null;
  /** Deltas as `[series field, value]` pairs. */
  'metrics.push'(deltas: Array<[string, number]>): null;
  'metrics.totals'(): Array<[string, number]>;
  'ban.add'(request: BanRequest, waitMs: number | null): Ban;
  'ban.remove'(target: string, actor: string, waitMs: number | null): boolean;
  'audit.list'(limit: number): AuditEntry[];
}
export type Method = keyof Calls;

/** `[id, method, args]`. */
export type Call = [number, Method, unknown[]];
/** A failure in the primary, as the worker's caller sees it (its registry code kept). */
export interface CallError {
  code?: string;
  message: string;
}
/** `[id, 1, value]` or `[id, 0, error]`. */
export type Result = [number, 1, unknown] | [number, 0, CallError];

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

export type WireMessage =
  // worker → primary
  | { t: 'up' }
  | { t: 'calls'; c: Call[] }
  | { t: 'load' }
  | { t: 'hits'; h: Array<[string, number]> }
  | { t: 'ready'; address: { address: string; family: string; port: number } }
  | { t: 'failed'; code: string; message: string }
  | { t: 'scraped'; id: number; metrics: unknown[] }
  // primary → worker
  | { t: 'init'; init: WorkerInit }
  | { t: 'results'; r: Result[] }
  /** Ban entries, one per line: `<target> <expiry epoch ms, or - for permanent>`. */
  | { t: 'entries'; e: string }
  | { t: 'loaded' }
  | { t: 'changes'; c: BanChange[] }
  | { t: 'health'; health: StoreHealth }
  | { t: 'scrape'; id: number }
  /** `gentle` (a reload): idle keep-alive connections are left to time out instead of being closed. */
  | { t: 'drain'; gentle: boolean };

/** True for a message of this protocol (cluster delivers others too). */
export function isWireMessage(message: unknown): message is WireMessage {
  return typeof message === 'object' && message !== null && typeof (message as { t?: unknown }).t === 'string';
}
