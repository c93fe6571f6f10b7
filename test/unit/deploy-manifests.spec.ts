import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// Relative on purpose: the repository root has no dependency on the test kit to resolve it by name.
import { TestImages } from '@leadflow/testkit/global-setup';
import { parseAllDocuments, parseYaml } from '@leadflow/testkit/yaml';

/**
 * The deployment descriptions are code nobody runs in CI (no Docker, no cluster here), so their
 * invariants are checked by reading them: every service is deployable, probed, bounded, configured
 * and scalable, secrets are only referenced, and every image is pinned.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVICES = {
  ingestion: 3001,
  cleansing: 3002,
  scoring: 3003,
  allocation: 3004,
  nurturing: 3005,
  reporting: 3006,
  webhooks: 3007,
} as const;
type ServiceName = keyof typeof SERVICES;
const serviceNames = Object.keys(SERVICES) as ServiceName[];
const SECRET_NAME = 'leadflow-secrets';

// Only the fields these checks read; every one optional, so a missing field fails an assertion.
interface ComposeService {
  image?: string;
  command?: string[];
  build?: { dockerfile?: string; args?: Record<string, string> };
  healthcheck?: { test?: string[] };
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition?: string }>;
  ports?: string[];
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: Partial<Record<'requests' | 'limits', { cpu?: string | number; memory?: string }>>;
  securityContext?: { allowPrivilegeEscalation?: boolean };
}
interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  resources?: string[];
  spec?: {
    replicas?: number;
    selector?: Record<string, string>;
    ports?: { port: number }[];
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { securityContext?: { runAsNonRoot?: boolean }; containers?: Container[] };
    };
    scaleTargetRef?: { kind?: string; name?: string };
    minReplicas?: number;
    metrics?: unknown[];
  };
}

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

function pinned(image: string): boolean {
  const [, tag] = /^[^@]+?(?::([^:/@]+))?(?:@sha256:[0-9a-f]{64})?$/.exec(image) ?? [];
  return tag !== undefined && tag !== 'latest';
}

describe('docker-compose.yml', () => {
  // `merge: true` resolves the `<<:` keys compose supports, so each service is checked as compose sees it.
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const services = compose.services;

  it('pins every image to a tag other than latest', () => {
    const images = Object.values(services).flatMap((s) => (typeof s.image === 'string' ? [s.image] : []));
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) expect(pinned(image), image).toBe(true);
  });

  it('runs the same images the test kit starts with testcontainers', () => {
    expect(services.kafka?.image).toBe(TestImages.kafka);
    expect(services.mongo?.image).toBe(TestImages.mongo);
    expect(services.temporal?.image).toBe(TestImages.temporal);
    expect(services.temporal?.command).toEqual(expect.arrayContaining(['start-dev', '--ip', '0.0.0.0']));
  });

  it.each(serviceNames)('%s is built from the Dockerfile, configured, health-checked and ordered', (name) => {
    const service = services[name];
    expect(service, name).toBeDefined();
    expect(service!.build?.args?.SERVICE).toBe(name);
    expect(service!.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(service!.healthcheck?.test?.join(' ')).toContain('/healthz');

    const env = service!.environment ?? {};
    for (const key of ['KAFKA_BROKERS', 'MONGO_URL', 'JWT_SECRET'])
      expect(env[key], `${name} ${key}`).toBeTruthy();
    expect(env.MONGO_DB).toBe(`leadflow_${name}`);
    expect(String(env.SERVICE_PORT)).toBe(String(SERVICES[name]));
    expect(env.SERVICE_HOST).toBe('0.0.0.0');
    if (name === 'nurturing') expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');

    const needs = name === 'nurturing' ? ['kafka', 'mongo', 'temporal'] : ['kafka', 'mongo'];
    for (const dependency of needs) {
      expect(service!.depends_on?.[dependency]?.condition, `${name} → ${dependency}`).toBe('service_healthy');
    }
    expect(service!.ports).toContain(`${SERVICES[name]}:${SERVICES[name]}`);
  });

  it('gives every service that others wait on a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(services[dependency]?.healthcheck, `${name} waits on ${dependency}`).toBeDefined();
      }
    }
  });
});

describe('k8s manifests', () => {
  const files = readdirSync(path.join(ROOT, 'k8s')).filter((f) => f.endsWith('.yaml'));
  const docs: Manifest[] = files.flatMap((file) =>
    parseAllDocuments(read(path.join('k8s', file))).map((d) => {
      expect(d.errors, file).toEqual([]);
      return d.toJS() as Manifest;
    }),
  );
  const manifests = docs.filter((d) => d.kind !== 'Kustomization');
  const find = (kind: string, name: string) =>
    manifests.find((d) => d.kind === kind && d.metadata?.name === name);
  const configMaps = new Map(
    manifests.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata?.name, d]),
  );

  it('lists every manifest file in kustomization.yaml', () => {
    const kustomization = docs.find((d) => d.kind === 'Kustomization');
    expect(kustomization).toBeDefined();
    const resources = [...(kustomization!.resources ?? [])].sort();
    expect(resources).toEqual(files.filter((f) => f !== 'kustomization.yaml').sort());
  });

  it('keeps secrets out of the repository: no Secret objects, no secret-looking ConfigMap keys', () => {
    expect(manifests.filter((d) => d.kind === 'Secret')).toEqual([]);
    for (const configMap of configMaps.values()) {
      for (const key of Object.keys(configMap.data ?? {})) {
        expect(key, `ConfigMap ${configMap.metadata?.name}`).not.toMatch(
          /SECRET|PASSWORD|PEPPER|TOKEN|MONGO_URL/,
        );
      }
    }
  });

  it.each(serviceNames)('%s has a probed, bounded, non-root Deployment with its configuration', (name) => {
    const deployment = find('Deployment', name);
    expect(deployment, `Deployment ${name}`).toBeDefined();
    expect(deployment!.apiVersion).toBe('apps/v1');
    expect(deployment!.spec?.replicas).toBeGreaterThanOrEqual(2);
    const pod = deployment!.spec?.template?.spec;
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    const container = pod?.containers?.find((c) => c.name === name);
    expect(container, `container ${name}`).toBeDefined();
    const c = container!;

    expect(pinned(c.image), c.image).toBe(true);
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: SERVICES[name] }));
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.startupProbe?.httpGet?.path).toBeDefined();
    for (const bound of ['requests', 'limits'] as const) {
      expect(c.resources?.[bound]?.cpu, `${name} cpu ${bound}`).toBeDefined();
      expect(c.resources?.[bound]?.memory, `${name} memory ${bound}`).toBeDefined();
    }
    expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);

    const env = new Map((c.env ?? []).map((e) => [e.name, e]));
    const fromConfigMaps = new Set(
      (c.envFrom ?? []).flatMap((s) => Object.keys(configMaps.get(s.configMapRef?.name)?.data ?? {})),
    );
    const available = (key: string) => env.has(key) || fromConfigMaps.has(key);
    const secretRef = (key: string) => env.get(key)?.valueFrom?.secretKeyRef;

    expect(available('KAFKA_BROKERS'), `${name} KAFKA_BROKERS`).toBe(true);
    expect(env.get('MONGO_DB')?.value).toBe(`leadflow_${name}`);
    expect(env.get('SERVICE_PORT')?.value).toBe(String(SERVICES[name]));
    expect(secretRef('MONGO_URL')).toEqual({ name: SECRET_NAME, key: 'MONGO_URL' });
    expect(secretRef('JWT_SECRET')).toEqual({ name: SECRET_NAME, key: 'JWT_SECRET' });
    if (name === 'nurturing') expect(available('TEMPORAL_ADDRESS')).toBe(true);
  });

  it.each(serviceNames)('%s has a Service and a CPU HorizontalPodAutoscaler', (name) => {
    const deployment = find('Deployment', name)!;
    const service = find('Service', name);
    expect(service, `Service ${name}`).toBeDefined();
    expect(deployment.spec?.template?.metadata?.labels).toMatchObject(
      service!.spec?.selector ?? { missing: true },
    );
    expect(service!.spec?.ports).toContainEqual(expect.objectContaining({ port: SERVICES[name] }));

    const hpa = find('HorizontalPodAutoscaler', name);
    expect(hpa, `HPA ${name}`).toBeDefined();
    expect(hpa!.apiVersion).toBe('autoscaling/v2');
    expect(hpa!.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name });
    expect(hpa!.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa!.spec?.metrics).toContainEqual({
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
    });
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('builds any one service, pinned, and runs it as a non-root user with a health check', () => {
    expect(dockerfile).toMatch(/^ARG SERVICE$/m);
    const bases = [...dockerfile.matchAll(/^ARG NODE_IMAGE=(\S+)$/gm)].map((m) => m[1]!);
    expect(bases).toHaveLength(1);
    for (const base of bases) expect(pinned(base), base).toBe(true);
    expect(dockerfile).toMatch(/^USER [1-9]\d*(:\d+)?$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(dockerfile).toContain('pnpm install --offline --frozen-lockfile --prod');
    expect(dockerfile).toContain('services/${SERVICE}/src/main.ts');
    expect(dockerfile).toMatch(/ENV NODE_ENV=production/);
  });
});
