import { LIVE_WITHIN_MS, NODE_REPORT_TTL_MS, countDiffering } from '../cluster-view.js';
import type { RedisClient } from './clients.js';
import type { RedisKeys } from './keys.js';
import type { NodeReport } from '../types.js';

/**
 * Every node's last heartbeat report, in one Redis hash (node → JSON): written at each
 * beat, read for the cluster view and for the number of live nodes. A node gone for
 * {@link NODE_REPORT_TTL_MS} is dropped by whichever node reads next. Report times are
 * on Redis's clock (`redisNow`), so a node with a skewed clock is neither dead nor immortal.
 */
export class NodeReports {
  private live: number | undefined;
  private diverged = 0;
  private differing = 0;
  private last: NodeReport[] = [];

  constructor(
    private readonly client: () => RedisClient,
    private readonly keys: RedisKeys,
    /** Redis's clock, estimated from this node's. */
    readonly redisNow: () => number,
  ) {}

  /** Live nodes as of the last {@link beat} (undefined before one succeeded). */
  get liveNodes(): number | undefined {
    return this.live;
  }

  /** Live nodes whose fingerprints (their WAF rules…) differ from most live nodes'. */
  get differingNodes(): number {
    return this.differing;
  }

  /** Live nodes that said, at their last beat, that their bans differ from Redis's. */
  get divergedNodes(): number {
    return this.diverged;
  }

  /** Writes this node's report, then reads everyone's (which refreshes the live count). */
  async beat(report: NodeReport): Promise<void> {
    // One round trip; a cluster whose nodes are all gone leaves nothing behind (the TTL).
    const results = await this.client()
      .pipeline()
      .hset(this.keys.nodeReports, report.node, JSON.stringify({ ...report, at: this.redisNow() }))
      .pexpire(this.keys.nodeReports, NODE_REPORT_TTL_MS)
      .exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
    await this.read();
  }

  /** The reports read now, or, when Redis does not answer within `budgetMs`, the last ones read. */
  async latest(budgetMs: number): Promise<NodeReport[]> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), budgetMs)));
    try {
      return (await Promise.race([this.read().catch(() => undefined), late])) ?? this.last;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every report younger than {@link NODE_REPORT_TTL_MS}; older ones are deleted. */
  async read(): Promise<NodeReport[]> {
    const client = this.client();
    const raw = await client.hgetall(this.keys.nodeReports);
    const now = this.redisNow();
    const reports: NodeReport[] = [];
    const stale: string[] = [];
    for (const [node, text] of Object.entries(raw)) {
      const report = parseReport(text);
      if (!report || now - report.at > NODE_REPORT_TTL_MS) stale.push(node);
      else reports.push(report);
    }
    if (stale.length > 0) await client.hdel(this.keys.nodeReports, ...stale);
    const live = reports.filter((report) => now - report.at <= LIVE_WITHIN_MS);
    this.live = live.length;
    this.diverged = live.filter((report) => report.bans.agrees === false).length;
    this.differing = countDiffering(live);
    this.last = reports;
    return reports;
  }
}

/** A report as written by {@link NodeReports.beat}; undefined for anything else (what Redis holds is not trusted). */
function parseReport(text: string): NodeReport | undefined {
  try {
    const r = JSON.parse(text) as NodeReport;
    const bans = r.bans as Partial<NodeReport['bans']> | undefined;
    const workers = r.workers as NodeReport['workers'] | undefined;
    const ok =
      typeof r.node === 'string' &&
      typeof r.version === 'string' &&
      typeof r.at === 'number' &&
      typeof r.startedAt === 'number' &&
      typeof r.store?.mode === 'string' &&
      typeof bans?.count === 'number' &&
      typeof bans.digest === 'string' &&
      typeof bans.repairs === 'number' &&
      (bans.stream === null || typeof bans.stream === 'string') &&
      (bans.agrees === null || typeof bans.agrees === 'boolean') &&
      (bans.divergedSince === null || typeof bans.divergedSince === 'number') &&
      (workers === null || (typeof workers?.count === 'number' && typeof workers.ready === 'number'));
    if (!ok) return undefined;
    // Fingerprints are optional (an older node has none); anything but strings is dropped.
    const prints = r.fingerprints as unknown;
    const fingerprints =
      typeof prints === 'object' && prints !== null ? Object.fromEntries(Object.entries(prints).filter(([, value]) => typeof value === 'string')) : undefined;
    return { ...r, ...(fingerprints ? { fingerprints } : {}) };
  } catch {
    return undefined;
  }
}
