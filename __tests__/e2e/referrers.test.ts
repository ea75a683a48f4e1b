/**
 * Issue 12: signatures, SBOMs and attestations (OCI referrers) copied server side with the image, through the bundle.
 *
 * The seed (testbed/seed-referrers.ts) gives `app/signed:1.0` in the source ACR two Notation signatures, an SPDX SBOM
 * (OCI 1.1 artifacts with `subject`), a Notation signature of the SBOM and a cosign signature tagged `sha256-<hex>.sig`;
 * `app/signed-multi:1.0` (an index) a signature of the index and one of its linux/amd64 manifest. The emulated ACRs
 * serve the referrers API (computed from the backing registry's storage, two per page); the hub is a bare
 * docker-registry 2.8 that does not, and carries OCI 1.1's `sha256-<hex>` fallback tags instead. What lands in the
 * target is read back with the test bed's own client (testbed/oci.ts) through the target's referrers API, and from
 * the backing registry by digest.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { copyImage, type RegistryClient } from '../../testbed/oci.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';
import type { SeededImage } from '../../testbed/types.js';
import { useBed } from '../bed-hooks.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  importBodies,
  maxOverlap,
  operations,
  results,
  startReaderBed,
  type ResultJson,
} from './scenario-helpers.js';

let bed: StartedBed;
let reader: RegistryClient;
// Reader on the subscription, as a user grants it, so the action finds the source ACR by its login server.
useBed((started) => {
  bed = started;
  const deployer = bed.principals.deployer;
  // The target's own data plane, signed in as a user would with the service principal: the independent reader.
  reader = bed.client(`https://${bed.acrs.target.loginServer}`, {
    username: deployer.clientId,
    password: deployer.clientSecret!,
  });
}, startReaderBed);
afterAll(async () => {
  await reader?.close();
});

type Referrer = NonNullable<SeededImage['referrers']>[number];
type ReferrerJson = Referrer & { status: string; error?: string };
const NOTATION = 'application/vnd.cncf.notary.signature';
const SPDX = 'application/spdx+json';

const signed = (): SeededImage => bed.acrs.source.images['signed']!;
const seeded = (image: SeededImage): Referrer[] => image.referrers!;
const byDigest = <T extends { digest: string }>(list: readonly T[]): T[] =>
  [...list].sort((a, b) => a.digest.localeCompare(b.digest));
const referrersOf = (run: ActionRun): ReferrerJson[] =>
  (results(run)[0] as ResultJson & { referrers?: ReferrerJson[] }).referrers ?? [];
const withStatus = (list: readonly Referrer[], status: string): ReferrerJson[] =>
  byDigest(list.map((r) => ({ ...r, status })));

/** Inputs for an image of the source ACR. */
function fromSourceAcr(image: SeededImage, targetRepository: string, more: Record<string, string> = {}) {
  return {
    ...bed.baseInputs(),
    source: `${bed.acrs.source.loginServer}/${image.repository}:${image.tag}`,
    'target-tags': `${targetRepository}:${image.tag}`,
    ...more,
  };
}

/** What the target's referrers API lists for `subject` in `repository`, by digest. */
async function targetReferrers(repository: string, subject: string): Promise<string[]> {
  const list = await reader.referrers(repository, subject);
  if (!list) throw new Error('the target does not serve the referrers API');
  return list.map((d) => d.digest).sort();
}

/** Every seeded referrer is in the target repository: listed for its subject, or (cosign) under its tag. */
async function expectLanded(repository: string, expected: readonly Referrer[]): Promise<void> {
  const subjects = [...new Set(expected.filter((r) => !r.tag).map((r) => r.subject))];
  for (const subject of subjects) {
    expect(await targetReferrers(repository, subject)).toEqual(
      expected
        .filter((r) => !r.tag && r.subject === subject)
        .map((r) => r.digest)
        .sort(),
    );
  }
  const witness = bed.client(bed.acrs.target.backendUrl);
  try {
    for (const r of expected) {
      // The backing registry holds the very manifest, pointing at the same subject.
      const manifest = await witness.getManifest(repository, r.digest);
      expect(manifest.digest).toBe(r.digest);
      if (r.tag) expect(await bed.digestOf(bed.acrs.target, repository, r.tag)).toBe(r.digest);
      else expect(manifest.json.subject?.digest).toBe(r.subject);
    }
  } finally {
    await witness.close();
  }
}

