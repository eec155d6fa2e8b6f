import type { BanChange, BanFacet, StoreHealth } from '../types.js';
import type { AuditFacet } from '../types.js';
import type { RemoteCounters, RemoteLocks, RemoteMetrics, RemoteSessions } from '../shared-backend.js';

/**
 * How a node's workers reach its store: the primary is their shared backend. A worker holds
 * ban entries the primary pushes to it and reaches every other facet through calls, batched
 * per event-loop turn, over the process's IPC channel (JSON).
 */

/**
 * One end of an ordered message channel: `process` in a worker, a `cluster.Worker` in the
 * primary. It carries the process's own messages too: the store hears every message and
 * takes its own ({@link onStoreMessage}).
 */
export interface Channel {
  /** Queues `message`; `written` runs once it left this process (for pacing large transfers). */
  send(message: StoreMessage, written?: () => void): void;
  onMessage(handler: (message: { t: string }) => void): () => void;
}

const STORE_MESSAGES: ReadonlySet<string> = new Set<StoreMessage['t']>([
  'calls',
  'load',
  'hits',
  'applied',
  'results',
  'entries',
  'loaded',
  'changes',
  'health',
]);

/** Subscribes `handler` to the store's messages on `channel`; returns the unsubscribe. */
export function onStoreMessage(channel: Channel, handler: (message: StoreMessage) => void): () => void {
  return channel.onMessage((message) => {
    if (STORE_MESSAGES.has(message.t)) handler(message as StoreMessage);
  });
}

/** The facets a worker reaches through its primary, each as the contract's remote part. */
export interface PrimaryRemotes {
  counters: RemoteCounters;
  sessions: RemoteSessions;
  locks: RemoteLocks;
  metrics: RemoteMetrics;
  bans: Pick<BanFacet, 'add' | 'remove'>;
  audit: AuditFacet;
}

/** A facet the primary serves. */
export type Facet = keyof PrimaryRemotes;
/** A call: `<facet>.<method>`, the method one of the facet's in the contract (`counters.lease`). */
export type Method = { [F in Facet]: `${F}.${Extract<keyof PrimaryRemotes[F], string>}` }[Facet];

/** `[id, method, args]`, the arguments as {@link toWire} wrote them. */
export type Call = [number, Method, unknown[]];
/** A failure in the primary, as the worker's caller sees it (its registry code kept). */
export interface CallError {
  code?: string;
  message: string;
}
/** `[id, 1, value]` or `[id, 0, error]`. */
export type Result = [number, 1, unknown] | [number, 0, CallError];

/** Calls on the request path: batched together, and answered together (see `PrimaryLink`). */
export const HOT_CALLS: ReadonlySet<string> = new Set<Method>(['counters.lease', 'counters.increment']);

/** The store's messages between a worker and its primary. */
export type StoreMessage =
  // worker → primary
  | { t: 'calls'; c: Call[] }
  | { t: 'load' }
  | { t: 'hits'; h: Array<[string, number]> }
  /** The worker enforces the changes up to message `s`. */
  | { t: 'applied'; s: number }
  // primary → worker
  | { t: 'results'; r: Result[] }
  /** Ban entries, {@link encodeBanEntries}. */
  | { t: 'entries'; e: string }
  | { t: 'loaded' }
  /** `s`: the message's number, which the worker acknowledges once it enforces them. */
  | { t: 'changes'; c: BanChange[]; s: number }
  | { t: 'health'; health: StoreHealth };

/**
 * A value as it travels: JSON keeps neither a `Map` (metric deltas) nor `undefined` (an
 * optional argument, a session not found). A map becomes `{ $map: entries }`, undefined null.
 */
export function toWire(value: unknown): unknown {
  if (value === undefined) return null;
  return value instanceof Map ? { $map: [...value] } : value;
}

/** The value {@link toWire} wrote: null reads as undefined (no call of the contract takes or answers a bare null). */
export function fromWire(value: unknown): unknown {
  if (value === null) return undefined;
  if (typeof value === 'object' && Array.isArray((value as { $map?: unknown }).$map)) return new Map((value as { $map: Array<[unknown, unknown]> }).$map);
  return value;
}

/** Ban entries, one per line: `<target> <expiry epoch ms, or - for permanent>`. */
export function encodeBanEntries(walk: Iterator<readonly [string, number | null]>, max: number): { text: string; count: number; done: boolean } {
  let text = '';
  let count = 0;
  while (count < max) {
    const step = walk.next();
    if (step.done) return { text, count, done: true };
    const [target, expiresAt] = step.value;
    text += `${target} ${expiresAt ?? '-'}\n`;
    count++;
  }
  return { text, count, done: false };
}

/** Calls `each` with every entry {@link encodeBanEntries} wrote. */
export function decodeBanEntries(text: string, each: (target: string, expiresAt: number | null) => void): void {
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const expiry = line.slice(space + 1);
    each(line.slice(0, space), expiry === '-' ? null : Number(expiry));
  }
}
