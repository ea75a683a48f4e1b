/**
 * Idempotent re-runs decided by digest, and the promotion gates of issue 4: `expected-digest`, `platform`,
 * `dry-run`, `lock-file` and `locked: true` (drift fails the run before any import). Through the bundle, against the
 * bed; tags are moved on the hub registry between runs with the bed's push tokens.
 */
import { startBed, type StartedBed } from '../../testbed/bed.js';
import { copyImage, RegistryClient } from '../../testbed/oci.js';
import { runAction } from '../../testbed/run-action.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  importBodies,
  importCalls,
  readWorkspaceFile,
  results,
  warnings,
} from './scenario-helpers.js';

let bed: StartedBed;
let hubWriter: RegistryClient;

beforeAll(async () => {
  bed = await startBed();
  hubWriter = new RegistryClient({ url: bed.sources.hub.url, ca: bed.caPem, tokenProvider: bed.hubToken });
});

afterAll(async () => {
  await hubWriter?.close();
  await bed?.stop();
});

beforeEach(async () => {
  await bed.control.reset();
});

const hub = (): StartedBed['sources']['hub'] => bed.sources.hub;
const src = (key: string): string => {
  const image = hub().images[key]!;
  return `${hub().host}/${image.repository}:${image.tag}`;
};
const digest = (key: string): string => hub().images[key]!.digest;

describe('idempotent re-runs, decided by digest', () => {
  it('unchanged, conflict and imported without force; unchanged and updated with force', async () => {
    expectSuccess(
      await runAction(bed, {
        ...bed.baseInputs(),
        images: `${src('ociSingle')} -> i/a:1\n${src('dockerSingle')} -> i/b:1`,
      }),
    );
    await bed.control.clearRequests();

    const images = [
      `${src('ociSingle')} -> i/a:1`, // same digest: nothing to do
      `${src('manifestList')} -> i/b:1`, // i/b:1 holds another image
      `${src('helm')} -> i/c:1`, // new
    ].join('\n');
    const plain = await runAction(bed, { ...bed.baseInputs(), images });
    expectFailure(plain);
    expect(results(plain).map((r) => r.status)).toEqual(['unchanged', 'failed', 'imported']);
    const text = failureText(plain);
    expect(text).toContain('1 of 3 images failed');
    expect(text).toContain(`i/b:1 (now ${digest('dockerSingle')})`);
    expect(text).toContain(`another image than ${digest('manifestList')}`);
    expect(text).toContain(
      `Landed:\n- ${src('ociSingle')} -> ${bed.acrs.target.loginServer}/i/a:1: unchanged ${digest('ociSingle')}\n- ${src('helm')} -> ${bed.acrs.target.loginServer}/i/c:1: imported`,
    );
    // Only the new image was imported: no call for the unchanged one, none for the conflict.
    expect((await importBodies(bed)).map((b) => b.targetTags)).toEqual([['i/c:1']]);
    expect(await bed.digestOf(bed.acrs.target, 'i/b', '1')).toBe(digest('dockerSingle'));
    expect(plain.summary).toContain('unchanged');
    await bed.control.clearRequests();

    const forced = await runAction(bed, { ...bed.baseInputs(), images, force: 'true' });
    expectSuccess(forced);
    expect(results(forced).map((r) => r.status)).toEqual(['unchanged', 'updated', 'unchanged']);
    expect(await importBodies(bed)).toEqual([
      expect.objectContaining({ targetTags: ['i/b:1'], mode: 'Force' }),
    ]);
    expect(await bed.digestOf(bed.acrs.target, 'i/a', '1')).toBe(digest('ociSingle'));
    expect(await bed.digestOf(bed.acrs.target, 'i/b', '1')).toBe(digest('manifestList'));
    expect(await bed.digestOf(bed.acrs.target, 'i/c', '1')).toBe(digest('helm'));
    expect(forced.summary).toContain('🔄 updated');
    expect(forced.summary).toContain('⏸️ unchanged');
  });
});