async function sourceRequests(): Promise<string[]> {
  return (await bed.control.requests({ service: `acr:${bed.acrs.source.name}` })).map((r) => r.url);
}

describe('referrers: all, from a registry that serves the referrers API', () => {
  it('copies every signature and the SBOM by digest after the image, and verifies them on the target', async () => {
    const image = signed();
    const run = await runAction(bed, fromSourceAcr(image, 'promoted/signed', { referrers: 'all' }));
    expectSuccess(run);
    const [result] = results(run);
    expect(result!.status).toBe('imported');
    expect(byDigest(referrersOf(run))).toEqual(withStatus(seeded(image), 'imported'));
    await expectLanded('promoted/signed', seeded(image));

    // One importImage for the image, then one per referrer: by digest, untagged (cosign: its own tag), NoForce.
    const bodies = await importBodies(bed);
    expect(bodies[0]).toMatchObject({ targetTags: ['promoted/signed:1.0'], mode: 'NoForce' });
    const referrerBodies = bodies.slice(1);
    expect(referrerBodies.map((b) => b.source.sourceImage).sort()).toEqual(
      seeded(image)
        .map((r) => `app/signed@${r.digest}`)
        .sort(),
    );
    for (const r of seeded(image)) {
      const body = referrerBodies.find((b) => b.source.sourceImage === `app/signed@${r.digest}`)!;
      expect(body.source.resourceId).toBe(bed.acrs.source.resourceId);
      expect(body.mode).toBe('NoForce');
      if (r.tag) {
        expect(body.targetTags).toEqual([`promoted/signed:${r.tag}`]);
        expect(body.untaggedTargetRepositories).toBeUndefined();
      } else {
        expect(body.untaggedTargetRepositories).toEqual(['promoted/signed']);
        expect(body.targetTags).toBeUndefined();
      }
    }
    // A signature of the SBOM is imported after the SBOM.
    const sbom = seeded(image).find((r) => r.artifactType === SPDX)!;
    const sbomSignature = seeded(image).find((r) => r.subject === sbom.digest)!;
    const order = bodies.map((b) => b.source.sourceImage);
    expect(order.indexOf(`app/signed@${sbomSignature.digest}`)).toBeGreaterThan(
      order.indexOf(`app/signed@${sbom.digest}`),
    );

    // Discovery used the referrers API and followed its pages (three referrers, two per page).
    const urls = await sourceRequests();
    expect(urls).toContain(`/v2/app/signed/referrers/${image.digest}`);
    expect(
      urls.some((u) => u.startsWith(`/v2/app/signed/referrers/${image.digest}?`) && u.includes('last=')),
    ).toBe(true);

    expect(run.summary).toContain('<br>4 signatures, 1 SBOM |');
    expect(run.summary).toContain('Referrers (signatures, SBOMs, attestations)');
  });

  it('a re-run finds every referrer in place: unchanged, nothing imported', async () => {
    const image = signed();
    const run = await runAction(bed, fromSourceAcr(image, 'promoted/signed', { referrers: 'all' }));
    expectSuccess(run);
    expect(results(run)[0]!.status).toBe('unchanged');
    expect(byDigest(referrersOf(run))).toEqual(withStatus(seeded(image), 'unchanged'));
    expect(await importBodies(bed)).toEqual([]);
  });

  it('dry-run lists what it would copy, and what the target already holds, importing nothing', async () => {
    const image = signed();
    const fresh = await runAction(
      bed,
      fromSourceAcr(image, 'dry/signed', { referrers: 'all', 'dry-run': 'true' }),
    );
    expectSuccess(fresh);
    expect(results(fresh)[0]).toMatchObject({ status: 'planned', plan: 'import' });
    expect(byDigest(referrersOf(fresh))).toEqual(withStatus(seeded(image), 'planned'));
    expect(fresh.summary).toContain('4 signatures, 1 SBOM');
    expect(fresh.stdout).toContain(`would copy referrer ${seeded(image)[0]!.digest}`);

    const done = await runAction(
      bed,
      fromSourceAcr(image, 'promoted/signed', { referrers: 'all', 'dry-run': 'true' }),
    );
    expectSuccess(done);
    expect(byDigest(referrersOf(done))).toEqual(withStatus(seeded(image), 'unchanged'));

    expect(await importBodies(bed)).toEqual([]);
    expect(await reader.referrers('dry/signed', image.digest)).toEqual([]);
  });

  it('referrers of an index and of one of its platform manifests', async () => {
    const image = bed.acrs.source.images['signedIndex']!;
    const amd64 = image.platforms.find((p) => p.platform === 'linux/amd64')!;
    expect(
      seeded(image)
        .map((r) => r.subject)
        .sort(),
    ).toEqual([image.digest, amd64.digest].sort());
    const run = await runAction(bed, fromSourceAcr(image, 'multi/signed', { referrers: 'all' }));
    expectSuccess(run);
    expect(byDigest(referrersOf(run))).toEqual(withStatus(seeded(image), 'imported'));
    await expectLanded('multi/signed', seeded(image));
    expect(run.summary).toContain('<br>2 signatures |');
  });
});

