/** `INFO` output as a flat field → value map (section headers and blank lines dropped). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** The figures Palisade watches, read from one `INFO` reply. */
export interface RedisInfoSnapshot {
  version: string | undefined;
  role: string | undefined;
  runId: string | undefined;
  usedMemoryBytes: number | undefined;
  maxMemoryBytes: number | undefined;
  maxMemoryPolicy: string | undefined;
  connectedClients: number | undefined;
  /** hits / (hits + misses), undefined before any lookup. */
  keyspaceHitRatio: number | undefined;
  connectedReplicas: number | undefined;
  /** Largest replica lag in seconds as the master reports it. */
  replicationLagSeconds: number | undefined;
  /** Redis's clock when it answered (`server_time_usec`), in epoch ms. */
  serverTimeMs: number | undefined;
  readAt: number;
}

const num = (value: string | undefined): number | undefined => (value === undefined || value === '' || Number.isNaN(Number(value)) ? undefined : Number(value));

/** Extracts a {@link RedisInfoSnapshot} from `INFO` text. */
export function snapshotFromInfo(text: string, now = Date.now()): RedisInfoSnapshot {
  const info = parseInfo(text);
  const hits = num(info.get('keyspace_hits'));
  const misses = num(info.get('keyspace_misses'));
  let lag: number | undefined;
  for (const [name, value] of info) {
    if (!/^slave\d+$/.test(name)) continue;
    const replicaLag = num(/(?:^|,)lag=(\d+)/.exec(value)?.[1]);
    if (replicaLag !== undefined) lag = Math.max(lag ?? 0, replicaLag);
  }
  return {
    version: info.get('redis_version'),
    role: info.get('role'),
    runId: info.get('run_id'),
    usedMemoryBytes: num(info.get('used_memory')),
    maxMemoryBytes: num(info.get('maxmemory')),
    maxMemoryPolicy: info.get('maxmemory_policy'),
    connectedClients: num(info.get('connected_clients')),
    keyspaceHitRatio: hits !== undefined && misses !== undefined && hits + misses > 0 ? hits / (hits + misses) : undefined,
    connectedReplicas: num(info.get('connected_slaves')),
    replicationLagSeconds: lag ?? (info.get('role') === 'master' ? 0 : undefined),
    serverTimeMs: num(info.get('server_time_usec')) === undefined ? undefined : num(info.get('server_time_usec'))! / 1_000,
    readAt: now,
  };
}
