/**
 * Every import scenario people use `az acr import` for (issue 4, scenarios 1-13), run through the bundle
 * (`node dist/index.js`) against the emulator and real registries. Each test checks what landed in the target, read
 * independently from its backing registry, against the outputs, the summary and what ARM was asked to do.
 *
 * The bed gives `deployer` Reader on the main tenant's subscriptions (see startReaderBed), as a user does so that the
 * action can find a source ACR by login server; docs/scenarios.md has the workflow of each scenario.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { runAction } from '../../testbed/run-action.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  importBodies,
  importCalls,
  results,
  startReaderBed,
  visibleLog,
} from './scenario-helpers.js';

let bed: StartedBed;

useBed((started) => {
  bed = started;
}, startReaderBed);

const NULL_USER = '00000000-0000-0000-0000-000000000000';

/** Polls the target's backing registry until `ref` holds a manifest (an import the action did not wait for). */
async function eventually(repository: string, ref: string, limitMs = 10_000): Promise<string | undefined> {
  const end = Date.now() + limitMs;
  for (;;) {
    const digest = await bed.digestOf(bed.acrs.target, repository, ref);
    if (digest || Date.now() > end) return digest;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('scenario 1: public registry with a token challenge (Docker Hub)', () => {
  it('imports a multi-arch image by tag; the target holds the same index digest and every platform', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': 's1/hello:latest',
    });
    expectSuccess(run);

    const held = await bed.digestOf(bed.acrs.target, 's1/hello', 'latest');
    expect(held).toBe(image.digest);
    for (const p of image.platforms)
      expect(await bed.digestOf(bed.acrs.target, 's1/hello', p.digest)).toBe(p.digest);
    expect(run.outputs['digest']).toBe(held);
    expect(run.outputs['images']).toBe(`${bed.acrs.target.loginServer}/s1/hello@${image.digest}`);
    const [result] = results(run);
    expect(result).toMatchObject({
      status: 'imported',
      sourceDigest: image.digest,
      mediaType: image.mediaType,
    });
    expect(result!.platforms).toEqual(
      image.platforms.map((p) => ({ platform: p.platform, digest: p.digest })),
    );

    // Anonymous pull through the token server: no credentials, the digest pinned.
    const [body] = await importBodies(bed);
    expect(body).toEqual({
      source: { registryUri: hub.host, sourceImage: `${image.repository}@${image.digest}` },
      targetTags: ['s1/hello:latest'],
      mode: 'NoForce',
    });
    const tokens = await bed.control.requests({ service: 'hubauth' });
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((r) => r.headers['authorization'] === undefined)).toBe(true);

    expect(run.summary).toContain('ACR import: 1 image done');
    expect(run.summary).toContain('s1/hello:latest');
    for (const p of image.platforms) expect(run.summary).toContain(p.platform);
  });

  it.each([
    ['through the operation', { retryAfter: 1 }],
    ['at once (small images finish synchronously)', { syncThresholdMs: 10_000 }],
  ])(
    'a name without its namespace: Azure answers UNAUTHORIZED %s, and the error points to library/',
    async (_how, faults) => {
      await bed.control.setFaults(faults);
      const run = await runAction(bed, {
        ...bed.baseInputs(),
        // Unpinned, so that the runner does not meet the refusal first: Azure's own pull is what fails.
        source: `${bed.sources.hub.host}/hello:latest`,
        'target-tags': 's1/nons:latest',
        'pin-digest': 'false',
      });
      expectFailure(run);
      const text = failureText(run);
      expect(text).toContain('UNAUTHORIZED');
      expect(text).toContain('library/ prefix');
      expect((await importBodies(bed))[0]!.source.sourceImage).toBe('hello:latest');
      expect(await bed.digestOf(bed.acrs.target, 's1/nons', 'latest')).toBeUndefined();
    },
  );
});

