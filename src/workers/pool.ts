import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { PalisadeError, coded, errorCodes, type ErrorCode } from '../errors.js';
import { describeError } from '../log.js';
import { packageRoot } from '../paths.js';
import type { NodeStore } from '../store/store.js';
import { workerChannel } from './channels.js';
import type { WireChannel } from './channels.js';
import type { WireMessage, WorkerInit } from './protocol.js';
import { collectAfterBulkLoad } from '../memory.js';
import { StoreService } from '../store/primary/store-service.js';

/** A worker that lived at least this long was not crash-looping: its replacement starts at once. */
const HEALTHY_LIFETIME_MS = 10_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 30_000;
/** Longest a scrape waits for a worker's metrics. */
const SCRAPE_TIMEOUT_MS = 2_000;
/** Longest a ban API answer waits for the workers to enforce its change (a stuck worker does not hold it). */
const ENFORCE_WAIT_MS = 2_000;
/** A worker not ready after this long is counted as failed to start. */
const START_TIMEOUT_MS = 60_000;

export interface PoolOptions {
  count: number;
  store: NodeStore;
  log: Logger;
  registry: Registry;
  /** What a worker of `slot` is told (settings, upstream, …). */
  init(slot: number): WorkerInit;
  /** How long draining workers may take (SHUTDOWN_TIMEOUT). */
  shutdownTimeoutMs: number;
  /** Plugins' notes from a worker (`PluginContext.tellNode`), in the order sent. */
  onNotes?(notes: Array<[string, unknown]>): void;
}

/** A slot as `GET /api/workers` shows it. */
export interface WorkerView {
  slot: number;
  pid: number | null;
  /** `waiting`: its replacement is held back (it kept dying young). */
  state: 'ready' | 'starting' | 'leaving' | 'waiting';
  startedAt: string | null;
  /** Times this slot's worker ended unexpectedly and was replaced. */
  restarts: number;
}

/** One slot's current process. */
interface Member {
  readonly slot: number;
  readonly worker: Worker;
  /** Every message to and from the worker goes through it. */
  readonly channel: WireChannel;
  readonly service: StoreService;
  readonly startedAt: number;
  ready: boolean;
  /** Asked to stop (drain, replacement): its exit is expected. */
  leaving: boolean;
  readonly exited: Promise<void>;
}

/**
 * The node's workers (`node:cluster`): starts one per slot, serves each from the node's
 * store ({@link StoreService}), replaces a worker that dies (at once, then with a growing
 * delay while replacements die young), sums their metrics on a scrape, and drains them at
 * shutdown. The node is ready while every slot has a ready worker.
 */
export class WorkerPool {
  private readonly members = new Map<number, Member>();
  /** Replacements started by a reload, until they are ready and take their slot. */
  private readonly joining = new Set<Member>();
  /** What a new worker is told; a reload changes it. */
  private init: (slot: number) => WorkerInit;
  private readonly retries = new Map<number, { failures: number; timer?: NodeJS.Timeout }>();
  private stopping = false;
  private scrapeId = 0;
  private readonly restarts: Counter<'slot'>;
  private readonly restartCounts = new Map<number, number>();

  constructor(private readonly options: PoolOptions) {
    this.init = options.init;
    // The workers share the proxy port's socket and accept from it themselves, as nginx's and
    // Envoy's workers do: the primary never touches a connection. Node's round-robin (its
    // default) has the primary accept each one and pass it over IPC, which costs CPU on every
    // new connection (see the README, "Workers") and, when the worker dies before it takes one,
    // leaves that connection open in the primary with nobody to answer it.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: workerProgram(), args: [], silent: false, serialization: 'json' });
    this.restarts = new Counter({
      name: 'palisade_worker_restarts_total',
      help: 'Workers that ended unexpectedly and were replaced, by slot.',
      labelNames: ['slot'] as const,
      registers: [options.registry],
    });
    const members = this.members;
    new Gauge({
      name: 'palisade_workers',
      help: 'Worker slots of this node, by state (ready, starting).',
      labelNames: ['state'] as const,
      registers: [options.registry],
      collect() {
        let ready = 0;
        for (const member of members.values()) if (member.ready) ready++;
        this.set({ state: 'ready' }, ready);
        this.set({ state: 'starting' }, options.count - ready);
      },
    });
  }