describe('referrers: several target repositories', () => {
  it('one import per referrer reaches every target repository of the image, tagged and untagged', async () => {
    const image = signed();
    const run = await runAction(
      bed,
      fromSourceAcr(image, 'fan1/signed', {
        'target-tags': 'fan1/signed:1.0, fan2/signed:1.0',
        'untagged-repositories': 'fan3/signed',
        referrers: 'all',
      }),
    );
    expectSuccess(run);
    expect(byDigest(referrersOf(run))).toEqual(withStatus(seeded(image), 'imported'));
    for (const repository of ['fan1/signed', 'fan2/signed', 'fan3/signed'])
      await expectLanded(repository, seeded(image));
    const referrerBodies = (await importBodies(bed)).slice(1);
    expect(referrerBodies).toHaveLength(seeded(image).length);
    const cosign = seeded(image).find((r) => r.tag)!;
    for (const body of referrerBodies) {
      if (body.source.sourceImage.endsWith(cosign.digest)) {
        expect(body.targetTags).toEqual(['fan1', 'fan2', 'fan3'].map((r) => `${r}/signed:${cosign.tag}`));
      } else {
        expect(body.untaggedTargetRepositories).toEqual(['fan1/signed', 'fan2/signed', 'fan3/signed']);
      }
    }
  });
});

describe('referrers: none and a type filter', () => {
  it('none (the default) copies the image alone and looks for no referrers', async () => {
    const image = signed();
    const run = await runAction(bed, fromSourceAcr(image, 'plain/signed'));
    expectSuccess(run);
    expect(results(run)[0]).not.toHaveProperty('referrers');
    expect(await importBodies(bed)).toHaveLength(1);
    expect((await sourceRequests()).filter((u) => u.includes('/referrers/'))).toEqual([]);
    expect(await reader.referrers('plain/signed', image.digest)).toEqual([]);
    const cosign = seeded(image).find((r) => r.tag)!;
    expect(await bed.digestOf(bed.acrs.target, 'plain/signed', cosign.tag!)).toBeUndefined();
    expect(run.summary).not.toContain('<br>');
  });

  it('an artifact type copies only that type, asking the registry to filter', async () => {
    const image = signed();
    const run = await runAction(bed, fromSourceAcr(image, 'sbom/signed', { referrers: SPDX }));
    expectSuccess(run);
    const sbom = seeded(image).filter((r) => r.artifactType === SPDX);
    expect(sbom).toHaveLength(1);
    expect(referrersOf(run)).toEqual(withStatus(sbom, 'imported'));
    expect(await targetReferrers('sbom/signed', image.digest)).toEqual([sbom[0]!.digest]);
    // Not an SBOM: neither the signatures nor the signature of the SBOM came along.
    expect(await targetReferrers('sbom/signed', sbom[0]!.digest)).toEqual([]);
    expect(await sourceRequests()).toContain(
      `/v2/app/signed/referrers/${image.digest}?artifactType=${encodeURIComponent(SPDX)}`,
    );
    expect(run.summary).toContain('<br>1 SBOM |');
  });

  it('two types: Notation signatures and SBOMs (the signature of the SBOM too), no cosign', async () => {
    const image = signed();
    const run = await runAction(
      bed,
      fromSourceAcr(image, 'two/signed', { referrers: `${NOTATION}, ${SPDX}` }),
    );
    expectSuccess(run);
    const wanted = seeded(image).filter((r) => !r.tag);
    expect(byDigest(referrersOf(run))).toEqual(withStatus(wanted, 'imported'));
    await expectLanded('two/signed', wanted);
  });
});

