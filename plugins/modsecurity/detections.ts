import { LRUCache } from 'lru-cache';

/** A request some WAF rule matched, as a worker tells its node (no body, no query, no header). */
export interface DetectionNote {
  ip: string;
  /** Epoch ms. */
  at: number;
  method: string;
  /** The path, without its query, at most 200 characters. */
  path: string;
  /** The detecting rules (not the scoring ones): id and message. */
  rules: Array<[number, string]>;
  categories: string[];
  /** The rules refused it (or would have, with `SECURITY_MODE=detect`). */
  refused: boolean;
}

/** Requests kept per client, newest last. */
const PER_CLIENT = 10;
/** Clients remembered at most. */
const CLIENTS = 20_000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Distinct rules or paths counted per hour; more are counted as `(others)`. */
const KEYS_PER_HOUR = 2_000;

/** One hour's refusals: how many, by rule and by path. */
interface Hour {
  start: number;
  refused: number;
  rules: Map<string, number>;
  paths: Map<string, number>;
}

/**
 * What the node knows of its WAF's detections: each client's last requests that matched a
 * rule (for `explain`), and per hour over the last day the refusals by rule and by path (the
 * review page's "what would be refused" table, read before switching from detect to block).
 */
export class Detections {
  private readonly byClient = new LRUCache<string, DetectionNote[]>({ max: CLIENTS, ttl: DAY_MS });
  private hours: Hour[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Records one note from a request process. */
  add(note: DetectionNote): void {
    const list = this.byClient.get(note.ip) ?? [];
    list.push(note);
    if (list.length > PER_CLIENT) list.shift();
    this.byClient.set(note.ip, list);
    if (!note.refused) return;
    const hour = this.hour(note.at);
    hour.refused++;
    for (const [id] of note.rules) bump(hour.rules, String(id));
    bump(hour.paths, `${note.method} ${note.path}`);
  }

  /** The client's recent matched requests on this node, newest first. */
  recent(ip: string): DetectionNote[] {
    return [...(this.byClient.get(ip) ?? [])].reverse();
  }

  /** Over the last 24 hours: refusals, and the most refused rules and paths (largest first). */
  lastDay(top = 10): { refused: number; rules: Array<[string, number]>; paths: Array<[string, number]> } {
    const since = this.now() - DAY_MS;
    const rules = new Map<string, number>();
    const paths = new Map<string, number>();
    let refused = 0;
    for (const hour of this.hours) {
      if (hour.start + HOUR_MS <= since) continue;
      refused += hour.refused;
      for (const [rule, count] of hour.rules) rules.set(rule, (rules.get(rule) ?? 0) + count);
      for (const [path, count] of hour.paths) paths.set(path, (paths.get(path) ?? 0) + count);
    }
    return { refused, rules: largest(rules, top), paths: largest(paths, top) };
  }

  private hour(at: number): Hour {
    const start = Math.floor(at / HOUR_MS) * HOUR_MS;
    let hour = this.hours.find((h) => h.start === start);
    if (!hour) {
      hour = { start, refused: 0, rules: new Map(), paths: new Map() };
      this.hours = [...this.hours.filter((h) => h.start > start - DAY_MS), hour];
    }
    return hour;
  }
}

function bump(counts: Map<string, number>, key: string): void {
  const known = counts.has(key) || counts.size < KEYS_PER_HOUR ? key : '(others)';
  counts.set(known, (counts.get(known) ?? 0) + 1);
}

function largest(counts: ReadonlyMap<string, number>, top: number): Array<[string, number]> {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top);
}
