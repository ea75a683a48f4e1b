/**
 * The engine end to end against a fake world (ARM, an ACR data plane, a Docker-Hub-like source) answered through the
 * transport port, with a clock whose sleeps cost nothing. The real-wire version of these runs in __tests__/e2e.
 */
import {
  parseConfig,
  runImports,
  toOutputs,
  renderSummary,
  type HttpRequest,
} from '../../src/engine/index.js';
import { createHash } from 'node:crypto';
import { FakeClock, MemoryLogger, StaticCredential, fakeTransport, respond } from './fakes.js';

const SUB = '11111111-1111-1111-1111-111111111111';
const TENANT = '22222222-2222-2222-2222-222222222222';
const CLIENT = '33333333-3333-3333-3333-333333333333';
const RG = 'rg-prod';
const ACR_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerRegistry/registries/prodacr`;
const LOGIN = 'prodacr-abc123.azurecr.io';
const OTHER = 'sha256:' + 'b'.repeat(64);
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const INDEX_BODY = JSON.stringify({
  schemaVersion: 2,
  mediaType: INDEX_TYPE,
  manifests: [
    { digest: 'sha256:' + '1'.repeat(64), platform: { os: 'linux', architecture: 'amd64' } },
    { digest: 'sha256:' + '2'.repeat(64), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    {
      digest: 'sha256:' + '3'.repeat(64),
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    },
  ],
});

const INDEX = `sha256:${createHash('sha256').update(INDEX_BODY).digest('hex')}`;

interface World {
  clock: FakeClock;
  /** Tags of the target registry: `repo:tag` -> digest. */
  target: Map<string, string>;
  imports: unknown[];
  polls: number;
  copyMs: number;
  failWith?: { form: 'status' | 'http'; message: string };
}

function world(clock: FakeClock, overrides: Partial<World> = {}): World {
  return { clock, target: new Map(), imports: [], polls: 0, copyMs: 300, ...overrides };
}

function handler(w: World) {
  let finishAt = Infinity;
  let pending: { tags: string[] } | undefined;
  const settle = (): void => {
    if (pending && w.clock.now() >= finishAt && !w.failWith) {
      for (const t of pending.tags) w.target.set(t, INDEX);
      pending = undefined;
    }
  };
  return (req: HttpRequest) => {
    settle();
    const url = new URL(req.url);
    if (url.host === 'arm.test' && url.pathname === '/metadata/endpoints') {
      // A custom cloud describes itself (anonymously): its ARM audience and login endpoint.
      return respond(200, {
        authentication: { loginEndpoint: 'https://login.test/', audiences: ['https://arm.test'] },
      });
    }
    if (url.host === 'arm.test') {
      expect(req.headers?.['authorization']).toBe('Bearer arm-token');
      if (req.method === 'GET' && url.pathname.endsWith('/registries')) {
        return respond(200, {
          value: [
            {
              id: ACR_ID,
              name: 'prodacr',
              location: 'westeurope',
              sku: { name: 'Premium' },
              properties: { loginServer: LOGIN },
            },
          ],
        });
      }
      if (req.method === 'POST' && url.pathname.endsWith('/importImage')) {
        const body = JSON.parse(req.body!) as { targetTags: string[] };
        w.imports.push(body);
        pending = { tags: body.targetTags };
        finishAt = w.clock.now() + w.copyMs;
        return respond(202, '', {
          location: 'https://arm.test/operationResults/registries-1?api-version=x',
          'retry-after': '10',
        });
      }
      if (req.method === 'GET' && url.pathname.startsWith('/operationResults')) {
        w.polls++;
        if (w.failWith) {
          return w.failWith.form === 'http'
            ? respond(400, { error: { code: 'InvalidParameters', message: w.failWith.message } })
            : respond(200, {
                status: 'Failed',
                error: { code: 'InvalidParameters', message: w.failWith.message },
              });
        }
        return w.clock.now() >= finishAt ? respond(200) : respond(202, '', { 'retry-after': '10' });
      }
    }
    if (url.host === LOGIN) {
      if (url.pathname === '/oauth2/exchange') return respond(200, { refresh_token: 'acr-refresh' });
      if (url.pathname === '/oauth2/token') return respond(200, { access_token: 'acr-access' });
      const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
      if (m) {
        expect(req.headers?.['authorization']).toBe('Bearer acr-access');
        const [, repo, ref] = m;
        // The index's platform manifests are there whenever the index is.
        const held = [...w.target.values()];
        const children: string[] = held.includes(INDEX) ? INDEX_BODY.match(/sha256:[0-9a-f]{64}/g)! : [];
        const digest = ref!.startsWith('sha256:')
          ? held.includes(ref!) || children.includes(ref!)
            ? ref
            : undefined
          : w.target.get(`${repo}:${ref}`);
        if (!digest) return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
        return respond(200, req.method === 'GET' ? INDEX_BODY : '', {
          'docker-content-digest': digest,
          'content-type': INDEX_TYPE,
        });
      }
    }
    if (url.host === 'registry-1.docker.io') {
      if (req.headers?.['authorization'] !== 'Bearer hub-token') {
        return respond(
          401,
          { errors: [{ code: 'UNAUTHORIZED' }] },
          {
            'www-authenticate':
              'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/hello:pull"',
          },
        );
      }
      if (url.pathname === '/v2/library/hello/manifests/latest') {
        return respond(200, '', { 'docker-content-digest': INDEX, 'content-type': INDEX_TYPE });
      }
      return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
    }
    if (url.host === 'auth.docker.io') {
      expect(url.searchParams.get('scope')).toBe('repository:library/hello:pull');
      return respond(200, { token: 'hub-token' });
    }
    throw new Error(`unexpected ${req.method} ${req.url}`);
  };
}

function config(extra: Record<string, string> = {}) {
  return parseConfig({
    registry: 'prodacr',
    'subscription-id': SUB,
    'tenant-id': TENANT,
    'client-id': CLIENT,
    'resource-manager-endpoint': 'https://arm.test',
    source: 'docker.io/hello',
    ...extra,
  });
}

async function runIn(w: World, extra: Record<string, string> = {}) {
  const transport = fakeTransport(handler(w));
  const logger = new MemoryLogger();
  const masked: string[] = [];
  const result = await runImports(config(extra), {
    logger,
    mask: (s) => masked.push(s),
    credential: new StaticCredential(),
    transport,
    clock: w.clock,
    authHost: { idToken: undefined, azureCliAvailable: false, managedIdentityPossible: false },
  });
  return { result, transport, logger, masked };
}

describe('runImports', () => {
  it('pins the digest, imports it, and finishes when the target holds it, long before Retry-After', async () => {
    const clock = new FakeClock();
    const w = world(clock);
    const started = clock.now();
    const { result, masked } = await runIn(w);
    expect(result.ok).toBe(true);
    const image = result.images[0]!;
    expect(image.status).toBe('imported');
    expect(image.sourceDigest).toBe(INDEX);
    expect(image.targets).toEqual([{ ref: `${LOGIN}/library/hello:latest`, digest: INDEX }]);
    expect(image.platforms).toEqual([
      { platform: 'linux/amd64', digest: 'sha256:' + '1'.repeat(64) },
      { platform: 'linux/arm64/v8', digest: 'sha256:' + '2'.repeat(64) },
    ]);
    // The import body: Docker Hub's library/ added, and the digest, not the tag, imported.
    expect(w.imports).toEqual([
      {
        source: { registryUri: 'docker.io', sourceImage: `library/hello@${INDEX}` },
        targetTags: ['library/hello:latest'],
        mode: 'NoForce',
      },
    ]);
    expect(w.polls).toBe(0);
    expect(clock.now() - started).toBeLessThan(1_500);
    expect(masked).toEqual(expect.arrayContaining(['arm-token', 'acr-refresh', 'acr-access']));
    // The source's token was got anonymously: no secret, not masked.
    expect(masked).not.toContain('hub-token');

    const outputs = toOutputs(result);
    expect(outputs.digest).toBe(INDEX);
    expect(outputs.images).toBe(`${LOGIN}/library/hello@${INDEX}`);
    expect(JSON.parse(outputs.results)[0]).toMatchObject({
      status: 'imported',
      sourceDigest: INDEX,
      mediaType: INDEX_TYPE,
    });
    const summary = renderSummary(result);
    expect(summary).toContain('linux/amd64<br>linux/arm64/v8');
    expect(summary).toContain('✅ imported');
  });

  it('is unchanged, without an import call, when every target already holds the digest', async () => {
    const w = world(new FakeClock());
    w.target.set('library/hello:latest', INDEX);
    const { result } = await runIn(w);
    expect(result.images[0]!.status).toBe('unchanged');
    expect(w.imports).toHaveLength(0);
  });

  it('refuses to move a tag that points elsewhere without force, naming both digests, before any import', async () => {
    const w = world(new FakeClock());
    w.target.set('app:1.0', OTHER);
    const { result } = await runIn(w, { 'target-tags': 'app:1.0' });
    const image = result.images[0]!;
    expect(result.ok).toBe(false);
    expect(image.status).toBe('failed');
    expect(image.error).toContain(`app:1.0 (now ${OTHER})`);
    expect(image.error).toContain(INDEX);
    expect(image.hint).toContain('force: true');
    expect(w.imports).toHaveLength(0);
  });

  it('moves the tag with force and reports updated', async () => {
    const w = world(new FakeClock());
    w.target.set('app:1.0', OTHER);
    const { result } = await runIn(w, { 'target-tags': 'app:1.0', force: 'true' });
    expect(result.images[0]!.status).toBe('updated');
    expect((w.imports[0] as { mode: string }).mode).toBe('Force');
    expect(result.images[0]!.targets[0]!.digest).toBe(INDEX);
  });

  it.each(['status', 'http'] as const)('reports a failed operation (%s form) with a hint', async (form) => {
    const w = world(new FakeClock(), {
      failWith: {
        form,
        message:
          'Operation registries-1 failed. Resource x Invalid message Unauthorized Unauthorized {"errors":[{"code":"UNAUTHORIZED"}]}',
      },
    });
    const { result } = await runIn(w);
    const image = result.images[0]!;
    expect(image.status).toBe('failed');
    expect(image.error).toContain('UNAUTHORIZED');
    expect(image.hint).toContain('source-username');
  });

  it('fails a source that does not exist before importing', async () => {
    const w = world(new FakeClock());
    const { result } = await runIn(w, { source: 'docker.io/hello:nope' });
    expect(result.images[0]!.error).toContain('was not found');
    expect(w.imports).toHaveLength(0);
  });

  it('ends a hung import at the timeout, naming the image', async () => {
    const w = world(new FakeClock(), { copyMs: 10 * 3_600_000 });
    const { result } = await runIn(w, { timeout: '30s', 'target-tags': 'slow:1' });
    const image = result.images[0]!;
    expect(image.status).toBe('failed');
    expect(image.error).toMatch(/did not finish within 30s/);
  });
});
