import { Writable } from 'node:stream';
import { startNode, type RunningNode } from '../../src/node.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import { TEST_SESSIONS_SECRET } from './palisade.js';
import { freePort } from './ports.js';

/** A node started in this process (real sockets, real plugins), with its log lines kept. */
export interface InProcessNode extends RunningNode {
  readonly lines: Array<Record<string, unknown>>;
  readonly url: string;
  readonly adminUrl: string;
}

/**
 * Starts a node with the built-in plugins from `env` on free loopback ports; for tests that
 * need the store itself (two nodes sharing bans) next to the public surface. A port picked
 * free can be taken before the node binds it (another test's outgoing connection can get it
 * as its local port): then it starts again on new ports, twice at most, as `startPalisade` does.
 */
export async function startInProcessNode(env: Record<string, string>): Promise<InProcessNode> {
  const portsAreOurs = env.HTTP_PORT === undefined && env.ADMIN_LISTEN === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env);
    } catch (error) {
      if (!portsAreOurs || attempt === 3 || (error as { code?: string }).code !== 'PAL_LISTEN_FAILED') throw error;
    }
  }
}

async function startOnce(env: Record<string, string>): Promise<InProcessNode> {
  const loaded = await loadSettings(settingsSpec(builtinPlugins), {
    HTTP_ADDRESS: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
    ADMIN_LISTEN: `127.0.0.1:${await freePort()}`,
    LOG_LEVEL: 'info',
    SESSIONS_SECRET: TEST_SESSIONS_SECRET,
    // Off unless the test turns it on (see `baseEnv`).
    USE_MODSECURITY: 'no',
    // One process: these tests reach into the node's store and plugins in this process.
    WORKERS: '0',
    ...env,
  });
  if (!loaded.ok) throw new Error(`bad test settings: ${JSON.stringify(loaded.errors)}`);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const node = await startNode({ settings: loaded.settings, secrets: loaded.secrets, logDestination: sink });
  return Object.assign(node, { lines, url: `http://127.0.0.1:${node.proxy.port}`, adminUrl: `http://127.0.0.1:${node.admin.port}` });
}

/** Sends a request as client `ip` (the nodes trust 127.0.0.1 to say so). */
export async function requestAs(node: { url: string }, ip: string, path = '/'): Promise<number> {
  const response = await fetch(`${node.url}${path}`, { headers: { 'x-forwarded-for': ip } });
  await response.arrayBuffer();
  return response.status;
}
