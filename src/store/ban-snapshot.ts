import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { coded } from '../errors.js';
import { describeError } from '../log.js';
import { isoTime } from '../time.js';
import type { BanLedger } from './ban-ledger.js';
import type { BanChange } from './types.js';

/** The snapshot file in `STATE_DIR`. */
export const SNAPSHOT_FILE = 'bans.ndjson';
/** Largest snapshot written; the bans beyond it are left out (and it is said once). */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;
/** Shortest wait between two writes; a slow write (a large table) waits ten times its own time. */
const MIN_INTERVAL_MS = 1_000;
/** Longest wait before retrying a write that failed (doubling from MIN_INTERVAL_MS). */
const MAX_RETRY_MS = 60_000;

interface Header {
  palisade: 'bans';
  /** 2: the records are followed by a {@link Trailer}; 1 (older nodes): `count` is in the header. */
  version: 1 | 2;
  node: string;
  /** Epoch ms the snapshot was taken. */
  at: number;
  /** Version 1 only: bans and tombstones the node held when it wrote the file. */
  count?: number;
  /** Version 1 only: see {@link Trailer.complete}. */
  complete?: boolean;
}

/** The last line of a version 2 snapshot: how many records precede it, and their SHA-256. */
interface Trailer {
  palisade: 'end';
  count: number;
  sha256: string;
  /**
   * True when the node held every ban it should when it wrote this: it had loaded the
   * shared bans (or had no shared state), and every one of them fit in the file. Only a
   * complete snapshot whose records add up makes a node ready.
   */
  complete: boolean;
}

/** What {@link BanSnapshot.load} found. */
export interface LoadedSnapshot {
  /** Records applied. */
  changes: number;
  /** Records the ban policy refused (dropped, counted). */
  dropped: number;
  /** The snapshot was complete when written and its records add up (count and checksum). */
  complete: boolean;
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
  private failures = 0;

  constructor(
    private readonly dir: string,
    private readonly ledger: BanLedger,
    private readonly log: Logger,
    /** Whether the node holds every ban it should right now (see {@link Header.complete}). */
    private readonly complete: () => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.path = join(dir, SNAPSHOT_FILE);
  }

