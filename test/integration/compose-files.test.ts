import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageRoot } from '../../src/paths.js';

const run = promisify(execFile);
const dockerDir = join(packageRoot, 'docker');
const composeFiles = readdirSync(dockerDir).filter((name) => /^compose.*\.ya?ml$/.test(name));
const schema = JSON.parse(readFileSync(join(packageRoot, 'settings.schema.json'), 'utf8')) as { properties: Record<string, unknown> };

describe('compose files', () => {
  it('has the Sentinel and the Redis Cluster topologies', () => {
    expect(composeFiles.sort()).toEqual(['compose.cluster.yaml', 'compose.yaml']);
  });

  for (const file of composeFiles) {
    it(`${file} passes docker-compose config`, async () => {
      const { stdout, stderr } = await run('docker-compose', ['-f', file, 'config', '-q'], { cwd: dockerDir });
      expect(stderr).toBe('');
      expect(stdout).toBe('');
    });

    it(`${file} gives Palisade only settings it knows`, () => {
      const services = (
        parse(readFileSync(join(dockerDir, file), 'utf8'), { merge: true }) as {
          services: Record<string, { build?: unknown; environment?: Record<string, string> }>;
        }
      ).services;
      const palisade = Object.values(services).filter((service) => service.build !== undefined);
      expect(palisade.length).toBeGreaterThanOrEqual(2);
      for (const service of palisade) {
        const unknown = Object.keys(service.environment ?? {}).filter(
          (name) => !(name in schema.properties) && !(name.endsWith('_FILE') && name.slice(0, -5) in schema.properties),
        );
        expect(unknown).toEqual([]);
      }
    });
  }
});
