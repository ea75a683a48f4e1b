/**
 * Many images in one step (issue 4): the `images` input and `images-file` (YAML and JSON, with per-image platform,
 * expected-digest and untagged-repositories), concurrency bounded by `max-parallel`, one sign-in and one target
 * lookup for the whole run, and one failure that does not stop the others. Through the bundle, against the bed.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { EMULATOR_ARM_AUDIENCE } from '../../testbed/emulator/state.js';
import { useBed } from '../bed-hooks.js';
import { runAction } from '../../testbed/run-action.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  importBodies,
  importCalls,
  maxOverlap,
  operations,
  results,
  writeWorkspaceFile,
} from './scenario-helpers.js';

let bed: StartedBed;

useBed((started) => {
  bed = started;
});

describe('the images input', () => {
  it('imports one image per line, with comments, blank lines, several targets and a default target', async () => {
    const hub = bed.sources.hub;
    const mcr = bed.sources.mcr;
    const alpine = hub.images['ociSingle']!;
    const hello = mcr.images['dockerSingle']!;
    const busybox = hub.images['manifestList']!;
    const images = [
      '# base images for the app',
      `${hub.host}/${alpine.repository}:${alpine.tag} -> m/alpine:3.20, m/alpine:3`,
      '',
      `${mcr.host}/${hello.repository}:${hello.tag}   # same repository and tag in the target`,
      `  ${hub.host}/${busybox.repository}:${busybox.tag} -> m/busybox:1.36`,
      '',
    ].join('\n');
    const run = await runAction(bed, { ...bed.baseInputs(), images });
    expectSuccess(run);

    const target = bed.acrs.target;
    expect(await bed.digestOf(target, 'm/alpine', '3.20')).toBe(alpine.digest);
    expect(await bed.digestOf(target, 'm/alpine', '3')).toBe(alpine.digest);
    expect(await bed.digestOf(target, hello.repository, hello.tag)).toBe(hello.digest);
    expect(await bed.digestOf(target, 'm/busybox', '1.36')).toBe(busybox.digest);

    // digest: the first image's; images: one pinned reference per target repository; results: all, in order.
    expect(run.outputs['digest']).toBe(alpine.digest);
    expect(run.outputs['images']?.split('\n').sort()).toEqual(
      [
        `${target.loginServer}/m/alpine@${alpine.digest}`,
        `${target.loginServer}/${hello.repository}@${hello.digest}`,
        `${target.loginServer}/m/busybox@${busybox.digest}`,
      ].sort(),
    );
    const all = results(run);
    expect(all.map((r) => [r.source, r.status, r.sourceDigest])).toEqual([
      [`${hub.host}/${alpine.repository}:${alpine.tag}`, 'imported', alpine.digest],
      [`${mcr.host}/${hello.repository}:${hello.tag}`, 'imported', hello.digest],
      [`${hub.host}/${busybox.repository}:${busybox.tag}`, 'imported', busybox.digest],
    ]);
    expect(all[0]!.targets.map((t) => t.ref)).toEqual([
      `${target.loginServer}/m/alpine:3.20`,
      `${target.loginServer}/m/alpine:3`,
    ]);
    expect(run.summary).toContain('ACR import: 3 images done');
    for (const ref of ['m/alpine:3.20', 'm/alpine:3', `${hello.repository}:${hello.tag}`, 'm/busybox:1.36']) {
      expect(run.summary).toContain(`${target.loginServer}/${ref}`);
    }

    // One ARM token (and one registry-audience token for the data plane), one lookup of the target, one ACR refresh
    // token for the target, for the whole run.
    const entra = (await bed.control.requests({ service: 'entra' })).filter((r) => r.method === 'POST');
    expect(entra.map((r) => new URLSearchParams(r.body).get('scope')).sort()).toEqual(
      // The ARM audience comes from the emulator cloud's /metadata/endpoints, not from its URL.
      [`${EMULATOR_ARM_AUDIENCE}/.default`, 'https://containerregistry.azure.net/.default'].sort(),
    );
    const arm = await bed.control.requests({ service: 'arm' });
    expect(arm.filter((r) => r.method === 'GET' && /\/registries\?/i.test(r.url))).toHaveLength(1);
    const plane = await bed.control.requests({ service: `acr:${target.name}` });
    expect(plane.filter((r) => r.url === '/oauth2/exchange')).toHaveLength(1);
    expect(await importCalls(bed)).toHaveLength(3);
  });
});

describe('images-file', () => {
  it('reads YAML with per-image platform, expected-digest and untagged-repositories', async () => {
    const hub = bed.sources.hub;
    const hello = hub.images['multiArch']!;
    const arm64 = hello.platforms.find((p) => p.platform === 'linux/arm64/v8')!;
    const debian = hub.images['dockerSingle']!;
    await writeWorkspaceFile(
      bed,
      'deploy/images.yaml',
      [
        '# images promoted by this workflow',
        'images:',
        `  - source: ${hub.host}/${hello.repository}:${hello.tag}`,
        '    platform: linux/arm64/v8',
        '    targets: [y/hello:arm64]',
        `  - source: ${hub.host}/${debian.repository}:${debian.tag}`,
        `    expected-digest: ${debian.digest}`,
        '    targets:',
        '      - y/debian:12',
        '    untagged-repositories:',
        '      - y/archive',
        '',
      ].join('\n'),
    );
    const run = await runAction(bed, { ...bed.baseInputs(), 'images-file': 'deploy/images.yaml' });
    expectSuccess(run);

    const target = bed.acrs.target;
    expect(await bed.digestOf(target, 'y/hello', 'arm64')).toBe(arm64.digest);
    expect(await bed.digestOf(target, 'y/debian', '12')).toBe(debian.digest);
    expect(await bed.digestOf(target, 'y/archive', debian.digest)).toBe(debian.digest);
    const [first, second] = results(run);
    expect(first).toMatchObject({ status: 'imported', sourceDigest: arm64.digest });
    expect(first!.notes?.join(' ')).toContain(`not the index digest ${hello.digest}`);
    expect(second!.targets).toEqual([
      { ref: `${target.loginServer}/y/debian:12`, digest: debian.digest },
      { ref: `${target.loginServer}/y/archive`, digest: debian.digest },
    ]);
    expect(run.summary).toContain('Imported only linux/arm64/v8');
    const bodies = await importBodies(bed);
    expect(bodies.map((b) => b.source.sourceImage).sort()).toEqual(
      [`${hello.repository}@${arm64.digest}`, `${debian.repository}@${debian.digest}`].sort(),
    );
  });

  it('reads JSON; an entry whose source no longer matches its expected-digest fails alone, naming both digests', async () => {
    const mcr = bed.sources.mcr;
    const runtime = mcr.images['multiArch']!;
    const hello = mcr.images['dockerSingle']!;
    await writeWorkspaceFile(
      bed,
      'images.json',
      JSON.stringify(
        [
          {
            source: `${mcr.host}/${runtime.repository}:${runtime.tag}`,
            targets: ['j/runtime:8.0'],
            'expected-digest': hello.digest,
          },
          { source: `${mcr.host}/${hello.repository}:${hello.tag}`, targets: 'j/hello:1, j/hello:latest' },
        ],
        null,
        2,
      ),
    );
    const run = await runAction(bed, { ...bed.baseInputs(), 'images-file': 'images.json' });
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain('1 of 2 images failed');
    expect(text).toContain(
      `${mcr.host}/${runtime.repository}:${runtime.tag} now resolves to ${runtime.digest}`,
    );
    expect(text).toContain(`not to the expected ${hello.digest}`);
    expect(text).toMatch(
      new RegExp(
        `Landed:\\n- ${mcr.host}/${hello.repository}:${hello.tag} -> ${bed.acrs.target.loginServer}/j/hello:1, ${bed.acrs.target.loginServer}/j/hello:latest: imported ${hello.digest}`,
      ),
    );
    expect(await bed.digestOf(bed.acrs.target, 'j/runtime', '8.0')).toBeUndefined();
    expect(await bed.digestOf(bed.acrs.target, 'j/hello', '1')).toBe(hello.digest);
    expect(await bed.digestOf(bed.acrs.target, 'j/hello', 'latest')).toBe(hello.digest);
    expect(results(run).map((r) => r.status)).toEqual(['failed', 'imported']);
    expect((await importBodies(bed)).map((b) => b.targetTags)).toEqual([['j/hello:1', 'j/hello:latest']]);
    expect(run.summary).toContain('ACR import: 1 of 2 failed');
  });
});

describe('concurrency and failures', () => {
  /** Each import takes ~700 ms in Azure and ARM answers only when it is done, so overlaps show in the operations. */
  const slowSyncImports = { syncThresholdMs: 30_000, importLatencyMs: 700 };
  const benchLines = (from: number, to: number, prefix: string): string =>
    Array.from({ length: to - from }, (_, k) => {
      const i = from + k;
      return `${bed.sources.hub.host}/bench/img${i}:v1 -> ${prefix}/img${i}:v1`;
    }).join('\n');
  const ours = async (prefix: string): Promise<Awaited<ReturnType<typeof operations>>> =>
    (await operations(bed)).filter((o) => o.targetTags.some((t) => t.startsWith(`${prefix}/`)));

  it('runs at most max-parallel imports at once', async () => {
    await bed.control.setFaults(slowSyncImports);
    const two = await runAction(bed, {
      ...bed.baseInputs(),
      images: benchLines(0, 4, 'p2'),
      'max-parallel': '2',
    });
    expectSuccess(two);
    const opsTwo = await ours('p2');
    expect(opsTwo).toHaveLength(4);
    expect(maxOverlap(opsTwo)).toBe(2);

    const four = await runAction(bed, {
      ...bed.baseInputs(),
      images: benchLines(4, 8, 'p4'),
      'max-parallel': '4',
    });
    expectSuccess(four);
    const opsFour = await ours('p4');
    expect(opsFour).toHaveLength(4);
    expect(maxOverlap(opsFour)).toBe(4);
    for (let i = 0; i < 8; i++) {
      const prefix = i < 4 ? 'p2' : 'p4';
      expect(await bed.digestOf(bed.acrs.target, `${prefix}/img${i}`, 'v1')).toBe(
        bed.sources.hub.images[`bench${i}`]!.digest,
      );
    }
  });

  it('one failure does not stop the others; the step fails at the end listing what landed and what did not', async () => {
    const hub = bed.sources.hub;
    const alpine = hub.images['ociSingle']!;
    const debian = hub.images['dockerSingle']!;
    // The first import Azure runs fails (a source registry hiccup, reported by the operation); the others go on.
    await bed.control.setFaults({
      failImports: { count: 1, code: 'InvalidParameters', message: 'Error copying blobs' },
      retryAfter: 1,
    });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'max-parallel': '1',
      images: [
        `${hub.host}/${alpine.repository}:${alpine.tag} -> k/alpine:1`,
        `${hub.host}/library/nope:1 -> k/nope:1`,
        `${hub.host}/${debian.repository}:${debian.tag} -> k/debian:1`,
      ].join('\n'),
    });
    expectFailure(run);
    const text = failureText(run);
    expect(text).toContain('2 of 3 images failed:');
    expect(text).toContain(
      `- ${hub.host}/library/nope:1: Source image ${hub.host}/library/nope:1 was not found`,
    );
    expect(text).toContain(`- ${hub.host}/${alpine.repository}:${alpine.tag}: Import of`);
    expect(text).toContain('Error copying blobs');
    expect(text).toContain(
      `Landed:\n- ${hub.host}/${debian.repository}:${debian.tag} -> ${bed.acrs.target.loginServer}/k/debian:1: imported ${debian.digest}`,
    );
    expect(results(run).map((r) => r.status)).toEqual(['failed', 'failed', 'imported']);
    expect(await bed.digestOf(bed.acrs.target, 'k/alpine', '1')).toBeUndefined();
    expect(await bed.digestOf(bed.acrs.target, 'k/debian', '1')).toBe(debian.digest);
    // The missing source failed before any import call; the other two were submitted.
    expect((await importBodies(bed)).map((b) => b.targetTags)).toEqual([['k/alpine:1'], ['k/debian:1']]);
    // digest is the first image's, which did not land; images lists what did.
    expect(run.outputs['digest']).toBe('');
    expect(run.outputs['images']).toBe(`${bed.acrs.target.loginServer}/k/debian@${debian.digest}`);
    expect(run.summary).toContain('ACR import: 2 of 3 failed');
  });
});