  /**
   * Applies the snapshot to the ledger, read line by line (a large table is never one
   * string): every record checked by the ban policy as an import row would be (refused ones
   * dropped and counted). Returns what it held, or undefined when there is none usable
   * (missing, empty, unreadable, malformed or too old — said in the log). A snapshot whose
   * records do not add up (a trailer missing, another count, another checksum: a file cut
   * or edited) is applied but not complete, and said (`PAL_STATE_UNUSABLE`): it cannot make
   * the node ready.
   */
  async load(): Promise<LoadedSnapshot | undefined> {
    let header: Header | undefined;
    let trailer: Trailer | undefined;
    let records = 0;
    let changes = 0;
    let afterTrailer = false;
    const hash = createHash('sha256');
    try {
      const lines = createInterface({ input: createReadStream(this.path, { encoding: 'utf8' }), crlfDelay: Infinity });
      for await (const line of lines) {
        if (header === undefined) {
          header = JSON.parse(line) as Header;
          if (header?.palisade !== 'bans' || (header.version !== 1 && header.version !== 2) || typeof header.at !== 'number')
            throw new Error('not a Palisade ban snapshot');
          if (header.at + this.ledger.tombstoneTtlMs < this.now()) {
            this.log.warn(
              coded('PAL_STATE_UNUSABLE', { file: this.path, takenAt: isoTime(header.at) }),
              'ban snapshot older than the tombstone lifetime: ignored',
            );
            lines.close();
            return undefined;
          }
          continue;
        }
        if (line === '') continue;
        if (trailer !== undefined) afterTrailer = true;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          parsed = undefined; // a line that is not JSON: counted as a record, refused below
        }
        if (header.version === 2 && (parsed as Partial<Trailer> | undefined)?.palisade === 'end') {
          trailer = parsed as Trailer;
          continue;
        }
        records++;
        hash.update(`${line}\n`);
        if (this.ledger.accept(parsed, 'snapshot')) changes++;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path, err: describeError(error) }), 'ban snapshot unreadable or malformed: ignored');
      return undefined;
    }
    if (header === undefined) {
      this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path }), 'ban snapshot is an empty file: ignored');
      return undefined;
    }
    const problem = this.integrityProblem(header, trailer, records, hash.digest('hex'), afterTrailer);
    if (problem !== undefined)
      this.log.warn(
        coded('PAL_STATE_UNUSABLE', { file: this.path, records, problem }),
        `ban snapshot incomplete: ${problem}; its bans are enforced, but they cannot make the node ready`,
      );
    const complete = (header.version === 1 ? header.complete : trailer?.complete) === true && problem === undefined;
    const dropped = records - changes;
    this.log.info({ file: this.path, bans: changes, dropped, complete, takenAt: isoTime(header.at) }, 'ban snapshot loaded');
    return { changes, dropped, complete };
  }

  /** What makes the records not add up, if anything. */
  private integrityProblem(header: Header, trailer: Trailer | undefined, records: number, sha256: string, afterTrailer: boolean): string | undefined {
    if (header.version === 1) return header.count === records ? undefined : `${records} records where the header says ${header.count}`;
    if (trailer === undefined) return `no end line after ${records} records (the file was cut)`;
    if (afterTrailer) return 'records after the end line';
    if (trailer.count !== records) return `${records} records where the end line says ${trailer.count}`;
    if (trailer.sha256 !== sha256) return 'the records do not match their checksum (the file was edited)';
    return undefined;
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
    const wait = this.failures > 0 ? Math.min(MAX_RETRY_MS, MIN_INTERVAL_MS * 2 ** this.failures) : Math.max(MIN_INTERVAL_MS, this.lastDurationMs * 10);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, wait);
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
    const temporary = `${this.path}.tmp`;
    try {
      // Opened first: a directory that refuses writes costs no walk over the table.
      const file = await open(temporary, 'w', 0o600);
      try {
        const count = this.ledger.size;
        // Complete only if it had every ban and every one fits; written first, decided by the end.
        const complete = this.complete();
        const hash = createHash('sha256');
        let bytes = 0;
        let written = 0;
        let slice = '';
        let sliceBytes = 0;
        let full = false;
        // Built and written in slices: the table is never held twice in memory.
        const header: Header = { palisade: 'bans', version: 2, node: this.ledger.nodeName, at: this.now() };
        await file.write(`${JSON.stringify(header)}\n`);
        for (const change of this.ledger.changes()) {
          const line = `${JSON.stringify(change)}\n`;
          const lineBytes = Buffer.byteLength(line);
          if (bytes + sliceBytes + lineBytes > MAX_SNAPSHOT_BYTES) {
            full = true;
            break;
          }
          hash.update(line);
          slice += line;
          sliceBytes += lineBytes;
          written++;
          if (sliceBytes >= 1_000_000) {
            await file.write(slice);
            bytes += sliceBytes;
            slice = '';
            sliceBytes = 0;
          }
        }
        if (slice !== '') await file.write(slice);
        // A full table (past MAX_SNAPSHOT_BYTES) is not complete.
        const trailer: Trailer = { palisade: 'end', count: written, sha256: hash.digest('hex'), complete: complete && !full };
        await file.write(`${JSON.stringify(trailer)}\n`);
        if (full && !this.warnedFull) {
          this.log.warn({ changes: count, kept: written, maxBytes: MAX_SNAPSHOT_BYTES }, 'ban snapshot full: the rest is only in memory and Redis');
          this.warnedFull = true;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path);
      if (this.lastError !== undefined) this.log.info({ file: this.path }, 'ban snapshot written again');
      this.lastError = undefined;
      this.failures = 0;
    } catch (error) {
      this.dirty = true;
      this.failures++;
      const why = describeError(error);
      if (why !== this.lastError) this.log.warn(coded('PAL_STATE_UNUSABLE', { file: this.path, err: why }), 'ban snapshot not written; retrying with backoff');
      this.lastError = why;
    }
    this.lastDurationMs = Date.now() - started;
  }
}
