import { describeError } from '../log.js';
import { isLoopback } from '../net/ip.js';
import { parseInfo } from '../store/redis/info.js';
import { RedisKeys } from '../store/redis/keys.js';
import { createDoctorClient, createSentinelClient, describeTarget, usesSentinel, type ServerClient } from '../store/redis/clients.js';
import { checkPermissions, describePermissionReport } from '../store/redis/permissions.js';
import { parseHostPort } from '../settings/formats.js';
import type { RedisSettings } from '../settings/types.generated.js';
import type { Finding } from './findings.js';

/** Outcome of a doctor run: unreachable (exit 2) or the findings. */
export type DoctorResult = { reachable: false; reason: string } | { reachable: true; target: string; findings: Finding[] };

const NOT_ALLOWED = /NOPERM|unknown command|ERR unknown|not allowed/i;

/** `CONFIG GET name`, or undefined when CONFIG is forbidden or renamed (managed Redis). */
async function configGet(client: ServerClient, name: string): Promise<string | undefined> {
  try {
    const reply = (await client.call('CONFIG', 'GET', name)) as string[];
    return reply[1];
  } catch (error) {
    if (NOT_ALLOWED.test((error as Error).message)) return undefined;
    throw error;
  }
}

/**
 * Connects with the node's own settings and checks the operators' advice: version,
 * persistence, eviction policy, authentication, TLS, protected mode, idle timeout,
 * sharing of the database, replicas and sentinels, and the ACL permissions Palisade needs.
 * Every check that needs a forbidden command says what it could not check.
 */
export async function runRedisDoctor(settings: Readonly<RedisSettings>, nodeName: string): Promise<DoctorResult> {
  const client = createDoctorClient(settings, nodeName);
  let lastError: Error | undefined;
  client.on('error', (error: Error) => (lastError = error));
  const target = describeTarget(settings);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    return { reachable: false, reason: `cannot reach Redis (${target}): ${describeError(lastError ?? error)}` };
  }
  try {
    const findings = settings.REDIS_CLUSTER ? await inspectCluster(client, settings, nodeName) : await inspect(client, settings, nodeName);
    return { reachable: true, target, findings };
  } finally {
    client.disconnect();
  }
}

/** How a shard of `CLUSTER SLOTS` answers: its slot range, then its master and replicas as [host, port, id, …]. */
type ClusterShard = [number, number, ...Array<[string, number, string, ...unknown[]]>];

/**
 * A Redis Cluster, from one reachable node: every slot served, a replica for each master,
 * the failure-detection timeout; then, on every master, the single-server checks (version,
 * persistence, eviction policy, auth, TLS, ACL…), each message naming its node.
 */
