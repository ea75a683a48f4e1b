/**
 * ARM importImage end to end against real registries: the copy preserves every digest (read back from the target's
 * backing registry with plain fetch), every kind of source (Bearer-challenge hub, anonymous mcr-like, htpasswd
 * private, another ACR by resourceId even with public access off, another ACR by login server with credentials),
 * the NoForce/Force rules, ACR-shaped failure messages, and the import fault switches.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import type { SeededImage } from '../../testbed/types.js';
import {
  armImport,
  backendManifest,
  entraToken,
  FORM,
  httpClient,
  importAndWait,
  pollUntilDone,
  type Client,
  type Reply,
} from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;
let token: string;

useBed(async (started) => {
  bed = started;
  client = httpClient(bed.caPem);
  token = await entraToken(bed, client);
});
afterAll(async () => {
  await client?.close();
});

const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const image = (images: Record<string, SeededImage>, key: string): SeededImage => {
  const found = images[key];
  if (!found) throw new Error(`no seeded image ${key}`);
  return found;
};
const target = (): string => bed.acrs.target.backendUrl;

/** Every manifest and blob of `img` is in `repo` of the target's backing registry, byte for byte. */
async function expectComplete(repo: string, img: SeededImage): Promise<void> {
  const top = await backendManifest(target(), repo, img.digest);
  expect(top.status).toBe(200);
  expect(sha256(top.body)).toBe(img.digest);
  expect(top.contentType).toBe(img.mediaType);
  for (const platform of img.platforms) {
    const child = await backendManifest(target(), repo, platform.digest);
    expect([platform.platform, child.status, sha256(child.body)]).toEqual([
      platform.platform,
      200,
      platform.digest,
    ]);
  }
  for (const blob of img.blobs) {
    const response = await fetch(`${target()}/v2/${repo}/blobs/${blob}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect([blob, response.status, sha256(bytes)]).toEqual([blob, 200, blob]);
  }
}

async function tagDigest(repo: string, tag: string): Promise<string | null> {
  const m = await backendManifest(target(), repo, tag);
  return m.status === 200 ? m.digest : null;
}

function failure(reply: Reply): { code?: string; message?: string } {
  const body = reply.json() as { status?: string; error?: { code?: string; message?: string } };
  return body.error ?? {};
}

describe('importImage copies for real', () => {
  it('copies a multi-arch OCI index from the Bearer-challenge hub by tag, every digest preserved', async () => {
    const hub = bed.sources.hub;
    const img = image(hub.images, 'multiArch');
    const reply = await importAndWait(bed, client, token, {
      source: { registryUri: hub.host, sourceImage: `${img.repository}:${img.tag}` },
      targetTags: [`${img.repository}:${img.tag}`],
      mode: 'NoForce',
    });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
    expect(await tagDigest(img.repository, img.tag)).toBe(img.digest);
    expect(img.platforms.length).toBe(2);
    await expectComplete(img.repository, img);
    // The emulator pulled like a client of Docker Hub: an anonymous token from the hub's realm.
    const hubAuth = await bed.control.requests({ service: 'hubauth' });
    expect(hubAuth.length).toBeGreaterThan(0);
    expect(hubAuth.every((r) => r.headers['authorization'] === undefined)).toBe(true);
  });

  it('copies a Docker manifest list from the htpasswd registry with credentials, by digest, to new tags', async () => {
    const priv = bed.sources.private;
    const img = image(priv.images, 'manifestList');
    const reply = await importAndWait(bed, client, token, {
      source: {
        registryUri: priv.host,
        sourceImage: `${img.repository}@${img.digest}`,
        credentials: { username: priv.username, password: priv.password },
      },
      targetTags: ['mirror/team-app:1.0', 'mirror/team-app:stable'],
    });
    expect(reply.status).toBe(200);
    expect(await tagDigest('mirror/team-app', '1.0')).toBe(img.digest);
    expect(await tagDigest('mirror/team-app', 'stable')).toBe(img.digest);
    await expectComplete('mirror/team-app', img);
  });

  it('fails with UNAUTHORIZED, in ACR words, when the private source gets no credentials', async () => {
    const priv = bed.sources.private;
    const img = image(priv.images, 'ociSingle');
    const reply = await importAndWait(bed, client, token, {
      source: { registryUri: priv.host, sourceImage: `${img.repository}:${img.tag}` },
      targetTags: ['denied/tool:1'],
    });
    expect(reply.status).toBe(200);
    expect((reply.json() as { status: string }).status).toBe('Failed');
    const error = failure(reply);
    expect(error.code).toBe('InvalidParameters');
    expect(error.message).toMatch(
      new RegExp(
        `^Operation registries-[0-9a-f-]{36} failed\\. Resource ${bed.acrs.target.resourceId.replace(/\//g, '\\/')} Invalid message Unauthorized Unauthorized \\{"errors":\\[\\{"code":"UNAUTHORIZED"`,
      ),
    );
    expect(await tagDigest('denied/tool', '1')).toBeNull();
  });

  it('imports from the anonymous registry into an untagged repository and a Helm chart with its media types', async () => {
    const mcr = bed.sources.mcr;
    const img = image(mcr.images, 'dockerSingle');
    const reply = await importAndWait(bed, client, token, {
      source: { registryUri: mcr.host, sourceImage: `${img.repository}:${img.tag}` },
      untaggedTargetRepositories: ['untagged/hello'],
    });
    expect(reply.status).toBe(200);
    await expectComplete('untagged/hello', img);
    const tags = (await (await fetch(`${target()}/v2/untagged/hello/tags/list`)).json()) as {
      tags: string[] | null;
    };
    expect(tags.tags ?? []).toEqual([]);

    const helm = image(bed.sources.hub.images, 'helm');
    const helmReply = await importAndWait(bed, client, token, {
      source: { registryUri: bed.sources.hub.host, sourceImage: `${helm.repository}:${helm.tag}` },
    });
    expect(helmReply.status).toBe(200);
    // Default target: the source repository and tag.
    expect(await tagDigest(helm.repository, helm.tag)).toBe(helm.digest);
    await expectComplete(helm.repository, helm);
    const manifest = JSON.parse(
      (await backendManifest(target(), helm.repository, helm.digest)).body.toString(),
    ) as {
      config: { mediaType: string };
    };
    expect(manifest.config.mediaType).toBe('application/vnd.cncf.helm.config.v1+json');
  });

  it('reads a resourceId source straight from its storage, even with public network access disabled', async () => {
    const locked = bed.acrs.locked;
    const img = image(locked.images, 'multiArch');
    const reply = await importAndWait(bed, client, token, {
      source: { resourceId: locked.resourceId, sourceImage: `${img.repository}:${img.tag}` },
      targetTags: ['from-locked/web:1.0'],
    });
    expect(reply.status).toBe(200);
    await expectComplete('from-locked/web', img);
    expect(await bed.control.requests({ service: `acr:${locked.name}` })).toEqual([]);
  });

  it("goes through an ACR's data plane for a registryUri source: firewall, SP credentials, refresh tokens", async () => {
    const locked = bed.acrs.locked;
    const denied = await importAndWait(bed, client, token, {
      source: {
        registryUri: locked.loginServer,
        sourceImage: 'secure/tool:1.0',
        credentials: {
          username: bed.principals.deployer.clientId,
          password: bed.principals.deployer.clientSecret ?? '',
        },
      },
      targetTags: ['via-uri/locked:1'],
    });
    expect(failure(denied).message).toContain(
      'Invalid message Forbidden Forbidden {"errors":[{"code":"DENIED"',
    );

    const source = bed.acrs.source;
    const img = image(source.images, 'ociSingle');
    const bySecret = await importAndWait(bed, client, token, {
      source: {
        registryUri: source.loginServer,
        sourceImage: `${img.repository}:${img.tag}`,
        credentials: {
          username: bed.principals.deployer.clientId,
          password: bed.principals.deployer.clientSecret ?? '',
        },
      },
      targetTags: ['via-uri/worker:secret'],
    });
    expect(bySecret.status).toBe(200);
    await expectComplete('via-uri/worker', img);
    expect((await bed.control.requests({ service: `acr:${source.name}` })).length).toBeGreaterThan(0);

    const acrAad = await entraToken(bed, client, { scope: 'https://containerregistry.azure.net/.default' });
    const exchange = await client.request(`https://${source.loginServer}/oauth2/exchange`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'access_token',
        service: source.loginServer,
        tenant: bed.tenants.main,
        access_token: acrAad,
      }).toString(),
    });
    const refresh = (exchange.json() as { refresh_token: string }).refresh_token;
    const byRefresh = await importAndWait(bed, client, token, {
      source: {
        registryUri: source.loginServer,
        sourceImage: `${img.repository}:${img.tag}`,
        credentials: { username: '00000000-0000-0000-0000-000000000000', password: refresh },
      },
      targetTags: ['via-uri/worker:refresh'],
    });
    expect(byRefresh.status).toBe(200);
    expect(await tagDigest('via-uri/worker', 'refresh')).toBe(img.digest);

    const anonymous = await importAndWait(bed, client, token, {
      source: { registryUri: source.loginServer, sourceImage: `${img.repository}:${img.tag}` },
      targetTags: ['via-uri/worker:anon'],
    });
    expect(failure(anonymous).message).toContain('Invalid message Unauthorized Unauthorized');
  });

  it('takes an Entra token of another tenant as the password (cross-tenant import through registryUri)', async () => {
    const partner = bed.acrs.otherTenant;
    const img = image(partner.images, 'manifestList');
    const foreignToken = await entraToken(bed, client, {
      principal: 'foreign',
      scope: 'https://containerregistry.azure.net/.default',
    });
    const reply = await importAndWait(bed, client, token, {
      source: {
        registryUri: partner.loginServer,
        sourceImage: `${img.repository}:${img.tag}`,
        credentials: { username: bed.principals.foreign.clientId, password: foreignToken },
      },
      targetTags: ['partner/app:2.0'],
    });
    expect(reply.status).toBe(200);
    await expectComplete('partner/app', img);
  });

  it('never leaves 127.0.0.1: a public registryUri fails like an unreachable registry', async () => {
    const reply = await importAndWait(bed, client, token, {
      source: { registryUri: 'registry.hub.docker.com', sourceImage: 'library/hello-world:latest' },
    });
    expect(failure(reply).message).toMatch(
      /^Operation registries-[0-9a-f-]{36} failed\. Resource .+ Error copying blobs: the source registry 'registry.hub.docker.com' cannot be reached/,
    );
  });

  it('reports a missing source tag as MANIFEST_UNKNOWN and a Docker Hub name without library/ as UNAUTHORIZED', async () => {
    const hub = bed.sources.hub;
    const missing = await importAndWait(bed, client, token, {
      source: { registryUri: hub.host, sourceImage: 'library/hello:9.9.9' },
    });
    expect(failure(missing).message).toMatch(
      /Invalid message NotFound Not Found \{"errors":\[\{"code":"MANIFEST_UNKNOWN"/,
    );

    const noLibrary = await importAndWait(bed, client, token, {
      source: { registryUri: hub.host, sourceImage: 'hello:latest' },
    });
    expect(failure(noLibrary).message).toContain(
      'Invalid message Unauthorized Unauthorized {"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"hello","Action":"pull"}]}]}',
    );
  });
});

describe('NoForce and Force', () => {
  it('fails NoForce before copying when the tag holds another digest; same digest adds tags; Force overwrites', async () => {
    const hub = bed.sources.hub;
    const first = image(hub.images, 'ociSingle');
    const second = image(hub.images, 'dockerSingle');
    const src = (img: SeededImage): { registryUri: string; sourceImage: string } => ({
      registryUri: hub.host,
      sourceImage: `${img.repository}:${img.tag}`,
    });

    expect(
      (await importAndWait(bed, client, token, { source: src(first), targetTags: ['rules/app:1'] })).status,
    ).toBe(200);
    expect(await tagDigest('rules/app', '1')).toBe(first.digest);

    const conflict = await importAndWait(bed, client, token, {
      source: src(second),
      targetTags: ['rules/app:1', 'rules/app:fresh'],
      mode: 'NoForce',
    });
    expect(failure(conflict).message).toMatch(
      /^Operation registries-[0-9a-f-]{36} failed\. Resource \/subscriptions\/.+\/registries\/targetacr Tag rules\/app:1 already exists in target registry\.$/,
    );
    expect(await tagDigest('rules/app', '1')).toBe(first.digest);
    expect(await tagDigest('rules/app', 'fresh')).toBeNull();
    expect((await backendManifest(target(), 'rules/app', second.digest)).status).toBe(404);

    const same = await importAndWait(bed, client, token, {
      source: src(first),
      targetTags: ['rules/app:1', 'rules/app:also'],
      mode: 'NoForce',
    });
    expect(same.status).toBe(200);
    expect(await tagDigest('rules/app', 'also')).toBe(first.digest);

    const forced = await importAndWait(bed, client, token, {
      source: src(second),
      targetTags: ['rules/app:1'],
      mode: 'Force',
    });
    expect(forced.status).toBe(200);
    expect(await tagDigest('rules/app', '1')).toBe(second.digest);
    await expectComplete('rules/app', second);
  });
});

describe('import answers and fault switches', () => {
  const hubImage = (): { registryUri: string; sourceImage: string } => {
    const img = image(bed.sources.hub.images, 'ociSingle');
    return { registryUri: bed.sources.hub.host, sourceImage: `${img.repository}:${img.tag}` };
  };

  it('answers 202 with an absolute Location, Retry-After 10 and the client request id as operation id', async () => {
    const requestId = randomUUID();
    const reply = await armImport(
      bed,
      client,
      token,
      { source: hubImage(), targetTags: ['answers/a:1'] },
      {
        headers: { 'x-ms-client-request-id': requestId },
        apiVersion: '2025-04-01',
      },
    );
    expect(reply.status).toBe(202);
    expect(reply.text).toBe('');
    expect(reply.headers['retry-after']).toBe('10');
    expect(reply.headers['location']).toBe(
      `${bed.arm.endpoint}/subscriptions/${bed.subscriptions.main}/providers/Microsoft.ContainerRegistry/locations/WESTEUROPE/operationResults/registries-${requestId}?api-version=2025-04-01`,
    );
    const location = reply.headers['location'] ?? '';
    expect((await client.request(location)).status).toBe(401);
    const foreign = await entraToken(bed, client, { principal: 'foreign' });
    expect((await client.request(location, { headers: { authorization: `Bearer ${foreign}` } })).status).toBe(
      401,
    );
    const done = await pollUntilDone(client, token, location);
    expect([done.status, done.text]).toEqual([200, '']);
  });

  it('answers 200 at once under syncThresholdMs', async () => {
    await bed.control.setFaults({ syncThresholdMs: 10_000 });
    const reply = await armImport(bed, client, token, { source: hubImage(), targetTags: ['answers/sync:1'] });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
    expect(reply.headers['location']).toBeUndefined();
    expect(await tagDigest('answers/sync', '1')).toBe(image(bed.sources.hub.images, 'ociSingle').digest);

    // A failure within the threshold is an error status with the ARM error body, whatever failureForm says.
    await bed.control.setFaults({ failImports: { count: 1, code: 'InvalidParameters', message: 'nope' } });
    const failed = await armImport(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/sync:2'],
    });
    expect([failed.status, failed.json()]).toEqual([
      400,
      { error: { code: 'InvalidParameters', message: 'nope' } },
    ]);
  });

  it.each([
    [3, '3'],
    ['none', undefined],
  ] as const)('sends Retry-After %s', async (retryAfter, header) => {
    await bed.control.setFaults({ retryAfter });
    const reply = await armImport(bed, client, token, { source: hubImage(), targetTags: ['answers/ra:1'] });
    expect(reply.headers['retry-after']).toBe(header);
  });

  it('sends Retry-After as an HTTP date', async () => {
    await bed.control.setFaults({ retryAfter: 'http-date', hangImports: true });
    const reply = await armImport(bed, client, token, { source: hubImage(), targetTags: ['answers/date:1'] });
    const date = Date.parse(reply.headers['retry-after'] ?? '');
    expect(date).toBeGreaterThan(Date.now());
    const poll = await client.request(reply.headers['location'] ?? '', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(Date.parse(poll.headers['retry-after'] ?? '')).toBeGreaterThan(Date.now());
  });

  it('keeps a hung import at 202 with a small body, and never copies', async () => {
    await bed.control.setFaults({ hangImports: true });
    const reply = await armImport(bed, client, token, { source: hubImage(), targetTags: ['answers/hung:1'] });
    expect(reply.status).toBe(202);
    await sleep(400);
    const poll = await client.request(reply.headers['location'] ?? '', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(poll.status).toBe(202);
    expect(poll.text).toBe('{"status":"Accepted"}');
    expect(poll.headers['location']).toBe(reply.headers['location']);
    expect(await tagDigest('answers/hung', '1')).toBeNull();
  });

  it('holds the operation open for importLatencyMs after the copy', async () => {
    await bed.control.setFaults({ importLatencyMs: 700 });
    const started = Date.now();
    const reply = await armImport(bed, client, token, { source: hubImage(), targetTags: ['answers/slow:1'] });
    await sleep(300);
    const early = await client.request(reply.headers['location'] ?? '', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(early.status).toBe(202);
    const done = await pollUntilDone(client, token, reply.headers['location'] ?? '');
    expect(done.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('fails imports on demand in both forms, without touching the target', async () => {
    await bed.control.setFaults({
      failImports: { count: 2, code: 'InvalidParameters', message: 'Error copying blobs' },
    });
    const asStatus = await importAndWait(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/fail:1'],
    });
    expect(asStatus.status).toBe(200);
    expect(asStatus.json()).toEqual({
      status: 'Failed',
      error: { code: 'InvalidParameters', message: 'Error copying blobs' },
    });

    await bed.control.setFaults({ failureForm: 'http' });
    const asHttp = await importAndWait(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/fail:1'],
    });
    expect(asHttp.status).toBe(400);
    expect(asHttp.json()).toEqual({ error: { code: 'InvalidParameters', message: 'Error copying blobs' } });
    expect(await tagDigest('answers/fail', '1')).toBeNull();

    const third = await importAndWait(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/fail:1'],
    });
    expect(third.status).toBe(200);
    expect(third.text).toBe('');

    await bed.control.setFaults({
      failImports: { count: 1, code: '', message: 'no code' },
      failureForm: 'status',
    });
    const noCode = await importAndWait(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/fail:2'],
    });
    expect(noCode.json()).toEqual({ status: 'Failed', error: { message: 'no code' } });
  });

  it('answers a 5xx once at the poll URL with serverError poll', async () => {
    await bed.control.setFaults({
      serverError: { service: 'poll', count: 1, status: 503 },
      importLatencyMs: 200,
    });
    const reply = await armImport(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/poll5xx:1'],
    });
    expect(reply.status).toBe(202);
    const first = await client.request(reply.headers['location'] ?? '', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(first.status).toBe(503);
    expect((first.json() as { error: { code: string } }).error.code).toBe('ServiceUnavailable');
    expect((await pollUntilDone(client, token, reply.headers['location'] ?? '')).status).toBe(200);
  });

  it('offers the Azure-AsyncOperation header and the spec-shaped Location on demand', async () => {
    await bed.control.setFaults({ asyncOperationHeader: true, locationForm: 'spec', importLatencyMs: 300 });
    const reply = await armImport(bed, client, token, {
      source: hubImage(),
      targetTags: ['answers/async:1'],
    });
    expect(reply.headers['location']).toMatch(
      /\/resourceGroups\/rg-app\/providers\/Microsoft\.ContainerRegistry\/locations\/westeurope\/operationResults\/operationStatuses\/registries-[0-9a-f-]{36}\?api-version=2023-07-01$/,
    );
    const statusUrl = reply.headers['azure-asyncoperation'] ?? '';
    const running = await client.request(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(running.json()).toMatchObject({ status: 'InProgress' });
    await pollUntilDone(client, token, reply.headers['location'] ?? '');
    const done = await client.request(statusUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(done.json()).toMatchObject({ status: 'Succeeded', endTime: expect.any(String) as unknown });
  });
});
