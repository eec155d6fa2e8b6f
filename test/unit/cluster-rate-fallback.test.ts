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

  /** One call per slot, each a pipeline entry: one hit granted per key against a limit of 2 (then none). */
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

/**
 * The request-path connections as the counters use them, over a stand-in cluster client: a
 * 50 ms budget, every call run at once; `sawDeadline` sees the deadline each call is given.
 */
function connectionsTo(cluster: object, sawDeadline: (deadline: number | undefined) => void = () => undefined): RedisConnections {
  return {
    run: <T>(command: (client: unknown) => Promise<T>) => command(cluster),
    withinBudget: <T>(pending: Promise<T>, deadline?: number) => (sawDeadline(deadline), pending),
    requestBudgetMs: 50,
  } as unknown as RedisConnections;
}

function countersOn(cluster: RefusingCluster, warnings: string[]): RedisCounters {
  const connections = connectionsTo(cluster);
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) });
  return new RedisCounters(connections, new RedisKeys('palisade', true), () => undefined, log);
}

describe('leases on a Redis Cluster that refuses one call per master', () => {
  afterEach(() => void vi.useRealTimers());

  it('fails that batch (its checks count locally), says so once, sends one call per slot for ten minutes, then tries again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cluster = new RefusingCluster();
    const warnings: string[] = [];
    const counters = countersOn(cluster, warnings);
    const clients = Array.from({ length: 12 }, (_, i) => `limit:0:192.0.2.${i + 1}`);
    const first = await Promise.allSettled(clients.map((path) => counters.lease(path, 2, 60_000, undefined, 1)));
    expect(first.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/one call per slot/);

    const local = cluster.localCalls;
    const second = await Promise.all(clients.map((path) => counters.lease(path, 2, 60_000, undefined, 1)));
    expect(second.map((decision) => decision.hits > 0)).toEqual(clients.map(() => true));
    expect(cluster.localCalls).toBe(local);
    expect(cluster.slotCalls).toBe(new Set(clients.map((path) => calculateSlot(new RedisKeys('palisade', true).rate(path)))).size);
    expect(warnings).toHaveLength(1);

    vi.setSystemTime(Date.now() + 600_001);
    await Promise.allSettled(clients.map((path) => counters.lease(path, 2, 60_000, undefined, 1)));
    expect(cluster.localCalls).toBeGreaterThan(local);
    expect(warnings).toHaveLength(2);
  });
});

describe('leases on a Redis Cluster with a master down', () => {
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
    const connections = connectionsTo(cluster);
    const outcomes: string[] = [];
    const counters = new RedisCounters(connections, new RedisKeys('palisade', true), (_command, _seconds, outcome) => void outcomes.push(outcome));
    const keys = new RedisKeys('palisade', true);
    const paths = Array.from({ length: 30 }, (_, i) => `limit:0:192.0.2.${i + 1}`);
    const masters = new Set(paths.map((path) => calculateSlot(keys.rate(path)) % 3));
    expect(masters.size).toBe(3);
    const settled = await Promise.allSettled(paths.map((path) => counters.lease(path, 2, 60_000, undefined, 1)));
    settled.forEach((outcome, i) => expect(outcome.status).toBe(calculateSlot(keys.rate(paths[i]!)) % 3 === down ? 'rejected' : 'fulfilled'));
    expect(outcomes.sort()).toEqual(['error', 'ok', 'ok']);
  });
});