async function inspectCluster(seed: ServerClient, settings: Readonly<RedisSettings>, nodeName: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (finding: Finding): void => void findings.push(finding);
  let clusterText: string;
  try {
    clusterText = (await seed.call('CLUSTER', 'INFO')) as string;
  } catch (error) {
    const message = describeError(error);
    add(
      /cluster support disabled/i.test(message)
        ? {
            check: 'cluster-slots',
            severity: 'error',
            message: 'the seed is not a cluster node (cluster support disabled)',
            fix: 'REDIS_CLUSTER=no, or point REDIS_HOST / REDIS_CLUSTER_NODES at the cluster',
          }
        : {
            check: 'cluster-slots',
            severity: 'error',
            message: `CLUSTER INFO failed: ${message}`,
            fix: 'grant +cluster|info +cluster|slots +asking to the ACL user',
          },
    );
    return findings;
  }
  const clusterInfo = parseInfo(clusterText);
  const state = clusterInfo.get('cluster_state') ?? 'unknown';
  const served = Number(clusterInfo.get('cluster_slots_ok') ?? '0');
  add(
    state === 'ok' && served === 16384
      ? { check: 'cluster-slots', severity: 'ok', message: 'every slot (16384) is served; cluster_state ok' }
      : {
          check: 'cluster-slots',
          severity: 'error',
          message: `${served} of 16384 slots served, cluster_state ${state}: keys of the other slots cannot be written`,
          fix: 'redis-cli --cluster fix <any node>',
        },
  );
  const shards = (await seed.call('CLUSTER', 'SLOTS')) as ClusterShard[];
  const masters = new Map<string, { host: string; port: number; replicas: number }>();
  for (const [, , master, ...replicas] of shards) {
    if (!master) continue;
    const entry = masters.get(master[2]) ?? { host: master[0], port: master[1], replicas: 0 };
    entry.replicas = Math.max(entry.replicas, replicas.length);
    masters.set(master[2], entry);
  }
  const alone = [...masters.values()].filter((m) => m.replicas === 0);
  add(
    alone.length === 0
      ? { check: 'cluster-replicas', severity: 'ok', message: `${masters.size} masters, each with a replica` }
      : {
          check: 'cluster-replicas',
          severity: 'warn',
          message: `master(s) without a replica: ${alone.map((m) => `${m.host}:${m.port}`).join(', ')} — their slots go down with them`,
          fix: 'redis-cli --cluster add-node <new> <any> --cluster-slave',
        },
  );
  const nodeTimeout = await configGet(seed, 'cluster-node-timeout');
  if (nodeTimeout === undefined)
    add({ check: 'cluster-node-timeout', severity: 'info', message: 'could not check cluster-node-timeout: CONFIG is not allowed for this user' });
  else if (Number(nodeTimeout) > 15_000)
    add({
      check: 'cluster-node-timeout',
      severity: 'warn',
      message: `cluster-node-timeout ${nodeTimeout} ms: a dead master is replaced only after that`,
      fix: 'CONFIG SET cluster-node-timeout 5000 on every node',
    });
  else add({ check: 'cluster-node-timeout', severity: 'ok', message: `cluster-node-timeout ${nodeTimeout} ms` });

  for (const master of masters.values()) {
    const where = `${master.host}:${master.port}`;
    const single = { ...settings, REDIS_HOST: master.host, REDIS_PORT: master.port, REDIS_CLUSTER: false, REDIS_CLUSTER_NODES: [] };
    const client = createDoctorClient(single, nodeName);
    try {
      await client.connect();
      for (const finding of await inspect(client, single, nodeName, true)) add({ ...finding, check: `${finding.check}@${where}` });
    } catch (error) {
      add({ check: `reachable@${where}`, severity: 'error', message: `cannot reach the master ${where}: ${describeError(error)}` });
    } finally {
      client.disconnect();
    }
  }
  return findings;
}