describe('scenario 2: Docker Hub with credentials', () => {
  it('resolves and imports as the account (username + access token), and masks the token', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['ociSingle']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': 's2/alpine:3.20',
      'source-username': hub.username!,
      'source-password': hub.password!,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's2/alpine', '3.20')).toBe(image.digest);
    expect(run.outputs['digest']).toBe(image.digest);

    const [body] = await importBodies(bed);
    expect(body!.source).toEqual({
      registryUri: hub.host,
      sourceImage: `${image.repository}@${image.digest}`,
      credentials: { username: hub.username, password: hub.password },
    });
    // The runner's own resolution signed in to the token server with the same account.
    const basic = `Basic ${Buffer.from(`${hub.username}:${hub.password}`).toString('base64')}`;
    const tokens = await bed.control.requests({ service: 'hubauth' });
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((r) => r.headers['authorization'] === basic)).toBe(true);
    expect(run.masks).toContain(hub.password);
    expect(visibleLog(run)).not.toContain(hub.password!);
  });
});

describe('scenario 3: anonymous registry without a challenge (MCR)', () => {
  it('imports with the source repository and tag as the default target', async () => {
    const mcr = bed.sources.mcr;
    const image = mcr.images['dockerSingle']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${mcr.host}/${image.repository}:${image.tag}`,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, image.repository, image.tag)).toBe(image.digest);
    expect(results(run)[0]!.targets).toEqual([
      { ref: `${bed.acrs.target.loginServer}/${image.repository}:${image.tag}`, digest: image.digest },
    ]);
    const [body] = await importBodies(bed);
    expect(body).toEqual({
      source: { registryUri: mcr.host, sourceImage: `${image.repository}@${image.digest}` },
      targetTags: [`${image.repository}:${image.tag}`],
      mode: 'NoForce',
    });
  });
});

describe('scenario 4: another ACR of the tenant, by login server', () => {
  it('finds it in the subscription and imports by resourceId with Entra permissions, no credentials', async () => {
    const source = bed.acrs.source;
    const image = source.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${source.loginServer}/${image.repository}:${image.tag}`,
      'target-tags': 's4/web:1.0',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's4/web', '1.0')).toBe(image.digest);
    expect(run.outputs['digest']).toBe(image.digest);

    const [body] = await importBodies(bed);
    expect(body!.source).toEqual({
      resourceId: source.resourceId,
      sourceImage: `${image.repository}@${image.digest}`,
    });
    // Found by listing the subscription (three registries, two per page: the nextLink was followed) ...
    const lists = (await bed.control.requests({ service: 'arm' })).filter((r) =>
      /\/providers\/Microsoft\.ContainerRegistry\/registries\?/i.test(r.url),
    );
    expect(lists.some((r) => r.url.includes('skipToken'))).toBe(true);
    // ... and pinned through the source's data plane with the Entra token exchanged for an ACR token.
    const sourcePlane = await bed.control.requests({ service: `acr:${source.name}` });
    expect(sourcePlane.some((r) => r.url === '/oauth2/exchange')).toBe(true);
  });
});

describe('scenario 4b: several images from another ACR of the tenant', () => {
  it('reads them there with one ACR token for all their repositories (issue 11)', async () => {
    const source = bed.acrs.source;
    const web = source.images['multiArch']!;
    const worker = source.images['ociSingle']!;
    const images = [web, worker]
      .map((i) => `${source.loginServer}/${i.repository}:${i.tag} -> s4b/${i.repository}:1`)
      .join('\n');
    const run = await runAction(bed, { ...bed.baseInputs(), images });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, `s4b/${web.repository}`, '1')).toBe(web.digest);
    expect(await bed.digestOf(bed.acrs.target, `s4b/${worker.repository}`, '1')).toBe(worker.digest);
    expect((await importBodies(bed)).map((b) => b.source)).toEqual(
      [web, worker].map((i) => ({
        resourceId: source.resourceId,
        sourceImage: `${i.repository}@${i.digest}`,
      })),
    );
    // The action's token requests to the source's data plane: one, for both repositories.
    const tokens = (await bed.control.requests({ service: `acr:${source.name}` })).filter(
      (r) =>
        r.method === 'POST' &&
        r.url === '/oauth2/token' &&
        r.headers['user-agent']?.startsWith('acr-import/'),
    );
    // The scope field repeated, as ACR's REST specification describes its token endpoint.
    expect(tokens.map((r) => [r.status, new URLSearchParams(r.body).getAll('scope')])).toEqual([
      [200, [web, worker].map((i) => `repository:${i.repository}:pull`)],
    ]);
  });
});

