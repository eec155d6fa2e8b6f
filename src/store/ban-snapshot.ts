import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { coded } from '../errors.js';
import { describeError } from '../log.js';
import type { BanLedger } from './ban-ledger.js';
import type { BanChange } from './types.js';

/** The snapshot file in `STATE_DIR`. */
export const SNAPSHOT_FILE = 'bans.ndjson';
/** Most changes a snapshot holds; beyond it the newest bans are left out (and it is said). */
export const MAX_SNAPSHOT_CHANGES = 2_000_000;
/** Shortest wait between two writes; a slow write (a large table) waits ten times its own time. */
const MIN_INTERVAL_MS = 1_000;

interface Header {
  palisade: 'bans';
  version: 1;
  node: string;
  /** Epoch ms the snapshot was taken. */
  at: number;
  count: number;
}

/**
 * This node's ban table on disk (`STATE_DIR/bans.ndjson`): every active ban and recent
 * tombstone, one JSON change per line under a header line. Loaded at start, before the
 * shared state is reached, so a node restarted while Redis is unreachable or refusing still
 * enforces every ban it knew; written after changes (throttled: at most once a second, less
 * often for a large table) and at shutdown, to a temporary file then renamed, so a crash
 * never leaves half a snapshot. A snapshot older than the tombstone lifetime is ignored: a
 * ban lifted meanwhile could no longer be told apart.
 */
export class BanSnapshot {
  private readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastDurationMs = 0;
  private unsubscribe: (() => void) | undefined;
  private warnedFull = false;
  private lastError: string | undefined;

  constructor(
    private readonly dir: string,
    private readonly ledger: BanLedger,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.path = join(dir, SNAPSHOT_FILE);
  }

  /**
   * Applies the snapshot to the ledger; returns how many changes it held, or undefined when
   * there is none usable (missing, unreadable, malformed or too old — said in the log).
   */
  load(): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path, err: describeError(error) }), 'ban snapshot unreadable: ignored');
      return undefined;
    }
    const lines = text.split('\n');
    let header: Header;
    try {
      header = JSON.parse(lines[0] ?? '') as Header;
      if (header.palisade !== 'bans' || header.version !== 1 || typeof header.at !== 'number') throw new Error('not a Palisade ban snapshot');
    } catch (error) {
      this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path, err: describeError(error) }), 'ban snapshot malformed: ignored');
      return undefined;
    }
    if (header.at + this.ledger.tombstoneTtlMs < this.now()) {
      this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path, takenAt: new Date(header.at).toISOString() }), 'ban snapshot older than the tombstone lifetime: ignored');
      return undefined;
    }
    let count = 0;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line === '') continue;
      try {
        this.ledger.apply(JSON.parse(line) as BanChange);
        count++;
      } catch {
        // A line that is not a change (a torn write cannot happen; a hand edit can): skipped.
      }
    }
    this.log.info({ file: this.path, bans: count, takenAt: new Date(header.at).toISOString() }, 'ban snapshot loaded');
    return count;
  }

  /** Writes after every change from now on (throttled). */
  start(): void {
    mkdirSync(this.dir, { recursive: true });
    this.unsubscribe = this.ledger.onChange(() => this.schedule());
  }

  /** Stops watching and writes once more if anything changed. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    if (this.dirty) await this.write();
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, Math.max(MIN_INTERVAL_MS, this.lastDurationMs * 10));
    this.timer.unref();
  }

  private write(): Promise<void> {
    this.writing ??= this.writeFile().finally(() => {
      this.writing = undefined;
      if (this.dirty) this.schedule();
    });
    return this.writing;
  }

  private async writeFile(): Promise<void> {
    this.dirty = false;
    const started = Date.now();
    let changes = this.ledger.snapshot();
    if (changes.length > MAX_SNAPSHOT_CHANGES) {
      if (!this.warnedFull) this.log.warn({ changes: changes.length, kept: MAX_SNAPSHOT_CHANGES }, 'ban snapshot full: the rest is only in memory and Redis');
      this.warnedFull = true;
      changes = changes.slice(0, MAX_SNAPSHOT_CHANGES);
    }
    const header: Header = { palisade: 'bans', version: 1, node: this.ledger.nodeName, at: this.now(), count: changes.length };
    const temporary = `${this.path}.tmp`;
    try {
      const file = await open(temporary, 'w', 0o600);
      try {
        // In slices: one large string would hold the whole table twice in memory.
        await file.write(`${JSON.stringify(header)}\n`);
        for (let i = 0; i < changes.length; i += 10_000) {
          await file.write(changes.slice(i, i + 10_000).map((change) => `${JSON.stringify(change)}\n`).join(''));
        }
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
      if (this.lastError !== undefined) this.log.info({ file: this.path }, 'ban snapshot written again');
      this.lastError = undefined;
    } catch (error) {
      this.dirty = true;
      const why = describeError(error);
      if (why !== this.lastError) this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path, err: why }), 'ban snapshot not written; retrying');
      this.lastError = why;
    }
    this.lastDurationMs = Date.now() - started;
  }
}