/** The checks of one server; `clusterMaster` leaves out what the cluster checks cover (replicas, sentinels). */
async function inspect(client: ServerClient, settings: Readonly<RedisSettings>, nodeName: string, clusterMaster = false): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (finding: Finding): void => void findings.push(finding);
  const couldNot = (check: string, what: string): void =>
    add({ check, severity: 'info', message: `could not check ${what}: CONFIG is not allowed for this user` });
  const info = parseInfo(await client.info());

  const version = info.get('redis_version') ?? '0';
  const [major = 0] = version.split('.').map(Number);
  add(
    major >= 7
      ? { check: 'version', severity: 'ok', message: `Redis ${version}` }
      : { check: 'version', severity: 'error', message: `Redis ${version} is older than 7.0`, fix: 'upgrade to Redis 7 or Valkey 7+' },
  );

  const aof = info.get('aof_enabled') === '1';
  const save = await configGet(client, 'save');
  if (aof) add({ check: 'persistence', severity: 'ok', message: 'AOF on' });
  else if (save === undefined)
    add({ check: 'persistence', severity: 'info', message: 'AOF off; could not check RDB snapshots: CONFIG is not allowed for this user' });
  else if (save.trim() !== '') add({ check: 'persistence', severity: 'ok', message: `RDB snapshots on (save ${save})` });
  else
    add({
      check: 'persistence',
      severity: 'warn',
      message: 'no persistence: a restart empties Redis (nodes re-assert bans, counters and sessions are lost)',
      fix: 'CONFIG SET appendonly yes (and appendfsync everysec)',
    });

  const maxmemory = Number(info.get('maxmemory') ?? '0');
  const policy = info.get('maxmemory_policy') ?? '';
  if (maxmemory === 0)
    add({
      check: 'maxmemory',
      severity: 'warn',
      message: 'maxmemory is not set: Redis grows until the machine runs out',
      fix: 'CONFIG SET maxmemory 1gb (sized for your traffic)',
    });
  else add({ check: 'maxmemory', severity: 'ok', message: `maxmemory ${maxmemory} bytes` });
  if (policy.startsWith('allkeys-'))
    add({
      check: 'eviction',
      severity: 'error',
      message: `maxmemory-policy ${policy} lets a flood evict bans (they have no TTL)`,
      fix: 'CONFIG SET maxmemory-policy volatile-lru',
    });
  else if (policy === 'noeviction')
    add({
      check: 'eviction',
      severity: 'warn',
      message: 'maxmemory-policy noeviction turns memory pressure into write errors',
      fix: 'CONFIG SET maxmemory-policy volatile-lru',
    });
  else add({ check: 'eviction', severity: 'ok', message: `maxmemory-policy ${policy}` });

  add(await checkAuthentication(settings, nodeName));

  const host = settings.REDIS_HOST;
  const loopback =
    host === 'localhost' ||
    (host !== '' && isLoopback(host)) ||
    (usesSentinel(settings) && settings.REDIS_SENTINEL_HOSTS.every((h) => isLoopback(parseHostPort(h, 26379)?.host ?? '')));
  if (settings.REDIS_SSL)
    add({
      check: 'tls',
      severity: settings.REDIS_SSL_VERIFY ? 'ok' : 'warn',
      message: settings.REDIS_SSL_VERIFY ? 'TLS with certificate verification' : 'TLS without certificate verification',
      ...(settings.REDIS_SSL_VERIFY ? {} : { fix: 'REDIS_SSL_VERIFY=yes with REDIS_SSL_CA' }),
    });
  else if (loopback) add({ check: 'tls', severity: 'ok', message: 'plaintext on loopback' });
  else
    add({
      check: 'tls',
      severity: 'warn',
      message: `plaintext to ${host || 'the sentinels'}: passwords and bans cross the network unencrypted`,
      fix: 'REDIS_SSL=yes (Redis tls-port) unless the network is trusted',
    });

  const protectedMode = await configGet(client, 'protected-mode');
  if (protectedMode === undefined) couldNot('protected-mode', 'protected-mode');
  else
    add(
      protectedMode === 'yes'
        ? { check: 'protected-mode', severity: 'ok', message: 'protected-mode yes' }
        : { check: 'protected-mode', severity: 'warn', message: 'protected-mode no', fix: 'CONFIG SET protected-mode yes' },
    );

  const timeout = await configGet(client, 'timeout');
  if (timeout === undefined) couldNot('idle-timeout', 'the idle client timeout');
  else
    add(
      Number(timeout) > 0
        ? { check: 'idle-timeout', severity: 'ok', message: `idle clients closed after ${timeout}s` }
        : {
            check: 'idle-timeout',
            severity: 'warn',
            message: 'idle clients are never closed (timeout 0)',
            fix: 'CONFIG SET timeout 600 (Palisade keeps its own connections alive)',
          },
    );

  const stopWrites = await configGet(client, 'stop-writes-on-bgsave-error');
  if (stopWrites !== undefined && stopWrites !== 'yes')
    add({ check: 'bgsave-errors', severity: 'warn', message: 'writes continue when snapshots fail', fix: 'CONFIG SET stop-writes-on-bgsave-error yes' });

  add(await checkSharing(client, settings));

  if (!clusterMaster) {
    const replicas = Number(info.get('connected_slaves') ?? '0');
    add(
      replicas > 0
        ? { check: 'replicas', severity: 'ok', message: `${replicas} replica(s) connected` }
        : {
            check: 'replicas',
            severity: 'warn',
            message: 'no replica: losing this Redis loses shared counters and sessions until it is back',
            fix: 'add a replica and Redis Sentinel (REDIS_SENTINEL_HOSTS)',
          },
    );
    if (usesSentinel(settings)) add(await checkSentinels(settings, nodeName));
    else add({ check: 'sentinels', severity: 'info', message: 'standalone mode: no automatic failover' });
  }

  // The ACL is checked per node: on a cluster node the probe's keys share one slot (any slot:
  // ACLs are checked before the slot, so a MOVED answer means the command was allowed).
  const keys = new RedisKeys(settings.REDIS_KEY_PREFIX, clusterMaster);
  const report = await checkPermissions(client, keys, `doctor-${nodeName}`);
  if (report.missing.length > 0 || report.keysDenied)
    add({ check: 'acl', severity: 'error', message: describePermissionReport(report, settings.REDIS_USERNAME, keys) });
  else add({ check: 'acl', severity: 'ok', message: `every command Palisade uses is allowed on ${keys.aclPattern}` });
  return findings;
}