describe('referrers: a source without the referrers API', () => {
  it('finds them through the sha256-<hex> fallback tags and cosign tags, and copies them', async () => {
    const hub = bed.sources.hub;
    const image = hub.images['signed']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${image.repository}:${image.tag}`,
      'target-tags': 'fromhub/signed:1.0',
      referrers: 'all',
    });
    expectSuccess(run);
    expect(byDigest(referrersOf(run))).toEqual(withStatus(seeded(image), 'imported'));
    await expectLanded('fromhub/signed', seeded(image));
    // The fallback index itself is not copied: the target serves the referrers API.
    expect(
      await bed.digestOf(bed.acrs.target, 'fromhub/signed', image.digest.replace(':', '-')),
    ).toBeUndefined();
    const bodies = await importBodies(bed);
    expect(bodies.slice(1).every((b) => b.source.registryUri === hub.host)).toBe(true);
    expect(run.summary).toContain('<br>4 signatures, 1 SBOM |');
  });
});

describe('referrers: verification', () => {
  it('a referrer that importImage reports as done but that did not land fails the image; the image stays', async () => {
    const image = signed();
    const sbom = seeded(image).find((r) => r.artifactType === SPDX)!;
    // The target never shows it, so the engine waits for ARM's answer: poll every second.
    await bed.control.setFaults({ silentImportDigests: [sbom.digest], retryAfter: 1 });
    const run = await runAction(bed, fromSourceAcr(image, 'missing/signed', { referrers: 'all' }));
    expectFailure(run);
    const [result] = results(run);
    expect(result!.status).toBe('failed');
    const referrers = referrersOf(run);
    expect(referrers.find((r) => r.digest === sbom.digest)).toMatchObject({
      status: 'failed',
      error: `importImage reported success, but the target's referrers API does not list it for missing/signed@${image.digest}`,
    });
    expect(referrers.filter((r) => r.status === 'imported')).toHaveLength(seeded(image).length - 1);
    const text = failureText(run);
    expect(text).toContain(`but 1 of ${seeded(image).length} referrers did not: ${sbom.digest} (${SPDX})`);
    expect(text).toContain('The image itself is imported');
    // The image itself landed and stays.
    expect(await bed.digestOf(bed.acrs.target, 'missing/signed', '1.0')).toBe(image.digest);
    expect(result!.targets).toEqual([
      { ref: `${bed.acrs.target.loginServer}/missing/signed:1.0`, digest: image.digest },
    ]);
    expect(run.summary).toContain('4 signatures, 1 SBOM, 1 failed');

    // Once importImage behaves, a re-run copies what is missing and leaves the rest.
    await bed.control.reset();
    const again = await runAction(bed, fromSourceAcr(image, 'missing/signed', { referrers: 'all' }));
    expectSuccess(again);
    expect(referrersOf(again).find((r) => r.digest === sbom.digest)?.status).toBe('imported');
    expect(referrersOf(again).filter((r) => r.status === 'unchanged')).toHaveLength(seeded(image).length - 1);
    await expectLanded('missing/signed', seeded(image));
  });

  it('referrer imports run in parallel, never more than max-parallel at once', async () => {
    const image = signed();
    // Each copy starts 300 ms late: the imports visibly overlap, as far as the engine lets them.
    await bed.control.setFaults({ importDelayMs: 300 });
    const run = await runAction(
      bed,
      fromSourceAcr(image, 'parallel/signed', { referrers: 'all', 'max-parallel': '2' }),
    );
    expectSuccess(run);
    const ops = (await operations(bed)).filter(
      (o) =>
        o.untagged.includes('parallel/signed') ||
        o.targetTags.some((t) => t.startsWith('parallel/signed:sha256-')),
    );
    expect(ops).toHaveLength(seeded(image).length);
    expect(maxOverlap(ops)).toBe(2);
  });
});