describe('expected-digest', () => {
  it('imports when the source still resolves to the tested digest, and fails before importing when it does not', async () => {
    const good = await runAction(bed, {
      ...bed.baseInputs(),
      source: src('multiArch'),
      'target-tags': 'e/hello:tested',
      'expected-digest': digest('multiArch'),
    });
    expectSuccess(good);
    expect(await bed.digestOf(bed.acrs.target, 'e/hello', 'tested')).toBe(digest('multiArch'));
    await bed.control.clearRequests();

    const bad = await runAction(bed, {
      ...bed.baseInputs(),
      source: src('multiArch'),
      'target-tags': 'e/hello:promoted',
      'expected-digest': digest('multiArchV1'),
    });
    expectFailure(bad);
    const text = failureText(bad);
    expect(text).toContain(
      `now resolves to ${digest('multiArch')}, not to the expected ${digest('multiArchV1')}`,
    );
    expect(text).toContain('promote the tested digest');
    expect(await importCalls(bed)).toHaveLength(0);
    expect(await bed.digestOf(bed.acrs.target, 'e/hello', 'promoted')).toBeUndefined();
  });
});

describe('platform', () => {
  it("imports only that platform's manifest by its digest, and warns that it is not the index digest", async () => {
    const image = hub().images['multiArch']!;
    const amd64 = image.platforms.find((p) => p.platform === 'linux/amd64')!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: src('multiArch'),
      'target-tags': 'pf/hello:amd64',
      platform: 'linux/amd64',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 'pf/hello', 'amd64')).toBe(amd64.digest);
    expect(await bed.digestOf(bed.acrs.target, 'pf/hello', image.digest)).toBeUndefined();
    expect(run.outputs['digest']).toBe(amd64.digest);
    expect((await importBodies(bed))[0]!.source.sourceImage).toBe(`${image.repository}@${amd64.digest}`);
    expect(run.summary).toContain(`Imported only linux/amd64: digest ${amd64.digest}`);
    expect(run.summary).toContain(`not the index digest ${image.digest}`);
  });

  it('names the platforms there are when the index lacks the one asked for', async () => {
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: src('multiArch'),
      'target-tags': 'pf/hello:s390x',
      platform: 'linux/s390x',
    });
    expectFailure(run);
    expect(failureText(run)).toContain(
      'has no linux/s390x manifest (platforms: linux/amd64, linux/arm64/v8)',
    );
    expect(await importCalls(bed)).toHaveLength(0);
  });
});

