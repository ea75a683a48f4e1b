/**
 * The bed's OCI client, seeding and copyImage against real registries (no emulator: the hub is read with tokens the
 * bed signs itself). Every check reads back with a fresh client, as an independent witness.
 */
import { gunzipSync } from 'node:zlib';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import {
  copyImage,
  isDigest,
  MEDIA_TYPES,
  parseChallenge,
  RegistryClient,
  sha256Digest,
  type Manifest,
} from '../../testbed/oci.js';
import { buildImage, describeImage, SEED_PLAN, type SeedTarget } from '../../testbed/seed.js';
import type { SeededImage } from '../../testbed/types.js';

describe('parseChallenge', () => {
  test.each([
    [
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull',
        },
      },
    ],
    ['Basic realm="private-registry"', { scheme: 'basic', params: { realm: 'private-registry' } }],
    [
      'bearer realm=https://x/token, service=svc',
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'svc' } },
    ],
    [
      'Bearer realm="https://x/token",scope="repository:a:pull repository:b:pull"',
      {
        scheme: 'bearer',
        params: { realm: 'https://x/token', scope: 'repository:a:pull repository:b:pull' },
      },
    ],
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });

  test('isDigest', () => {
    expect(isDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(isDigest('latest')).toBe(false);
    expect(isDigest('v1.2.3')).toBe(false);
  });
});