describe('scenario 5: another ACR with public network access disabled', () => {
  it('imports by source-registry-resource-id with a host-less source, by tag, and says the digest was read after', async () => {
    const locked = bed.acrs.locked;
    const image = locked.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'source-registry-resource-id': locked.resourceId,
      source: `${image.repository}:${image.tag}`,
      'target-tags': 's5/web:1.0',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's5/web', '1.0')).toBe(image.digest);
    expect(run.outputs['digest']).toBe(image.digest);

    // The runner cannot reach the registry, so Azure imports the tag; the digest is read from the target afterwards.
    const [body] = await importBodies(bed);
    expect(body!.source).toEqual({
      resourceId: locked.resourceId,
      sourceImage: `${image.repository}:${image.tag}`,
    });
    const [result] = results(run);
    expect(result).toMatchObject({ status: 'imported', sourceDigest: image.digest });
    expect(result!.notes?.join(' ')).toContain('public network access disabled');
    expect(run.summary).toContain('Imported by tag');
    // The runner never talked to the locked registry's data plane successfully (it answers 403 to everyone).
    const plane = await bed.control.requests({ service: `acr:${locked.name}` });
    expect(plane.every((r) => r.status === 403)).toBe(true);
    // Finished by watching the new tag appear, not by sitting out Retry-After: 10.
    expect(run.durationMs).toBeLessThan(8_000);
  });
});

describe('scenario 6: by manifest digest instead of tag', () => {
  it('imports repo@digest into a named tag', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['multiArchV1']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}@${image.digest}`,
      'target-tags': 's6/hello:v1',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's6/hello', 'v1')).toBe(image.digest);
    const [body] = await importBodies(bed);
    expect(body!.source.sourceImage).toBe(`${image.repository}@${image.digest}`);
  });

  it('without target-tags, a digest-only source lands untagged in its repository (no tag is invented)', async () => {
    const mcr = bed.sources.mcr;
    const image = mcr.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${mcr.host}/${image.repository}@${image.digest}`,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, image.repository, image.digest)).toBe(image.digest);
    expect(await bed.digestOf(bed.acrs.target, image.repository, 'latest')).toBeUndefined();
    expect(results(run)[0]!.targets).toEqual([
      { ref: `${bed.acrs.target.loginServer}/${image.repository}`, digest: image.digest },
    ]);
    expect(run.outputs['images']).toBe(`${bed.acrs.target.loginServer}/${image.repository}@${image.digest}`);
    const [body] = await importBodies(bed);
    expect(body!.untaggedTargetRepositories).toEqual([image.repository]);
    expect(body!.targetTags).toBeUndefined();
    // Finished by watching the untagged repository, not by sitting out Retry-After: 10.
    expect(run.durationMs).toBeLessThan(8_000);
  });
});

describe('scenario 7: an ACR in another subscription of the tenant, by resource ID', () => {
  it('imports pinned by digest through resourceId', async () => {
    const other = bed.acrs.otherSub;
    expect(other.subscriptionId).not.toBe(bed.acrs.target.subscriptionId);
    const image = other.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'source-registry-resource-id': other.resourceId,
      source: `${image.repository}:${image.tag}`,
      'target-tags': 's7/base:1.0',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's7/base', '1.0')).toBe(image.digest);
    const [body] = await importBodies(bed);
    expect(body!.source).toEqual({
      resourceId: other.resourceId,
      sourceImage: `${image.repository}@${image.digest}`,
    });
    expect(results(run)[0]!.notes).toBeUndefined();
  });
});