describe('referrers: the target side', () => {
  it('a cosign tag in the target that holds other signatures fails without force; force replaces it', async () => {
    const image = signed();
    const cosign = seeded(image).find((r) => r.tag)!;
    // The target's tag holds another manifest (another run signed the image differently).
    const from = bed.client(bed.acrs.source.backendUrl);
    const to = bed.client(bed.acrs.target.backendUrl);
    const other = bed.acrs.source.images['ociSingle']!;
    try {
      await copyImage(from, other.repository, other.tag, to, 'cosign/signed', { tags: [cosign.tag!] });
    } finally {
      await Promise.all([from.close(), to.close()]);
    }
    const plain = await runAction(bed, fromSourceAcr(image, 'cosign/signed', { referrers: 'all' }));
    expectFailure(plain);
    expect(referrersOf(plain).find((r) => r.tag)).toMatchObject({
      status: 'failed',
      error: `target tag cosign/signed:${cosign.tag} holds ${other.digest}, not the source's ${cosign.digest}; set force: true to replace it`,
    });
    expect(referrersOf(plain).filter((r) => r.status === 'imported')).toHaveLength(seeded(image).length - 1);
    expect(await bed.digestOf(bed.acrs.target, 'cosign/signed', cosign.tag!)).toBe(other.digest);
    // No import call for the tag without force.
    expect((await importBodies(bed)).some((b) => b.targetTags?.includes(`cosign/signed:${cosign.tag}`))).toBe(
      false,
    );
    await bed.control.clearRequests();

    // A dry run says so too: the plan fails.
    const dry = await runAction(
      bed,
      fromSourceAcr(image, 'cosign/signed', { referrers: 'all', 'dry-run': 'true' }),
    );
    expectFailure(dry);
    expect(results(dry)[0]).toMatchObject({ status: 'failed', plan: 'fail' });
    expect(failureText(dry)).toContain(
      `1 of ${seeded(image).length} referrers would not land in ${bed.acrs.target.loginServer}: ${cosign.digest}`,
    );
    expect(referrersOf(dry).filter((r) => r.status === 'unchanged')).toHaveLength(seeded(image).length - 1);
    await bed.control.clearRequests();

    const forced = await runAction(
      bed,
      fromSourceAcr(image, 'cosign/signed', { referrers: 'all', force: 'true' }),
    );
    expectSuccess(forced);
    expect(referrersOf(forced).find((r) => r.tag)?.status).toBe('imported');
    expect(await importBodies(bed)).toEqual([
      expect.objectContaining({ targetTags: [`cosign/signed:${cosign.tag}`], mode: 'Force' }),
    ]);
    await expectLanded('cosign/signed', seeded(image));
  });

  it('a target the runner cannot read: the image imports, its referrers cannot be verified, so none is copied', async () => {
    const image = signed();
    await bed.control.setFaults({
      network: { [bed.acrs.target.name]: { publicNetworkAccess: false } },
      retryAfter: 1,
    });
    const run = await runAction(bed, fromSourceAcr(image, 'closed/signed', { referrers: 'all' }));
    expectFailure(run);
    expect(failureText(run)).toContain(
      `its referrers cannot be checked in ${bed.acrs.target.loginServer}, which the runner cannot read`,
    );
    expect(referrersOf(run).every((r) => r.status === 'failed')).toBe(true);
    // Only the image was imported.
    expect((await importBodies(bed)).map((b) => b.targetTags)).toEqual([['closed/signed:1.0']]);
    expect(await bed.digestOf(bed.acrs.target, 'closed/signed', '1.0')).toBe(image.digest);
  });
});

describe('referrers: bad input', () => {
  it('an unknown value is refused before any request, naming the input and the fix', async () => {
    const run = await runAction(bed, fromSourceAcr(signed(), 'bad/signed', { referrers: 'signatures' }));
    expectFailure(run);
    expect(failureText(run)).toMatch(
      /- referrers: must be 'none' \(default\), 'all', or a comma-separated list of artifact types .*; not a media type: 'signatures' \(got "signatures"\)/,
    );
    expect(await bed.control.requests()).toEqual([]);
  });
});