describe('dry-run', () => {
  it('resolves, reads the target, prints the plan in outputs and summary, and never calls importImage', async () => {
    expectSuccess(
      await runAction(bed, {
        ...bed.baseInputs(),
        images: `${src('ociSingle')} -> d/a:1\n${src('dockerSingle')} -> d/c:1`,
      }),
    );
    await bed.control.clearRequests();
    const images = [
      `${src('ociSingle')} -> d/a:1`, // unchanged
      `${src('manifestList')} -> d/n:1`, // import
      `${src('helm')} -> d/c:1`, // d/c:1 holds another image: fail without force, update with it
    ].join('\n');

    const plan = await runAction(bed, { ...bed.baseInputs(), images, 'dry-run': 'true' });
    expectFailure(plan);
    const all = results(plan);
    expect(all.map((r) => [r.status, r.plan])).toEqual([
      ['planned', 'unchanged'],
      ['planned', 'import'],
      ['failed', 'fail'],
    ]);
    expect(all[1]!.targets).toEqual([
      { ref: `${bed.acrs.target.loginServer}/d/n:1`, digest: digest('manifestList') },
    ]);
    // The plan lists the platforms too, read from the source.
    expect(all[1]!.platforms.map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(failureText(plan)).toContain(`d/c:1 (now ${digest('dockerSingle')})`);
    expect(plan.summary).toContain('## ACR import plan (dry run)');
    expect(plan.summary).toContain('📝 planned (unchanged)');
    expect(plan.summary).toContain('📝 planned (import)');
    expect(plan.summary).toContain('❌ failed (fail)');
    expect(plan.outputs['digest']).toBe(digest('ociSingle'));
    expect(await importCalls(bed)).toHaveLength(0);
    expect(await bed.digestOf(bed.acrs.target, 'd/n', '1')).toBeUndefined();
    // It did reach ARM and the target registry (the same calls a real run makes before importing).
    expect((await bed.control.requests({ service: `acr:${bed.acrs.target.name}` })).length).toBeGreaterThan(
      0,
    );
    await bed.control.clearRequests();

    const forced = await runAction(bed, { ...bed.baseInputs(), images, 'dry-run': 'true', force: 'true' });
    expectSuccess(forced);
    expect(results(forced).map((r) => r.plan)).toEqual(['unchanged', 'import', 'update']);
    expect(forced.summary).toContain('📝 planned (update)');
    expect(await importCalls(bed)).toHaveLength(0);
    expect(await bed.digestOf(bed.acrs.target, 'd/c', '1')).toBe(digest('dockerSingle'));
  });
});

describe('lock-file and locked', () => {
  interface Lock {
    version: number;
    registry: string;
    images: {
      source: string;
      digest: string;
      mediaType: string;
      platforms: { platform: string; digest: string }[];
      targets: { ref: string; digest: string }[];
    }[];
  }

  it('writes each source with its digest, targets and platforms, in a stable order', async () => {
    const mcr = bed.sources.mcr;
    const runtime = mcr.images['multiArch']!;
    const lineA = `${src('ociSingle')} -> l/alpine:3.20`;
    const lineB = `${mcr.host}/${runtime.repository}:${runtime.tag} -> l/runtime:8.0, l/runtime:8`;
    const first = await runAction(bed, {
      ...bed.baseInputs(),
      images: `${lineB}\n${lineA}`,
      'lock-file': 'locks/images.lock.json',
    });
    expectSuccess(first);
    expect(first.stdout).toContain('Wrote lock file');
    const text1 = await readWorkspaceFile(bed, 'locks/images.lock.json');

    // The same images in another order (now unchanged): the same bytes.
    const second = await runAction(bed, {
      ...bed.baseInputs(),
      images: `${lineA}\n${lineB}`,
      'lock-file': 'locks/again.lock.json',
    });
    expectSuccess(second);
    expect(results(second).map((r) => r.status)).toEqual(['unchanged', 'unchanged']);
    expect(await readWorkspaceFile(bed, 'locks/again.lock.json')).toBe(text1);

    const lock = JSON.parse(text1) as Lock;
    const login = bed.acrs.target.loginServer;
    expect(lock).toEqual({
      version: 1,
      registry: login,
      images: [
        {
          source: `${mcr.host}/${runtime.repository}:${runtime.tag}`,
          digest: runtime.digest,
          mediaType: runtime.mediaType,
          platforms: runtime.platforms.map((p) => ({ platform: p.platform, digest: p.digest })),
          targets: [
            { ref: `${login}/l/runtime:8`, digest: runtime.digest },
            { ref: `${login}/l/runtime:8.0`, digest: runtime.digest },
          ],
        },
        {
          source: src('ociSingle'),
          digest: digest('ociSingle'),
          mediaType: hub().images['ociSingle']!.mediaType,
          platforms: [],
          targets: [{ ref: `${login}/l/alpine:3.20`, digest: digest('ociSingle') }],
        },
      ].sort((a, b) => a.source.localeCompare(b.source)),
    });
    // Every digest the lock file claims is what the target holds.
    expect(await bed.digestOf(bed.acrs.target, 'l/runtime', '8')).toBe(runtime.digest);
    expect(await bed.digestOf(bed.acrs.target, 'l/alpine', '3.20')).toBe(digest('ociSingle'));
    expect(text1.endsWith('}\n')).toBe(true);
  });

  it('locked: true imports what the lock file says; after the source moves, the run fails before any import', async () => {
    // A tag of our own on the hub, which this test moves.
    await copyImage(hubWriter, 'library/alpine', '3.20', hubWriter, 'drift/app', { tags: ['stable'] });
    const moving = `${hub().host}/drift/app:stable`;
    const mcr = bed.sources.mcr;
    const hello = mcr.images['dockerSingle']!;
    const images = `${moving} -> dr/app:stable\n${mcr.host}/${hello.repository}:${hello.tag} -> dr/hello:latest`;
    const lockInputs = { ...bed.baseInputs(), images, 'lock-file': 'drift.lock.json' };

    // A dry run writes the lock file without importing anything: review it, commit it.
    const plan = await runAction(bed, { ...lockInputs, 'dry-run': 'true' });
    expectSuccess(plan);
    expect(await importCalls(bed)).toHaveLength(0);
    const locked = await readWorkspaceFile(bed, 'drift.lock.json');
    expect((JSON.parse(locked) as Lock).images.map((i) => [i.source, i.digest])).toEqual(
      [
        [`${mcr.host}/${hello.repository}:${hello.tag}`, hello.digest],
        [moving, digest('ociSingle')],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );

    const ok = await runAction(bed, { ...lockInputs, locked: 'true' });
    expectSuccess(ok);
    expect(ok.stdout).toContain('All 2 sources match the lock file.');
    expect(await bed.digestOf(bed.acrs.target, 'dr/app', 'stable')).toBe(digest('ociSingle'));
    expect(await bed.digestOf(bed.acrs.target, 'dr/hello', 'latest')).toBe(hello.digest);
    expect(await readWorkspaceFile(bed, 'drift.lock.json')).toBe(locked);

    // Someone pushes another image under the same tag.
    await copyImage(hubWriter, 'library/debian', '12', hubWriter, 'drift/app', { tags: ['stable'] });
    await bed.control.clearRequests();

    const drifted = await runAction(bed, { ...lockInputs, locked: 'true', force: 'true' });
    expectFailure(drifted);
    const text = failureText(drifted);
    expect(text).toContain('2 of 2 images failed');
    expect(text).toContain(
      `${moving} now resolves to ${digest('dockerSingle')}, the lock file says ${digest('ociSingle')}.`,
    );
    expect(text).toContain(`Not imported: 1 source drifted from the lock file (${moving})`);
    expect(text).toContain('update the lock file');
    expect(await importCalls(bed)).toHaveLength(0);
    expect(await bed.digestOf(bed.acrs.target, 'dr/app', 'stable')).toBe(digest('ociSingle'));
    expect(await readWorkspaceFile(bed, 'drift.lock.json')).toBe(locked);
    expect(results(drifted).map((r) => r.status)).toEqual(['failed', 'failed']);
  });

  it('locked: true without the lock file fails before any request, naming lock-file', async () => {
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: src('ociSingle'),
      'lock-file': 'missing/images.lock.json',
      locked: 'true',
    });
    expectFailure(run);
    expect(failureText(run)).toContain('lock-file: cannot be read with locked: true');
    expect(failureText(run)).toContain('"missing/images.lock.json"');
    expect(await bed.control.requests()).toHaveLength(0);
  });

  it('is not written when an image failed, so it never records half a run', async () => {
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      images: `${src('ociSingle')} -> h/alpine:1\n${hub().host}/library/nope:1 -> h/nope:1`,
      'lock-file': 'half.lock.json',
    });
    expectFailure(run);
    expect(warnings(run)).toContain('not written: 1 of 2 images failed');
    await expect(readWorkspaceFile(bed, 'half.lock.json')).rejects.toThrow('ENOENT');
  });
});
