import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../src/engine/config.js';
import { InputError } from '../../src/engine/errors.js';
import {
  artifactTypeOf,
  checkReferrers,
  childDigests,
  describeReferrerCounts,
  limiter,
  referrerKind,
} from '../../src/engine/referrers.js';
import type { ReferrerResult } from '../../src/engine/result.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const BASE = { registry: 'myregistry', 'subscription-id': SUB, source: 'nginx:1.27' };
const D = (c: string): string => `sha256:${c.repeat(64)}`;

describe('the referrers input', () => {
  it.each([
    ['none', 'none'],
    ['None', 'none'],
    ['all', 'all'],
    [' ALL ', 'all'],
    ['application/vnd.cncf.notary.signature', ['application/vnd.cncf.notary.signature']],
    [
      'application/vnd.cncf.notary.signature, application/spdx+json',
      ['application/vnd.cncf.notary.signature', 'application/spdx+json'],
    ],
    ['application/SPDX+json\napplication/spdx+json', ['application/spdx+json']],
  ])('%j -> %j', (text, value) => {
    expect(checkReferrers(text)).toEqual({ ok: true, value });
  });

  it.each([
    ['signatures', /not a media type: 'signatures'/],
    ['all, application/spdx+json', /not a mix/],
    ['none,all', /not a mix/],
    ['application/spdx+json, sbom', /not a media type: 'sbom'/],
    [',', /'none' \(default\), 'all', or a comma-separated list/],
  ])('%j is refused', (text, message) => {
    const result = checkReferrers(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it('defaults to none, and is declared with the other inputs', () => {
    expect(parseConfig(BASE).referrers).toBe('none');
    expect(parseConfig({ ...BASE, referrers: 'application/spdx+json' }).referrers).toEqual([
      'application/spdx+json',
    ]);
  });

  it('names the input, the value and the fix; refuses wait: false', () => {
    const problemsOf = (raw: Record<string, string>): string[] => {
      try {
        parseConfig({ ...BASE, ...raw });
      } catch (err) {
        if (err instanceof InputError) return err.problems.map((p) => `${p.input}=${p.value}: ${p.message}`);
        throw err;
      }
      return [];
    };
    expect(problemsOf({ referrers: 'signatures' })).toEqual([
      expect.stringMatching(
        /^referrers=signatures: must be 'none' \(default\), 'all', or a comma-separated list/,
      ),
    ]);
    expect(problemsOf({ referrers: 'all', wait: 'false' })).toEqual([
      expect.stringMatching(/^referrers=all: needs wait: true .*remove wait: false or set referrers: none$/),
    ]);
    expect(problemsOf({ wait: 'false' })).toEqual([]);
  });
});

describe('artifact types and counts', () => {
  const manifest = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));

  it('reads the artifact type as registries and cosign write it', () => {
    expect(artifactTypeOf(manifest({ artifactType: 'application/vnd.cncf.notary.signature' }))).toBe(
      'application/vnd.cncf.notary.signature',
    );
    expect(
      artifactTypeOf(manifest({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json' } })),
    ).toBe('application/vnd.cncf.helm.config.v1+json');
    // cosign: an image config, the type is in the layer.
    expect(
      artifactTypeOf(
        manifest({
          config: { mediaType: 'application/vnd.oci.image.config.v1+json' },
          layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }],
        }),
      ),
    ).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    expect(artifactTypeOf(Buffer.from('not json'))).toBeUndefined();
  });

  it('lists the children of an index, whatever their platform', () => {
    expect(
      childDigests(
        manifest({
          manifests: [
            { digest: D('a') },
            { digest: D('b'), platform: { os: 'unknown', architecture: 'unknown' } },
            { digest: 'x' },
          ],
        }),
      ),
    ).toEqual([D('a'), D('b')]);
  });

  it.each([
    ['application/vnd.cncf.notary.signature', 'signature'],
    ['application/vnd.dev.cosign.simplesigning.v1+json', 'signature'],
    ['application/vnd.dev.sigstore.bundle.v0.3+json', 'signature'],
    ['application/spdx+json', 'SBOM'],
    ['application/vnd.cyclonedx+json', 'SBOM'],
    ['application/vnd.in-toto+json', 'attestation'],
    ['application/vnd.dsse.envelope.v1+json', 'attestation'],
    ['application/vnd.example.thing', 'other referrer'],
  ])('%s is a %s', (type, kind) => {
    expect(referrerKind(type)).toBe(kind);
  });

  it('counts per kind, as the summary shows it', () => {
    const r = (artifactType: string, status: ReferrerResult['status'] = 'imported'): ReferrerResult => ({
      digest: D('a'),
      artifactType,
      subject: D('b'),
      status,
    });
    expect(describeReferrerCounts([])).toBe('no referrers');
    expect(
      describeReferrerCounts([
        r('application/spdx+json'),
        r('application/vnd.cncf.notary.signature'),
        r('application/vnd.dev.cosign.simplesigning.v1+json'),
      ]),
    ).toBe('2 signatures, 1 SBOM');
    expect(
      describeReferrerCounts([
        r('application/vnd.in-toto+json'),
        r('application/vnd.cncf.notary.signature', 'failed'),
      ]),
    ).toBe('1 signature, 1 attestation, 1 failed');
  });
});

describe('limiter', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const limit = limiter(2);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setTimeout(resolve, 5));
          active--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
