import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../src/engine/config/parse.js';
import { InputError } from '../../src/engine/errors.js';
import {
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  type Transport,
} from '../../src/engine/net/http.js';
import { artifactTypeOf, childDigests } from '../../src/engine/clients/referrers.js';
import { checkReferrers, REFERRER_LIMITS } from '../../src/engine/config/referrers.js';
import { describeReferrerCounts, referrerKind } from '../../src/engine/report/referrers.js';
import { copyReferrers, limiter } from '../../src/engine/run/referrers.js';
import { RegistryClient } from '../../src/engine/clients/registry.js';
import type { ReferrerResult } from '../../src/engine/report/result.js';
import { FakeClock, MemoryLogger, fakeTransport, respond } from './fakes.js';

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

describe('discovery, against a fake registry', () => {
  const IMAGE = D('1');
  const SIG = D('2');
  const SBOM = D('3');
  // Its descriptor carries no artifactType: read from the manifest, whose bytes must hash to its digest.
  const SBOM_SIG_BODY = JSON.stringify({ artifactType: 'application/vnd.cncf.notary.signature' });
  const SBOM_SIG = `sha256:${createHash('sha256').update(SBOM_SIG_BODY).digest('hex')}`;
  const COSIGN_BODY = JSON.stringify({
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json' },
    layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json' }],
  });
  const COSIGN = `sha256:${createHash('sha256').update(COSIGN_BODY).digest('hex')}`;
  const index = (manifests: { digest: string; artifactType?: string }[]): unknown => ({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: manifests.map((m) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 1,
      ...m,
    })),
  });

  /** A source registry: `api` serves the referrers API (pages of one, as absolute and relative Links). */
  function source(api: boolean, extra: (req: HttpRequest) => HttpResponse | undefined = () => undefined) {
    return fakeTransport((req) => {
      const url = new URL(req.url);
      const other = extra(req);
      if (other) return other;
      if (url.pathname === `/v2/app/referrers/${IMAGE}` && api) {
        if (url.searchParams.get('page') === '2')
          return respond(200, index([{ digest: SBOM, artifactType: 'application/spdx+json' }]));
        return respond(200, index([{ digest: SIG, artifactType: 'application/vnd.cncf.notary.signature' }]), {
          link: `<https://src.example/v2/app/referrers/${IMAGE}?page=2>; rel="next"`,
        });
      }
      if (url.pathname === `/v2/app/referrers/${SBOM}` && api) {
        // No artifactType in the descriptor: read from the manifest.
        return respond(200, index([{ digest: SBOM_SIG }]), { link: '' });
      }
      if (url.pathname.startsWith('/v2/app/referrers/'))
        return api ? respond(200, index([])) : respond(404, '404 page not found');
      if (url.pathname === `/v2/app/manifests/${SBOM_SIG}`)
        return respond(
          200,
          { artifactType: 'application/vnd.cncf.notary.signature' },
          {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
          },
        );
      if (!api && url.pathname === `/v2/app/manifests/${IMAGE.replace(':', '-')}`)
        return respond(
          200,
          index([
            { digest: SIG, artifactType: 'application/vnd.cncf.notary.signature' },
            { digest: SBOM, artifactType: 'application/spdx+json' },
          ]),
          { 'content-type': 'application/vnd.oci.image.index.v1+json' },
        );
      if (!api && url.pathname === `/v2/app/manifests/${SBOM.replace(':', '-')}`)
        return respond(
          200,
          index([{ digest: SBOM_SIG, artifactType: 'application/vnd.cncf.notary.signature' }]),
          {
            'content-type': 'application/vnd.oci.image.index.v1+json',
          },
        );
      if (url.pathname === `/v2/app/manifests/${IMAGE.replace(':', '-')}.sig`)
        return respond(200, COSIGN_BODY, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      return respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    });
  }

  const anonymous = { preemptive: false, authorize: async () => undefined };
  /** The target holds nothing: every referrer is planned. */
  const emptyTarget = fakeTransport(() => respond(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] }));

  async function plan(transport: Transport, selection: 'all' | string[]) {
    const clock = new FakeClock();
    const log = new MemoryLogger();
    const client = (t: Transport, host: string): RegistryClient =>
      new RegistryClient(new HttpClient(t, clock, log), host, anonymous);
    const outcome = await copyReferrers(
      {
        log,
        source: client(transport, 'src.example'),
        sourceRepository: 'app',
        target: client(emptyTarget, 'target.example'),
        targetLabel: 'target.example',
        repositories: ['app'],
        force: false,
        dryRun: true,
        importManifest: () => Promise.reject(new Error('a dry run imports nothing')),
        limit: (work) => work(),
      },
      selection,
      [IMAGE],
      'app',
      AbortSignal.timeout(5_000),
    );
    return outcome.referrers.map(
      (r) =>
        `${r.subject.slice(7, 8)}<-${r.digest.slice(7, 8)} ${r.artifactType}${r.tag ? ` ${r.tag}` : ''} ${r.status}`,
    );
  }

  const EXPECTED = [
    '1<-2 application/vnd.cncf.notary.signature planned',
    '1<-3 application/spdx+json planned',
    `1<-${COSIGN.slice(7, 8)} application/vnd.dev.cosign.simplesigning.v1+json ${IMAGE.replace(':', '-')}.sig planned`,
    `3<-${SBOM_SIG.slice(7, 8)} application/vnd.cncf.notary.signature planned`,
  ];

  it('through the referrers API: every page, the referrers of a referrer, cosign tags', async () => {
    const transport = source(true);
    expect(await plan(transport, 'all')).toEqual(EXPECTED);
    expect(transport.requests.some((r) => r.url.includes('page=2'))).toBe(true);
  });

  it('through the fallback tags when the API answers 404', async () => {
    expect(await plan(source(false), 'all')).toEqual(EXPECTED);
  });

  it('filters by type itself when the registry does not', async () => {
    const transport = source(true);
    expect(await plan(transport, ['application/spdx+json'])).toEqual(['1<-3 application/spdx+json planned']);
    expect(transport.requests[0]!.url).toBe(
      `https://src.example/v2/app/referrers/${IMAGE}?artifactType=application%2Fspdx%2Bjson`,
    );
  });

  it('does not follow a Link to another host', async () => {
    const transport = source(true, (req) =>
      req.url.endsWith(`/referrers/${IMAGE}`)
        ? respond(200, index([]), {
            link: `<https://elsewhere.example/v2/app/referrers/${IMAGE}?page=2>; rel="next"`,
          })
        : undefined,
    );
    await expect(plan(transport, 'all')).rejects.toThrow(
      /pointed to another host \(https:\/\/elsewhere.example\)/,
    );
    expect(transport.requests.every((r) => r.url.startsWith('https://src.example/'))).toBe(true);
  });

  it(`stops at ${REFERRER_LIMITS.depth} levels and says so`, async () => {
    // Every manifest has one referrer: a chain without end.
    const chain = fakeTransport((req) => {
      const m = /\/referrers\/sha256:([a-f0-9])/.exec(req.url);
      if (!m) return respond(404, '');
      const next = D(((parseInt(m[1]!, 16) + 1) % 16).toString(16));
      return respond(200, index([{ digest: next, artifactType: 'application/vnd.cncf.notary.signature' }]));
    });
    const clock = new FakeClock();
    const log = new MemoryLogger();
    const client = (t: Transport): RegistryClient =>
      new RegistryClient(new HttpClient(t, clock, log), 'src.example', anonymous);
    const outcome = await copyReferrers(
      {
        log,
        source: client(chain),
        sourceRepository: 'app',
        target: client(emptyTarget),
        targetLabel: 'target.example',
        repositories: ['app'],
        force: false,
        dryRun: true,
        importManifest: () => Promise.reject(new Error('no')),
        limit: (work) => work(),
      },
      'all',
      [IMAGE],
      'app',
      AbortSignal.timeout(5_000),
    );
    expect(outcome.referrers.map((r) => r.digest)).toEqual([D('2'), D('3'), D('4')]);
    expect(outcome.notes).toEqual([
      `Referrers nested more than 3 levels deep (e.g. ${D('5')}, which refers to ${D('4')}) were not copied.`,
    ]);
  });
});