  /**
   * Starts every worker and resolves with the proxy address once all are ready. When one
   * cannot start, every worker is stopped and the error says why (the worker's own code).
   */
  async start(): Promise<AddressInfo> {
    const slots = Array.from({ length: this.options.count }, (_, i) => i + 1);
    // Before the node serves, a pause for a full collection after each load costs nothing.
    const started = await Promise.allSettled(slots.map((slot) => this.spawn(slot, false, collectAfterBulkLoad).ready));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      await this.drain();
      throw failed.reason;
    }
    return (started[0] as PromiseFulfilledResult<AddressInfo>).value;
  }

  /** Ready when every slot has a ready worker; otherwise which are missing. */
  readiness(): { ready: true } | { ready: false; reason: string } {
    const missing: number[] = [];
    for (let slot = 1; slot <= this.options.count; slot++) if (!this.members.get(slot)?.ready) missing.push(slot);
    return missing.length === 0 ? { ready: true } : { ready: false, reason: `worker${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not ready` };
  }

  /** How many workers the node runs and how many of them serve (its line in the cluster view). */
  summary(): { count: number; ready: number } {
    let ready = 0;
    for (let slot = 1; slot <= this.options.count; slot++) if (this.members.get(slot)?.ready) ready++;
    return { count: this.options.count, ready };
  }

  /** Each slot's current worker, for `GET /api/workers`. */
  describe(): WorkerView[] {
    const views: WorkerView[] = [];
    for (let slot = 1; slot <= this.options.count; slot++) {
      const member = this.members.get(slot);
      const retry = this.retries.get(slot);
      views.push({
        slot,
        pid: member?.worker.process.pid ?? null,
        state: member === undefined ? (retry?.timer ? 'waiting' : 'starting') : member.ready ? 'ready' : member.leaving ? 'leaving' : 'starting',
        startedAt: member ? new Date(member.startedAt).toISOString() : null,
        restarts: this.restartCounts.get(slot) ?? 0,
      });
    }
    return views;
  }

  /**
   * Resolves once every worker enforces the ban changes made on the node so far, or after
   * {@link ENFORCE_WAIT_MS}: what the ban API waits for before it answers, so the next
   * request reaches no worker that lets the client through.
   */
  async enforced(): Promise<void> {
    const members = [...this.members.values(), ...this.joining];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(members.map((member) => member.service.enforced())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ENFORCE_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /** Every ready worker's metrics (`getMetricsAsJSON`), for the primary to sum. */
  async scrape(): Promise<unknown[][]> {
    const id = ++this.scrapeId;
    const ready = [...this.members.values()].filter((member) => member.ready && !member.leaving);
    return (
      await Promise.all(
        ready.map(
          (member) =>
            new Promise<unknown[] | undefined>((resolve) => {
              const timer = setTimeout(() => done(undefined), SCRAPE_TIMEOUT_MS);
              const stop = member.channel.onMessage((message) => {
                if (message.t === 'scraped' && message.id === id) done(message.metrics);
              });
              function done(metrics: unknown[] | undefined): void {
                clearTimeout(timer);
                stop();
                resolve(metrics);
              }
              member.channel.send({ t: 'scrape', id } satisfies WireMessage);
            }),
        ),
      )
    ).filter((metrics): metrics is unknown[] => metrics !== undefined);
  }

  /** Asks every worker to drain and waits for them; true when all left within SHUTDOWN_TIMEOUT. */
  async drain(): Promise<boolean> {
    this.stopping = true;
    for (const retry of this.retries.values()) clearTimeout(retry.timer);
    const members = [...this.members.values(), ...this.joining];
    for (const member of members) this.askToLeave(member, false);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([
      Promise.all(members.map((member) => member.exited)).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.options.shutdownTimeoutMs + 5_000))),
    ]);
    clearTimeout(timer);
    for (const member of members) member.worker.process.kill('SIGKILL');
    await Promise.all(members.map((member) => member.exited));
    return inTime;
  }

  /**
   * Forks the worker of `slot`; `ready` resolves with its proxy address, or rejects when it
   * cannot start. A replacement (`takeOver`) takes the slot only once it is ready, so the
   * worker it replaces serves until then.
   */
  private spawn(slot: number, takeOver = false, afterLoad?: (bans: number) => void): { member: Member; ready: Promise<AddressInfo> } {
    const worker = cluster.fork();
    const channel = workerChannel(worker);
    const service = new StoreService(this.options.store, channel, this.options.log.child({ worker: slot }), afterLoad);
    let markExited!: () => void;
    const member: Member = {
      slot,
      worker,
      channel,
      service,
      startedAt: Date.now(),
      ready: false,
      leaving: false,
      exited: new Promise((resolve) => (markExited = resolve)),
    };
    if (!takeOver) this.members.set(slot, member);
    else this.joining.add(member);
    const ready = new Promise<AddressInfo>((resolve, reject) => {
      let settled = false;
      const fail = (code: ErrorCode, message: string, errno?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(startTimer);
        // A worker's own reason (a port taken, a plugin failing) is the node's: say it as is.
        const said = code === 'PAL_WORKER_START_FAILED' || code === 'PAL_INTERNAL' ? `worker ${slot} could not start: ${message}` : message;
        reject(new PalisadeError(code, said, errno ? { cause: Object.assign(new Error(errno), { code: errno }) } : undefined));
        // It says it failed and exits by itself; one that hangs is stopped here.
        if (!member.leaving) worker.process.kill('SIGKILL');
      };
      const startTimer = setTimeout(() => fail('PAL_WORKER_START_FAILED', `not ready after ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      channel.onMessage((message) => {
        if (message.t === 'up') channel.send({ t: 'init', init: this.init(slot) } satisfies WireMessage);
        else if (message.t === 'ready') {
          member.ready = true;
          if (takeOver) {
            this.joining.delete(member);
            this.members.set(slot, member);
          }
          settled = true;
          clearTimeout(startTimer);
          this.options.log.debug({ worker: slot, pid: worker.process.pid }, 'worker ready');
          resolve(message.address as AddressInfo);
        } else if (message.t === 'failed')
          fail(message.code in errorCodes ? (message.code as ErrorCode) : 'PAL_WORKER_START_FAILED', message.message, message.errno);
        else if (message.t === 'notes') this.options.onNotes?.(message.n);
      });
      worker.on('exit', (code, signal) => {
        service.close();
        this.joining.delete(member);
        if (this.members.get(slot) === member) this.members.delete(slot);
        fail('PAL_WORKER_START_FAILED', `exited with ${signal ?? `code ${code}`} before it was ready`);
        // A ready worker that dies is replaced here; one that never got ready, by whoever waited for it.
        if (member.ready && !member.leaving && !this.stopping) this.replace(member, code, signal);
        markExited();
      });
    });
    return { member, ready };
  }

  /** A worker died on its own: log it, count it, start another in its slot (with a delay when they keep dying). */
  private replace(member: Member, code: number | null, signal: string | null): void {
    const lived = Date.now() - member.startedAt;
    const retry = this.retries.get(member.slot) ?? { failures: 0 };
    retry.failures = lived >= HEALTHY_LIFETIME_MS ? 0 : retry.failures + 1;
    this.retries.set(member.slot, retry);
    const delayMs = retry.failures === 0 ? 0 : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (retry.failures - 1));
    this.restarts.labels(String(member.slot)).inc();
    this.restartCounts.set(member.slot, (this.restartCounts.get(member.slot) ?? 0) + 1);
    this.options.log.error(
      coded('PAL_WORKER_EXITED', { worker: member.slot, pid: member.worker.process.pid, exitCode: code, signal, livedMs: lived, restartInMs: delayMs }),
      `worker ${member.slot} ended unexpectedly; ${delayMs === 0 ? 'replacing it now' : `replacing it in ${delayMs} ms (it keeps dying young)`}`,
    );
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      if (this.stopping) return;
      const next = this.spawn(member.slot);
      next.ready.catch(async (error: unknown) => {
        this.options.log.warn({ worker: member.slot, err: describeError(error) }, 'replacement worker failed to start');
        await next.member.exited;
        if (!this.stopping) this.replace(next.member, null, null);
      });
    }, delayMs);
  }

  /**
   * A reload: starts a worker with `init` for each slot in turn; once it is ready the old
   * one drains gently (it stops taking connections, answers what comes on the ones it has
   * with `Connection: close`, and lets idle ones reach their keep-alive timeout, which
   * clients know from the `Keep-Alive` header) while the next slot is replaced. When a new
   * worker cannot start, the slots already replaced get the old settings back and the
   * error is thrown: the node serves as before the reload. Resolves once every slot has a
   * new worker; the old ones finish their connections after that.
   */
  async replaceAll(init: (slot: number) => WorkerInit): Promise<void> {
    const previous = this.init;
    this.init = init;
    const leaving: Member[] = [];
    let replaced = 0;
    try {
      for (let slot = 1; slot <= this.options.count; slot++) {
        const old = this.members.get(slot);
        await this.spawn(slot, true).ready;
        replaced = slot;
        if (old) {
          this.askToLeave(old, true);
          leaving.push(old);
        }
      }
    } catch (error) {
      this.init = previous;
      for (let slot = 1; slot <= replaced; slot++) {
        const current = this.members.get(slot);
        await this.spawn(slot, true).ready.catch(() => undefined);
        if (current && this.members.get(slot) !== current) this.askToLeave(current, true);
      }
      await this.settle(leaving);
      throw error;
    }
    // The old workers finish in the background: the new settings serve from here on.
    void this.settle(leaving);
  }

  /** Waits for leaving workers, cutting those still there after SHUTDOWN_TIMEOUT (+5 s). */
  private async settle(leaving: Member[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(leaving.map((member) => member.exited)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.shutdownTimeoutMs + 5_000))),
    ]);
    clearTimeout(timer);
    for (const member of leaving) member.worker.process.kill('SIGKILL');
  }

  private askToLeave(member: Member, gentle: boolean): void {
    member.leaving = true;
    const served = member.ready;
    member.ready = false;
    // A worker not ready yet holds no connection, and may not have its settings yet (nor
    // hear a drain): SIGTERM, which it obeys at every stage of its boot.
    if (served && member.worker.isConnected()) member.channel.send({ t: 'drain', gentle } satisfies WireMessage);
    else member.worker.process.kill('SIGTERM');
  }
}

/** The built program a worker runs: its request path, without the primary's command line and admin. */
function workerProgram(): string {
  return join(packageRoot, 'dist', 'src', 'workers', 'worker-process.js');
}