describe("scenario 8: a service principal's credentials for the source", () => {
  it('imports from an ACR by login server with the principal as username and its secret as password', async () => {
    const source = bed.acrs.source;
    const image = source.images['ociSingle']!;
    const sp = bed.principals.deployer;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${source.loginServer}/${image.repository}:${image.tag}`,
      'target-tags': 's8/worker:1.0',
      'source-username': sp.clientId,
      'source-password': sp.clientSecret!,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's8/worker', '1.0')).toBe(image.digest);
    const [body] = await importBodies(bed);
    expect(body!.source).toEqual({
      registryUri: source.loginServer,
      sourceImage: `${image.repository}@${image.digest}`,
      credentials: { username: sp.clientId, password: sp.clientSecret },
    });
    expect(visibleLog(run)).not.toContain(sp.clientSecret!);
  });
});

describe('scenario 9: an ACR in another tenant', () => {
  it('imports by login server with credentials of a principal of that tenant', async () => {
    const partner = bed.acrs.otherTenant;
    expect(partner.tenantId).not.toBe(bed.tenants.main);
    const image = partner.images['manifestList']!;
    const foreign = bed.principals.foreign;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${partner.loginServer}/${image.repository}:${image.tag}`,
      'target-tags': 's9/app:2.0',
      'source-username': foreign.clientId,
      'source-password': foreign.clientSecret!,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's9/app', '2.0')).toBe(image.digest);
    expect(results(run)[0]!.platforms.map((p) => p.platform)).toEqual(image.platforms.map((p) => p.platform));
    const [body] = await importBodies(bed);
    expect(body!.source.credentials).toEqual({ username: foreign.clientId, password: foreign.clientSecret });
  });

  it('with a second federated identity (source-tenant-id, source-client-id): no stored secret on either side', async () => {
    const partner = bed.acrs.otherTenant;
    const image = partner.images['ociSingle']!;
    const foreign = bed.principals.foreign;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${partner.loginServer}/${image.repository}:${image.tag}`,
      'target-tags': 's9/agent:1.0',
      'source-tenant-id': bed.tenants.other,
      'source-client-id': foreign.clientId,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's9/agent', '1.0')).toBe(image.digest);
    expect(run.outputs['digest']).toBe(image.digest);

    // The source tenant's app signed in with the runner's GitHub ID token, never with a secret ...
    const entra = (await bed.control.requests({ service: 'entra' })).filter(
      (r) => r.method === 'POST' && r.url.startsWith(`/${bed.tenants.other}/oauth2/`),
    );
    expect(entra.length).toBeGreaterThan(0);
    for (const r of entra) {
      const form = new URLSearchParams(r.body);
      expect(form.get('client_id')).toBe(foreign.clientId);
      expect(form.get('client_assertion')).toBeTruthy();
      expect(form.get('client_secret')).toBeNull();
    }
    // ... its Entra token was exchanged at the source registry, and Azure pulled with the resulting ACR token.
    const [body] = await importBodies(bed);
    const password = body!.source.credentials?.password ?? '';
    expect(body!.source).toMatchObject({
      registryUri: partner.loginServer,
      sourceImage: `${image.repository}@${image.digest}`,
      credentials: { username: NULL_USER },
    });
    const claims = JSON.parse(
      Buffer.from(password.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    expect(claims).toMatchObject({
      iss: 'Azure Container Registry',
      aud: partner.loginServer,
      tenant: bed.tenants.other,
    });
    const configured = [foreign.clientSecret, bed.principals.deployer.clientSecret];
    expect(configured).not.toContain(password);
    expect(await bed.control.issuedSecrets()).toContain(password);
    expect(run.masks).toContain(password);
    expect(visibleLog(run)).not.toContain(password);
  });
});

describe('scenario 10: a private non-Azure registry with username and password', () => {
  it('imports a manifest list with Basic credentials that go only into the import body', async () => {
    const priv = bed.sources.private;
    const image = priv.images['manifestList']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${priv.host}/${image.repository}:${image.tag}`,
      'target-tags': 's10/app:1.0',
      'source-username': priv.username!,
      'source-password': priv.password!,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's10/app', '1.0')).toBe(image.digest);
    for (const p of image.platforms)
      expect(await bed.digestOf(bed.acrs.target, 's10/app', p.digest)).toBe(p.digest);
    const [body] = await importBodies(bed);
    expect(body!.source.credentials).toEqual({ username: priv.username, password: priv.password });
    expect(run.masks).toContain(priv.password);
    expect(visibleLog(run)).not.toContain(priv.password!);
  });
});

