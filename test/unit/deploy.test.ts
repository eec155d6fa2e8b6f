import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../../src/paths.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { parseListenAddress } from '../../src/settings/formats.js';
import { loadSettings } from '../../src/settings/load.js';

/** The Kubernetes objects Palisade ships, with the model each one is validated against. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment as never,
  'v1/Service': Service as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/Secret': Secret as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
}

const root = join(packageRoot, 'deploy', 'kubernetes');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? yamlFiles(join(dir, entry.name)) : entry.name.endsWith('.yaml') ? [join(dir, entry.name)] : [],
  );
}

function documents(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative(packageRoot, file)}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

/**
 * What `kubectl apply -k overlays/<name>` applies, as far as these files need: the base's
 * resources, each overlay patch's ConfigMap data merged into the base's (strategic merge of
 * a map), and the generated Secret.
 */
function build(overlay: string): K8sObject[] {
  const dir = join(root, 'overlays', overlay);
  const kustomization = documents(join(dir, 'kustomization.yaml'))[0] as unknown as { resources: string[]; patches: Array<{ path: string }> };
  const base = join(dir, kustomization.resources[0]!);
  const baseKustomization = documents(join(base, 'kustomization.yaml'))[0] as unknown as {
    resources: string[];
    secretGenerator: Array<{ name: string; files: string[] }>;
  };
  const objects = baseKustomization.resources.flatMap((file) => documents(join(base, file)));
  for (const patch of kustomization.patches.flatMap((p) => documents(join(dir, p.path)))) {
    const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name)!;
    expect(target, `${overlay}: the patch of ${patch.kind}/${patch.metadata.name} has a target`).toBeDefined();
    target.data = { ...(target.data as object), ...(patch.data as object) };
  }
  for (const generator of baseKustomization.secretGenerator) {
    const data = Object.fromEntries(
      generator.files.map((entry) => {
        const [key, file] = entry.split('=') as [string, string];
        return [key, Buffer.from(readFileSync(join(base, file))).toString('base64')];
      }),
    );
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: generator.name }, data });
  }
  return objects;
}

const overlays = readdirSync(join(root, 'overlays'));
const schema = JSON.parse(readFileSync(join(packageRoot, 'settings.schema.json'), 'utf8')) as { properties: Record<string, unknown> };

describe('Kubernetes manifests', () => {
  it('has overlays for standalone Redis, Sentinel and Cluster', () => {
    expect(overlays.sort()).toEqual(['cluster', 'sentinel', 'standalone']);
  });

  for (const file of yamlFiles(root).filter((f) => !f.endsWith('kustomization.yaml'))) {
    it(`${relative(packageRoot, file)} validates against the Kubernetes schemas`, () => {
      for (const object of documents(file)) {
        const Model = MODELS[`${object.apiVersion}/${object.kind}`];
        expect(Model, `${object.apiVersion} ${object.kind} is a kind this test knows`).toBeDefined();
        expect(() => new Model!(object as never).validate()).not.toThrow();
      }
    });
  }

  for (const overlay of overlays) {
    describe(`overlay ${overlay}`, () => {
      const objects = build(overlay);
      const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
        spec: { template: { spec: { containers: Array<Record<string, any>>; securityContext: Record<string, unknown>; volumes: Array<Record<string, any>> } } };
      };
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0]!;
      const settingsMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === container.envFrom[0].configMapRef.name)!.data as Record<
        string,
        string
      >;

      it('validates every object of the build', () => {
        for (const object of objects) expect(() => new MODELS[`${object.apiVersion}/${object.kind}`]!(object as never).validate()).not.toThrow();
      });

      // Loading them compiles the CRS the deployment turns on: seconds on loaded cores.
      it('names only Palisade settings (or their *_FILE), and they load without an error', { timeout: 60_000 }, async () => {
        const names = [...Object.keys(settingsMap), ...(container.env as Array<{ name: string }>).map((e) => e.name)];
        const unknown = names.filter((name) => !(name in schema.properties) && !(name.endsWith('_FILE') && name.slice(0, -5) in schema.properties));
        expect(unknown).toEqual([]);
        // The secrets as the pod sees them: files from the generated Secret.
        const secretVolume = pod.volumes.find((v) => v.secret)!;
        const mount = container.volumeMounts.find((m: { name: string }) => m.name === secretVolume.name).mountPath as string;
        const secret = objects.find((o) => o.kind === 'Secret')!;
        const generator = (documents(join(root, 'base', 'kustomization.yaml'))[0] as unknown as { secretGenerator: Array<{ files: string[] }> })
          .secretGenerator[0]!;
        const env: Record<string, string> = { ...settingsMap, NODE_NAME: 'palisade-7d9f-abcde' };
        for (const entry of container.env as Array<{ name: string; value?: string }>) {
          if (entry.value === undefined) continue;
          const key = entry.value.startsWith(`${mount}/`) ? entry.value.slice(mount.length + 1) : undefined;
          const file = key === undefined ? undefined : generator.files.find((f) => f.startsWith(`${key}=`))?.split('=')[1];
          expect(key === undefined || (secret.data as Record<string, string>)[key] !== undefined, `${entry.name} points at a key of the Secret`).toBe(true);
          env[entry.name] = file ? join(root, 'base', file) : entry.value;
        }
        // STATE_DIR is a volume in the pod; here any writable directory stands in for it.
        env.STATE_DIR = dirname(join(root, 'base', 'kustomization.yaml'));
        const loaded = await loadSettings(settingsSpec(builtinPlugins), env);
        expect(loaded.ok ? [] : loaded.errors).toEqual([]);
      });

      it('probes only what the admin listener serves, on its port; the Service never exposes it', () => {
        const admin = parseListenAddress(settingsMap.ADMIN_LISTEN!)!;
        const ports = new Map((container.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]));
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
          const get = container[probe].httpGet as { path: string; port: string };
          expect(['/livez', '/readyz']).toContain(get.path);
          expect(ports.get(get.port)).toBe(admin.port);
        }
        expect(container.readinessProbe.httpGet.path).toBe('/readyz');
        expect(container.livenessProbe.httpGet.path).toBe('/livez');
        const service = objects.find((o) => o.kind === 'Service') as unknown as { spec: { ports: Array<{ targetPort: string | number }> } };
        for (const port of service.spec.ports) expect(ports.get(String(port.targetPort)) ?? port.targetPort).not.toBe(admin.port);
        expect(ports.get('http')).toBe(Number(settingsMap.HTTP_PORT));
      });

      it('runs as non-root on a read-only root filesystem, with limits', () => {
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(container.resources.limits).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
        // The one place it writes: STATE_DIR, a volume.
        expect(container.volumeMounts.some((m: { mountPath: string }) => m.mountPath === settingsMap.STATE_DIR)).toBe(true);
      });
    });
  }
});