describe('one token per registry for a batch (issue 11)', () => {
  const REPOS = [0, 1, 2, 3].map((k) => `bench/img${k}`);
  const tokenRequests = async (service: string): Promise<{ status: number; scopes: string[] }[]> =>
    (await bed.control.requests({ service }))
      // The action's own requests (the emulated import service asks the hub for tokens too).
      .filter((r) => r.headers['user-agent']?.startsWith('acr-import/'))
      .filter((r) => r.url.split('?')[0] === (service === 'hubauth' ? '/token' : '/oauth2/token'))
      .map((r) => {
        const params = new URLSearchParams(r.method === 'POST' ? r.body : r.url.split('?')[1]);
        return { status: r.status, scopes: params.getAll('scope').flatMap((s) => s.split(' ')) };
      });
  const targetTokens = (): Promise<{ status: number; scopes: string[] }[]> =>
    tokenRequests(`acr:${bed.acrs.target.name}`);

  /** Four images from four hub repositories into four target repositories, all at once; every digest checked. */
  const run4 = async (prefix: string): Promise<void> => {
    const hub = bed.sources.hub;
    const images = REPOS.map((repo, k) => `${hub.host}/${repo}:v1 -> ${prefix}/img${k}:1`).join('\n');
    const run = await runAction(bed, { ...bed.baseInputs(), images, 'max-parallel': '4' });
    expectSuccess(run);
    for (let k = 0; k < REPOS.length; k++) {
      expect(await bed.digestOf(bed.acrs.target, `${prefix}/img${k}`, '1')).toBe(
        hub.images[`bench${k}`]!.digest,
      );
    }
    expect(results(run).map((r) => r.status)).toEqual(['imported', 'imported', 'imported', 'imported']);
  };
  const targetScopes = (prefix: string): string[] => REPOS.map((_, k) => `repository:${prefix}/img${k}:pull`);
  const sourceScopes = REPOS.map((repo) => `repository:${repo}:pull`);

  it('asks each registry for one token covering the repositories the run reads there', async () => {
    await run4('tok1');
    expect(await targetTokens()).toEqual([{ status: 200, scopes: targetScopes('tok1') }]);
    // The source's first challenge is met once; the four repositories' tokens come from one request (rarely two,
    // should an image reach the registry a turn later).
    const hub = await tokenRequests('hubauth');
    expect(hub.length).toBeLessThan(REPOS.length);
    expect(hub.flatMap((r) => r.scopes).sort()).toEqual([...sourceScopes].sort());
  });

  it('asks per repository for what a token server granting only the first scope left out', async () => {
    await bed.control.setFaults({ tokenScopes: 'first' });
    await run4('tok2');
    const asked = await targetTokens();
    expect(asked[0]).toEqual({ status: 200, scopes: targetScopes('tok2') });
    // The other three repositories answered 401 to the shared token and got one each.
    expect(asked.slice(1).map((r) => r.scopes)).toHaveLength(3);
    expect(
      asked
        .slice(1)
        .flatMap((r) => r.scopes)
        .sort(),
    ).toEqual(targetScopes('tok2').slice(1).sort());
  });

  it('asks per repository when the token server refuses several scopes in one request', async () => {
    await bed.control.setFaults({ tokenScopes: 'refuse' });
    await run4('tok3');
    const asked = await targetTokens();
    expect(asked[0]).toEqual({ status: 400, scopes: targetScopes('tok3') });
    expect(
      asked
        .slice(1)
        .map((r) => `${r.status} ${r.scopes.join(' ')}`)
        .sort(),
    ).toEqual(
      targetScopes('tok3')
        .map((s) => `200 ${s}`)
        .sort(),
    );
    const hub = await tokenRequests('hubauth');
    expect(
      hub
        .filter((r) => r.status === 200)
        .flatMap((r) => r.scopes)
        .sort(),
    ).toEqual([...sourceScopes].sort());
  });
});