describe('seeded images and copyImage', () => {
  let bed: StartedBed;
  const clients: RegistryClient[] = [];
  /** A fresh client (new connection pool, no cached tokens) for a registry of the bed. */
  const fresh = (name: string): RegistryClient => {
    const registry = bed.registries[name];
    if (!registry) throw new Error(`no registry ${name}`);
    const client = new RegistryClient({
      url: registry.url,
      ca: bed.caPem,
      ...(name === 'hub' ? { tokenProvider: bed.hubToken } : {}),
      ...(name === 'private'
        ? { username: bed.sources.private.username ?? '', password: bed.sources.private.password ?? '' }
        : {}),
    });
    clients.push(client);
    return client;
  };
  const image = (images: Record<string, SeededImage>, key: string): SeededImage => {
    const found = images[key];
    if (!found) throw new Error(`no seeded image ${key}`);
    return found;
  };

  beforeAll(async () => {
    bed = await startBed({ emulator: false });
    console.log(`bed without emulator started in ${bed.timings.totalMs} ms`, bed.timings);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await bed?.stop();
  });

  test('every seeded image reads back with the recorded digests', async () => {
    const seededIn: [SeedTarget, Record<string, SeededImage>][] = [
      ['hub', bed.sources.hub.images],
      ['mcr', bed.sources.mcr.images],
      ['private', bed.sources.private.images],
      ['source', bed.acrs.source.images],
      ['locked', bed.acrs.locked.images],
      ['otherSub', bed.acrs.otherSub.images],
      ['otherTenant', bed.acrs.otherTenant.images],
    ];
    for (const [name, images] of seededIn) {
      expect(Object.keys(images).sort()).toEqual(SEED_PLAN[name].map((s) => s.key).sort());
      const client = fresh(name);
      for (const seeded of Object.values(images)) {
        const top = await client.getManifest(seeded.repository, seeded.tag);
        expect(top.digest).toBe(seeded.digest);
        expect(top.headerDigest).toBe(seeded.digest);
        expect(top.mediaType).toBe(seeded.mediaType);
        for (const platform of seeded.platforms) {
          const child = await client.getManifest(seeded.repository, platform.digest);
          expect(child.mediaType).toBe(platform.mediaType);
        }
        for (const blob of seeded.blobs) {
          expect(sha256Digest(await client.getBlob(seeded.repository, blob))).toBe(blob);
        }
        expect(await client.listTags(seeded.repository)).toContain(seeded.tag);
      }
    }
    expect(await fresh('target').listTags('library/hello')).toEqual([]);
  });

  test('seeded content is deterministic: digests equal a fresh in-memory build', () => {
    for (const spec of SEED_PLAN.hub) {
      const seeded = image(bed.sources.hub.images, spec.key);
      expect(describeImage(buildImage({ ...spec }))).toEqual(seeded);
    }
  });

  test('the seed covers what the suites need', () => {
    const hub = bed.sources.hub.images;
    expect(image(hub, 'multiArch')).toMatchObject({
      repository: 'library/hello',
      mediaType: MEDIA_TYPES.ociIndex,
    });
    expect(image(hub, 'multiArch').platforms.map((p) => p.platform)).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
    ]);
    expect(image(hub, 'multiArchV1')).toMatchObject({ repository: 'library/hello', tag: 'v1' });
    expect(image(hub, 'multiArchV1').digest).not.toBe(image(hub, 'multiArch').digest);
    expect(image(hub, 'manifestList').mediaType).toBe(MEDIA_TYPES.dockerList);
    expect(
      image(hub, 'manifestList').platforms.every((p) => p.mediaType === MEDIA_TYPES.dockerManifest),
    ).toBe(true);
    expect(image(hub, 'ociSingle').mediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(image(hub, 'dockerSingle').mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(image(hub, 'helm').mediaType).toBe(MEDIA_TYPES.ociManifest);
    for (let i = 0; i < 10; i++) expect(image(hub, `bench${i}`).repository).toBe(`bench/img${i}`);
    expect(image(bed.acrs.source.images, 'multiArch').platforms).toHaveLength(2);
    expect(image(bed.acrs.otherTenant.images, 'manifestList').platforms).toHaveLength(2);
  });

  test('bench images carry one layer of about 1 MiB', async () => {
    const client = fresh('hub');
    const bench = image(bed.sources.hub.images, 'bench3');
    const manifest = await client.getManifest(bench.repository, bench.tag);
    expect(manifest.json.layers).toHaveLength(1);
    const size = manifest.json.layers?.[0]?.size ?? 0;
    expect(size).toBeGreaterThan(1000 * 1024);
    expect(size).toBeLessThan(1100 * 1024);
  });

  /** Reads an image back from the target's backing registry with a fresh client and checks every digest. */
  async function expectSameImage(repository: string, ref: string, seeded: SeededImage): Promise<Manifest> {
    const witness = fresh('target');
    const top = await witness.getManifest(repository, ref);
    expect(top.digest).toBe(seeded.digest);
    expect(top.mediaType).toBe(seeded.mediaType);
    const children = top.json.manifests ?? [];
    expect(children.map((c) => c.digest)).toEqual(seeded.platforms.map((p) => p.digest));
    const blobs = new Set<string>();
    for (const child of children) {
      const manifest = await witness.getManifest(repository, child.digest);
      expect(manifest.digest).toBe(child.digest);
      expect(manifest.mediaType).toBe(child.mediaType);
      for (const d of [manifest.json.config, ...(manifest.json.layers ?? [])]) if (d) blobs.add(d.digest);
    }
    for (const d of [top.json.config, ...(top.json.layers ?? [])]) if (d) blobs.add(d.digest);
    expect([...blobs].sort()).toEqual([...seeded.blobs].sort());
    for (const digest of blobs) expect(sha256Digest(await witness.getBlob(repository, digest))).toBe(digest);
    return top;
  }

  test('copyImage copies an OCI index with every platform, byte for byte', async () => {
    const seeded = image(bed.sources.hub.images, 'multiArch');
    const result = await copyImage(
      fresh('hub'),
      seeded.repository,
      seeded.tag,
      fresh('target'),
      'mirror/hello',
    );
    expect(result.digest).toBe(seeded.digest);
    expect(result.tags).toEqual([seeded.tag]);
    expect(result.manifests).toHaveLength(3);
    expect(result.manifests.at(-1)).toBe(seeded.digest);
    expect(result.blobsCopied.sort()).toEqual([...seeded.blobs].sort());
    await expectSameImage('mirror/hello', seeded.tag, seeded);
    await expectSameImage('mirror/hello', seeded.digest, seeded);

    // A second copy finds everything in place and only moves tags.
    const again = await copyImage(
      fresh('hub'),
      seeded.repository,
      seeded.digest,
      fresh('target'),
      'mirror/hello',
      {
        tags: ['stable', 'v1'],
      },
    );
    expect(again.blobsCopied).toEqual([]);
    expect(again.tags).toEqual(['stable', 'v1']);
    expect((await fresh('target').listTags('mirror/hello')).sort()).toEqual(['latest', 'stable', 'v1']);
  });

  test('copyImage copies a Docker manifest list from a Basic-auth registry, byte for byte', async () => {
    const seeded = image(bed.sources.private.images, 'manifestList');
    const result = await copyImage(
      fresh('private'),
      seeded.repository,
      seeded.tag,
      fresh('target'),
      'team/app',
      {
        tags: ['imported'],
      },
    );
    expect(result.digest).toBe(seeded.digest);
    expect(result.mediaType).toBe(MEDIA_TYPES.dockerList);
    await expectSameImage('team/app', 'imported', seeded);
  });

  test('copyImage by digest with untagged leaves no tag', async () => {
    const seeded = image(bed.acrs.source.images, 'multiArch');
    const result = await copyImage(
      fresh('source'),
      seeded.repository,
      seeded.digest,
      fresh('target'),
      'untagged/web',
      {
        untagged: true,
      },
    );
    expect(result.tags).toEqual([]);
    expect(await fresh('target').listTags('untagged/web')).toEqual([]);
    await expectSameImage('untagged/web', seeded.digest, seeded);
  });

  test('the Helm chart keeps its media types and its chart archive', async () => {
    const seeded = image(bed.sources.hub.images, 'helm');
    await copyImage(fresh('hub'), seeded.repository, seeded.tag, fresh('target'), 'charts/hello-chart');
    const top = await expectSameImage('charts/hello-chart', seeded.tag, seeded);
    expect(top.json.config?.mediaType).toBe(MEDIA_TYPES.helmConfig);
    expect(top.json.layers?.map((l) => l.mediaType)).toEqual([MEDIA_TYPES.helmChart]);
    const config = JSON.parse(
      (await fresh('target').getBlob('charts/hello-chart', top.json.config?.digest ?? '')).toString(),
    );
    expect(config).toMatchObject({ name: 'hello-chart', version: '0.1.0', apiVersion: 'v2' });
    const chart = gunzipSync(
      await fresh('target').getBlob('charts/hello-chart', top.json.layers?.[0]?.digest ?? ''),
    );
    expect(chart.subarray(0, 100).toString('utf8').replace(/\0+$/, '')).toBe('hello-chart/Chart.yaml');
    expect(chart.toString('utf8')).toContain('name: hello-chart');
  });

  test('a missing source manifest fails with the registry error', async () => {
    await expect(
      copyImage(fresh('mcr'), 'dotnet/runtime', 'no-such-tag', fresh('target'), 'x/y'),
    ).rejects.toMatchObject({
      status: 404,
      code: 'MANIFEST_UNKNOWN',
    });
    expect(await bed.digestOf(bed.acrs.source, 'app/web', 'no-such-tag')).toBeUndefined();
    const web = image(bed.acrs.source.images, 'multiArch');
    expect(await bed.digestOf(bed.acrs.source, web.repository, web.tag)).toBe(web.digest);
  });
});