describe('leases on a Redis Cluster with a master that keeps failing', () => {
  afterEach(() => void vi.useRealTimers());

  it('stops waiting on it after three failed calls while its connection is down, tries it once a second, asks it again once it is back', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const keys = new RedisKeys('palisade', true);
    const down = 0;
    let callsToDown = 0;
    // The client's connections to the three masters; the first is lost (its master was killed).
    const instances = [0, 1, 2].map((i) => ({ options: { host: '127.0.0.1', port: 7000 + i }, status: i === down ? 'reconnecting' : 'ready' }));
    const cluster = {
      slots: Array.from({ length: 16_384 }, (_, slot) => [`127.0.0.1:${7000 + (slot % 3)}`]),
      nodes: () => instances,
      palisadeGcraLocal: (declared: number, ...rest: Array<string | number>) => {
        if (calculateSlot(String(rest[0])) % 3 === down) {
          callsToDown++;
          if (instances[down]!.status !== 'ready') return Promise.reject(new Error('Command timed out after 50ms (cluster)'));
        }
        return Promise.resolve(Array.from({ length: declared + Number(rest[declared]) }, () => 1));
      },
    };
    const connections = connectionsTo(cluster);
    const counters = new RedisCounters(connections, keys);
    const paths = Array.from({ length: 30 }, (_, i) => `limit:0:192.0.2.${i + 1}`);
    const onDown = paths.filter((path) => calculateSlot(keys.rate(path)) % 3 === down);
    expect(onDown.length).toBeGreaterThan(0);
    const batch = async (): Promise<string[]> =>
      (await Promise.allSettled(paths.map((path) => counters.lease(path, 1_000, 60_000, undefined, 1)))).map((outcome) => outcome.status);
    for (let i = 0; i < 3; i++) await batch();
    expect(callsToDown).toBe(3);
    // Not asked: its clients' checks fail at once (they count locally), the others' are answered.
    const statuses = await batch();
    expect(callsToDown).toBe(3);
    expect(statuses.filter((status) => status === 'rejected')).toHaveLength(onDown.length);
    // A second later one batch tries it (the call that makes the client reconnect), the next does not.
    vi.setSystemTime(Date.now() + 1_001);
    await batch();
    await batch();
    expect(callsToDown).toBe(4);
    // Reconnected: asked again, and answered.
    instances[down]!.status = 'ready';
    expect((await batch()).every((status) => status === 'fulfilled')).toBe(true);
    expect(callsToDown).toBe(5);
  });

  it('keeps asking a master that fails while reachable (a slot moving): its answers keep limits exact', async () => {
    const keys = new RedisKeys('palisade', true);
    let calls = 0;
    const cluster = {
      slots: Array.from({ length: 16_384 }, () => ['127.0.0.1:7000']),
      nodes: () => [{ options: { host: '127.0.0.1', port: 7000 }, status: 'ready' }],
      palisadeGcraLocal: () => (calls++, Promise.reject(new Error('TRYAGAIN Multiple keys request during rehashing of slot'))),
    };
    const connections = connectionsTo(cluster);
    const counters = new RedisCounters(connections, keys);
    for (let i = 0; i < 5; i++) await counters.lease('limit:0:192.0.2.1', 10, 60_000, undefined, 1).catch(() => undefined);
    expect(calls).toBe(5);
  });
});

describe('leases on a Redis Cluster whose slot map is stale', () => {
  it("retries a stray bucket within what is left of the batch's budget, not a budget of its own", async () => {
    const keys = new RedisKeys('palisade', true);
    const paths = Array.from({ length: 10 }, (_, i) => `limit:0:192.0.2.${i + 1}`);
    // One master holds every slot; the last bucket answers "not mine" (a slot moved).
    const stray = keys.rate(paths[9]!);
    const cluster = {
      slots: Array.from({ length: 16_384 }, () => ['127.0.0.1:7000']),
      palisadeGcraLocal: (declared: number, ...rest: Array<string | number>) => {
        const buckets = [...rest.slice(0, declared), ...rest.slice(declared + 1, declared + 1 + Number(rest[declared]))];
        return Promise.resolve(buckets.map((bucket) => (bucket === stray ? null : 1)));
      },
      pipeline: () => {
        let count = 0;
        return { palisadeGcra: (n: number) => void (count = n), exec: async () => [[null, Array.from({ length: count }, () => 1)]] };
      },
    };
    const deadlines: Array<number | undefined> = [];
    const connections = connectionsTo(cluster, (deadline) => deadlines.push(deadline));
    const started = Date.now();
    const counters = new RedisCounters(connections, keys);
    const decisions = await Promise.all(paths.map((path) => counters.lease(path, 2, 60_000, undefined, 1)));
    expect(decisions.every((decision) => decision.hits > 0)).toBe(true);
    // The master's call, then the stray's retry: both bounded by the one deadline of the batch.
    expect(deadlines).toHaveLength(2);
    expect(deadlines[0]).toBeGreaterThanOrEqual(started + 50);
    expect(deadlines[0]).toBeLessThanOrEqual(Date.now() + 50);
    expect(deadlines[1]).toBe(deadlines[0]);
  });
});
