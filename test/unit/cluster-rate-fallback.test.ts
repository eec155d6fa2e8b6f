import calculateSlot from 'cluster-key-slot';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RedisConnections } from '../../src/store/redis/connections.js';
import { RedisCounters } from '../../src/store/redis/counters.js';
import { RedisKeys } from '../../src/store/redis/keys.js';

/**
 * A cluster that refuses the one-call-per-master script (as a Cluster offering refusing
 * undeclared keys would): the counters say so once and go on with one call per slot. The
 * calls themselves are exercised on a real cluster (redis-cluster.test.ts); this stands in
 * for a server refusal no local redis-server makes.
 */
class RefusingCluster {
  readonly slots: string[][] = Array.from({ length: 16_384 }, (_, slot) => [`127.0.0.1:${7000 + (slot % 3)}`]);
  localCalls = 0;
  slotCalls = 0;
  private readonly tats = new Map<string, number>();

  palisadeGcraLocal(): Promise<never> {
    this.localCalls++;
    const error = new Error('ERR this proxy does not allow scripts to reach keys they did not declare');
    error.name = 'ReplyError';
    return Promise.reject(error);
  }

  /** One call per slot, each a pipeline entry: a count of hits per key against a limit of 2. */
  pipeline(): { palisadeGcra(count: number, ...rest: Array<string | number>): void; exec(): Promise<Array<[null, number[]]>> } {
    const calls: string[][] = [];
    return {
      palisadeGcra: (count, ...rest) => void calls.push(rest.slice(0, count) as string[]),
      exec: async () =>
        calls.map((keys) => {
          this.slotCalls++;
          expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(1);
          return [null, keys.map((key) => (this.tats.set(key, (this.tats.get(key) ?? 0) + 1), 2 - this.tats.get(key)!))];
        }),
    };
  }
}

function countersOn(cluster: RefusingCluster, warnings: string[]): RedisCounters {
  const connections = {
    run: <T>(command: (client: unknown) => Promise<T>) => command(cluster),
    withinBudget: <T>(pending: Promise<T>) => pending,
  } as unknown as RedisConnections;
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) });
  return new RedisCounters(connections, new RedisKeys('palisade', true), () => undefined, log);
}

describe('rate checks on a Redis Cluster that refuses one call per master', () => {
  afterEach(() => void vi.useRealTimers());

  it('fails that batch (its checks count locally), says so once, sends one call per slot for ten minutes, then tries again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cluster = new RefusingCluster();
    const warnings: string[] = [];
    const counters = countersOn(cluster, warnings);
    const clients = Array.from({ length: 12 }, (_, i) => `limit:0:192.0.2.${i + 1}`);
    const first = await Promise.allSettled(clients.map((path) => counters.rate(path, 2, 60_000)));
    expect(first.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/one call per slot/);

    const local = cluster.localCalls;
    const second = await Promise.all(clients.map((path) => counters.rate(path, 2, 60_000)));
    expect(second.map((decision) => decision.allowed)).toEqual(clients.map(() => true));
    expect(cluster.localCalls).toBe(local);
    expect(cluster.slotCalls).toBe(new Set(clients.map((path) => calculateSlot(new RedisKeys('palisade', true).rate(path)))).size);
    expect(warnings).toHaveLength(1);

    vi.setSystemTime(Date.now() + 600_001);
    await Promise.allSettled(clients.map((path) => counters.rate(path, 2, 60_000)));
    expect(cluster.localCalls).toBeGreaterThan(local);
    expect(warnings).toHaveLength(2);
  });
});

describe('rate checks on a Redis Cluster with a master down', () => {
  it('counts that master as a failed round trip, and fails only its checks', async () => {
    // Three masters by slot (slot % 3); the one of `down` fails every call, the others answer 1.
    const down = 0;
    const slots = Array.from({ length: 16_384 }, (_, slot) => [`127.0.0.1:${7000 + (slot % 3)}`]);
    const cluster = {
      slots,
      palisadeGcraLocal: (declared: number, ...rest: Array<string | number>) => {
        if (calculateSlot(String(rest[0])) % 3 === down) return Promise.reject(new Error('connection lost'));
        const others = Number(rest[declared]);
        return Promise.resolve(Array.from({ length: declared + others }, () => 1));
      },
    };
    const connections = {
      run: <T>(command: (client: unknown) => Promise<T>) => command(cluster),
      withinBudget: <T>(pending: Promise<T>) => pending,
    } as unknown as RedisConnections;
    const outcomes: string[] = [];
    const counters = new RedisCounters(connections, new RedisKeys('palisade', true), (_command, _seconds, outcome) => void outcomes.push(outcome));
    const keys = new RedisKeys('palisade', true);
    const paths = Array.from({ length: 30 }, (_, i) => `limit:0:192.0.2.${i + 1}`);
    const masters = new Set(paths.map((path) => calculateSlot(keys.rate(path)) % 3));
    expect(masters.size).toBe(3);
    const settled = await Promise.allSettled(paths.map((path) => counters.rate(path, 2, 60_000)));
    settled.forEach((outcome, i) => expect(outcome.status).toBe(calculateSlot(keys.rate(paths[i]!)) % 3 === down ? 'rejected' : 'fulfilled'));
    expect(outcomes.sort()).toEqual(['error', 'ok', 'ok']);
  });
});