describe('scenario 11: OCI artifacts, a Helm 3 chart', () => {
  it('imports the chart with its manifest bytes and media types preserved', async () => {
    const hub = bed.sources.hub;
    const chart = hub.images['helm']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${chart.repository}:${chart.tag}`,
      'target-tags': 's11/charts/hello-chart:0.1.0',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's11/charts/hello-chart', '0.1.0')).toBe(chart.digest);
    const [result] = results(run);
    expect(result).toMatchObject({
      status: 'imported',
      sourceDigest: chart.digest,
      mediaType: chart.mediaType,
    });
    // The summary calls it what it is, not a single-platform image.
    expect(run.summary).toMatch(
      /\| ✅ imported \| <code>s11\/charts\/hello-chart:0\.1\.0<\/code> \| <code>[^|]*<\/code><br><code>[^|]*<\/code> \| Helm chart \|/,
    );

    const target = bed.client(bed.acrs.target.backendUrl);
    try {
      const manifest = await target.getManifest('s11/charts/hello-chart', '0.1.0');
      expect(manifest.digest).toBe(chart.digest);
      expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(manifest.json.config?.mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
      expect(manifest.json.layers?.map((l) => l.mediaType)).toEqual([
        'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
      ]);
      for (const blob of chart.blobs) expect(await target.hasBlob('s11/charts/hello-chart', blob)).toBe(true);
    } finally {
      await target.close();
    }
  });
});

describe('scenario 12: force, untagged repositories, wait: false', () => {
  it('keeps an existing tag without force, moves it with force, and copies into an untagged repository', async () => {
    const hub = bed.sources.hub;
    const first = hub.images['ociSingle']!;
    const second = hub.images['dockerSingle']!;
    const inputs = (image: typeof first): Record<string, string> => ({
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': 's12/app:prod',
      'untagged-repositories': 's12/archive',
    });
    expectSuccess(await runAction(bed, inputs(first)));
    expect(await bed.digestOf(bed.acrs.target, 's12/app', 'prod')).toBe(first.digest);
    expect(await bed.digestOf(bed.acrs.target, 's12/archive', first.digest)).toBe(first.digest);
    await bed.control.clearRequests();

    const refused = await runAction(bed, inputs(second));
    expectFailure(refused);
    const text = failureText(refused);
    expect(text).toContain(`s12/app:prod (now ${first.digest})`);
    expect(text).toContain(second.digest);
    expect(text).toContain('force: true');
    expect(await importCalls(bed)).toHaveLength(0);
    expect(results(refused)[0]!.status).toBe('failed');
    expect(await bed.digestOf(bed.acrs.target, 's12/app', 'prod')).toBe(first.digest);

    const forced = await runAction(bed, { ...inputs(second), force: 'true' });
    expectSuccess(forced);
    expect(results(forced)[0]!.status).toBe('updated');
    expect(await bed.digestOf(bed.acrs.target, 's12/app', 'prod')).toBe(second.digest);
    expect(await bed.digestOf(bed.acrs.target, 's12/archive', second.digest)).toBe(second.digest);
    expect((await importBodies(bed)).map((b) => b.mode)).toEqual(['Force']);
    expect(forced.summary).toContain('updated');
  });

  it('with wait: false submits, outputs the resolved digest without verifying, and the import still lands', async () => {
    const mcr = bed.sources.mcr;
    const image = mcr.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${mcr.host}/${image.repository}:${image.tag}`,
      'target-tags': 's12/runtime:8.0',
      wait: 'false',
    });
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(image.digest);
    expect(results(run)[0]!.status).toBe('submitted');
    expect(run.summary).toContain('submitted');
    expect(run.summary).toContain('did not wait');
    expect(await importCalls(bed)).toHaveLength(1);
    const polls = (await bed.control.requests({ service: 'arm' })).filter((r) =>
      /operationResults/i.test(r.url),
    );
    expect(polls).toHaveLength(0);
    expect(await eventually('s12/runtime', '8.0')).toBe(image.digest);
  });
});