async function checkAuthentication(settings: Readonly<RedisSettings>, nodeName: string): Promise<Finding> {
  const anonymous = createDoctorClient({ ...settings, REDIS_USERNAME: '', REDIS_PASSWORD: '' }, nodeName);
  try {
    await anonymous.connect();
    await anonymous.ping();
    return {
      check: 'auth',
      severity: 'error',
      message: 'Redis answers without a password: anyone who reaches it can lift bans',
      fix: 'set requirepass or an ACL user (REDIS_USERNAME/REDIS_PASSWORD)',
    };
  } catch {
    return { check: 'auth', severity: 'ok', message: 'authentication required' };
  } finally {
    anonymous.disconnect();
  }
}

async function checkSharing(client: ServerClient, settings: Readonly<RedisSettings>): Promise<Finding> {
  try {
    const size = await client.dbsize();
    const prefix = `${settings.REDIS_KEY_PREFIX}:`;
    for (let i = 0; i < Math.min(size, 25); i++) {
      const key = await client.randomkey();
      if (key !== null && !key.startsWith(prefix)) {
        return {
          check: 'shared-db',
          severity: 'warn',
          message: `database ${settings.REDIS_DATABASE} holds keys outside ${prefix}* (e.g. ${JSON.stringify(key.slice(0, 40))}): another application shares it`,
          fix: 'give Palisade its own Redis (or at least its own database and prefix)',
        };
      }
    }
    return { check: 'shared-db', severity: 'ok', message: `no key outside ${prefix}* among ${Math.min(size, 25)} sampled` };
  } catch (error) {
    if (NOT_ALLOWED.test((error as Error).message))
      return {
        check: 'shared-db',
        severity: 'info',
        message: "could not check for other applications' keys: DBSIZE/RANDOMKEY are not allowed (a good sign for the ACL)",
      };
    throw error;
  }
}

async function checkSentinels(settings: Readonly<RedisSettings>, nodeName: string): Promise<Finding> {
  for (const entry of settings.REDIS_SENTINEL_HOSTS) {
    const address = parseHostPort(entry, 26379)!;
    const sentinel = createSentinelClient(settings, address, nodeName);
    try {
      await sentinel.connect();
      const others = ((await sentinel.call('SENTINEL', 'SENTINELS', settings.REDIS_SENTINEL_MASTER)) as unknown[]).length;
      const total = others + 1;
      return total >= 3
        ? { check: 'sentinels', severity: 'ok', message: `${total} sentinels monitor "${settings.REDIS_SENTINEL_MASTER}"` }
        : {
            check: 'sentinels',
            severity: 'warn',
            message: `only ${total} sentinel(s) monitor "${settings.REDIS_SENTINEL_MASTER}": a quorum needs at least 3`,
            fix: 'run 3 sentinels on separate machines',
          };
    } catch {
      continue;
    } finally {
      sentinel.disconnect();
    }
  }
  return { check: 'sentinels', severity: 'error', message: 'no sentinel answered' };
}