describe('scenario 13: network-restricted registries', () => {
  const trustedServicesHint = 'Allow trusted Microsoft services to access this container registry';

  it('a resource-ID source that does not let trusted services through: ARM refuses, the error explains the setting', async () => {
    const locked = bed.acrs.locked;
    const image = locked.images['dockerSingle']!;
    await bed.control.setFaults({ network: { [locked.name]: { trustedServices: false } }, retryAfter: 1 });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'source-registry-resource-id': locked.resourceId,
      source: `${image.repository}:${image.tag}`,
      'target-tags': 's13/tool:1.0',
    });
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain('is not allowed access');
    expect(text).toContain(trustedServicesHint);
    expect(text).toContain('does not cross tenants');
    expect(await importCalls(bed)).toHaveLength(1);
    expect(await bed.digestOf(bed.acrs.target, 's13/tool', '1.0')).toBeUndefined();
    expect(results(run)[0]!.error).toContain(trustedServicesHint);
  });

  it('a network-restricted target that lets trusted services through: the import works, unverified from the runner', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['ociSingle']!;
    await bed.control.setFaults({
      network: { [bed.acrs.target.name]: { publicNetworkAccess: false } },
      retryAfter: 1,
    });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': 's13/open:1.0',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 's13/open', '1.0')).toBe(image.digest);
    expect(run.outputs['digest']).toBe(image.digest);
    const [result] = results(run);
    expect(result!.status).toBe('imported');
    expect(result!.notes?.join(' ')).toContain('not verified');
    expect(run.summary).toContain('not verified');
  });

  it('a network-restricted target without trusted services: ARM reports the refusal with the fix', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['dockerSingle']!;
    await bed.control.setFaults({
      network: { [bed.acrs.target.name]: { publicNetworkAccess: false, trustedServices: false } },
      retryAfter: 1,
    });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': 's13/closed:1.0',
    });
    expectFailure(run);
    expect(failureText(run)).toContain(trustedServicesHint);
    expect(await importCalls(bed)).toHaveLength(1);
    expect(await bed.digestOf(bed.acrs.target, 's13/closed', '1.0')).toBeUndefined();
  });

  it('a firewalled ACR given by login server: ARM reports the source refused Azure, and says to use the resource ID', async () => {
    const locked = bed.acrs.locked;
    const image = locked.images['dockerSingle']!;
    await bed.control.setFaults({ retryAfter: 1 });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${locked.loginServer}/${image.repository}:${image.tag}`,
      'target-tags': 's13/byhost:1.0',
      'source-username': bed.principals.deployer.clientId,
      'source-password': bed.principals.deployer.clientSecret!,
      'pin-digest': 'false',
    });
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain('DENIED');
    expect(text).toContain(trustedServicesHint);
    expect(text).toContain('source-registry-resource-id');
    expect((await importBodies(bed))[0]!.source.registryUri).toBe(locked.loginServer);
  });

  it('a source in another tenant given by resource ID: ARM refuses the linked scope; the error names the cross-tenant way', async () => {
    const partner = bed.acrs.otherTenant;
    const image = partner.images['ociSingle']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'source-registry-resource-id': partner.resourceId,
      source: `${image.repository}:${image.tag}`,
      'target-tags': 's13/partner:1.0',
    });
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain('LinkedAuthorizationFailed');
    expect(text).toContain('another tenant');
    expect(text).toContain('source-tenant-id');
    expect(await bed.digestOf(bed.acrs.target, 's13/partner', '1.0')).toBeUndefined();
  });
});
