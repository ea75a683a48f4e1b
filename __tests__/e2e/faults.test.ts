/**
 * Faults survived, through the bundle (`node dist/index.js`) against the emulator's fault switches: throttling and
 * transient errors at ARM, Entra, GitHub's OIDC endpoint and the source registry; polls that fail; failed, hung and
 * partly failed imports; tokens that expire mid-run. Every retry is checked in a request log: it happened, it waited
 * as long as the service asked, and it stopped.
 *
 * The hub and the private registry are real `docker-registry` processes that cannot be told to answer 429; the
 * source-registry faults put a fault front (testbed/fault-front.ts) between the action and the hub.
 */
import { readFileSync } from 'node:fs';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import { startFaultFront, type FaultFront } from '../../testbed/fault-front.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';
import type { Faults, LoggedRequest } from '../../testbed/types.js';

let bed: StartedBed;
let hubFront: FaultFront;

beforeAll(async () => {
  // Retry-After: 1 on 202 answers, so the tests that must poll do not sit out real ACR's 10 s.
  bed = await startBed({ retryAfterSeconds: 1 });
  hubFront = await startFaultFront({
    upstream: bed.sources.hub.url,
    tls: {
      cert: readFileSync(bed.pki.certFile, 'utf8'),
      key: readFileSync(bed.pki.keyFile, 'utf8'),
      ca: bed.caPem,
    },
  });
});

afterAll(async () => {
  await hubFront?.close();
  await bed?.stop();
});

beforeEach(async () => {
  await bed.control.reset();
  hubFront.reset();
});

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

interface ResultJson {
  source: string;
  sourceDigest: string | null;
  targets: { ref: string; digest: string | null }[];
  status: string;
  error?: string;
}

function results(run: ActionRun): ResultJson[] {
  return JSON.parse(run.outputs['results'] ?? '[]') as ResultJson[];
}

function errorText(run: ActionRun): string {
  return run.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n');
}

function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
}

let counter = 0;
/** A target repository no other test writes. */
const fresh = (name: string): string => `faults/${name}-${++counter}`;

/** Imports the hub's single-platform OCI image into a fresh tag; returns the run and where it should have landed. */
async function importHubImage(
  faults: Faults,
  extra: Record<string, string> = {},
  env: Record<string, string | undefined> = {},
): Promise<{ run: ActionRun; repository: string; digest: string }> {
  const image = bed.sources.hub.images['ociSingle']!;
  const repository = fresh('app');
  await bed.control.setFaults(faults);
  const run = await runAction(
    bed,
    {
      ...bed.baseInputs(),
      source: `${bed.sources.hub.host}/${image.repository}:${image.tag}`,
      'target-tags': `${repository}:1`,
      ...extra,
    },
    { env },
  );
  return { run, repository, digest: image.digest };
}

/** The run worked: the target holds the digest (read from its backing registry) and the output says so. */
async function expectImported(run: ActionRun, repository: string, digest: string): Promise<void> {
  expectSuccess(run);
  expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
  expect(run.outputs['digest']).toBe(digest);
}

/** Entries answered with `status`, and what the client did next with the same request. */
function retriesOf(
  log: LoggedRequest[],
  status: number,
): { failed: LoggedRequest; next: LoggedRequest | undefined }[] {
  return log
    .map((entry, i) => ({ entry, i }))
    .filter(({ entry }) => entry.status === status)
    .map(({ entry, i }) => ({
      failed: entry,
      next: log.slice(i + 1).find((e) => e.method === entry.method && e.url === entry.url),
    }));
}

async function log(service: string): Promise<LoggedRequest[]> {
  return bed.control.requests({ service });
}

// ---------------------------------------------------------------------------------------------------------------------

describe('Azure Resource Manager faults', () => {
  it.each([
    ['seconds', 1 as const],
    ['an HTTP date', 'http-date' as const],
  ])('waits out a 429 whose Retry-After is in %s, then imports', async (_form, retryAfter) => {
    const { run, repository, digest } = await importHubImage({
      throttle: { service: 'arm', count: 1, retryAfter },
    });
    await expectImported(run, repository, digest);
    const retried = retriesOf(await log('arm'), 429);
    expect(retried).toHaveLength(1);
    const [{ failed, next }] = retried as [{ failed: LoggedRequest; next: LoggedRequest | undefined }];
    expect(next?.status).toBe(200);
    // Retry-After: 1 (or a date 1-2 s ahead, at one-second resolution): never sooner.
    expect(next!.time - failed.time).toBeGreaterThanOrEqual(950);
    expect(next!.time - failed.time).toBeLessThan(3_000);
  });

  it.each([500, 502, 503])('retries a %d once and imports', async (status) => {
    const { run, repository, digest } = await importHubImage({
      serverError: { service: 'arm', count: 1, status },
    });
    await expectImported(run, repository, digest);
    const retried = retriesOf(await log('arm'), status);
    expect(retried).toHaveLength(1);
    expect(retried[0]!.next?.status).toBe(200);
  });

  it('retries dropped connections, including the importImage POST, and imports', async () => {
    const { run, repository, digest } = await importHubImage({
      dropConnections: { service: 'arm', count: 2 },
    });
    await expectImported(run, repository, digest);
    const arm = await log('arm');
    const dropped = arm.filter((e) => e.status === 0);
    expect(dropped).toHaveLength(2);
    for (const d of dropped)
      expect(arm.some((e) => e.url === d.url && e.time > d.time && e.status < 300)).toBe(true);
  });

  it('stops retrying after a bounded number of attempts, and says ARM is throttling', async () => {
    // Retry-After: 0 lets the attempts run back to back; the bound is the count, not the clock.
    const { run, repository } = await importHubImage({
      throttle: { service: 'arm', count: 1000, retryAfter: 0 },
    });
    expect(run.exitCode).toBe(1);
    const arm = await log('arm');
    // The registry lookup, tried 6 times (the first attempt and 5 retries), then given up.
    expect(arm).toHaveLength(6);
    expect(arm.every((e) => e.status === 429)).toBe(true);
    expect(errorText(run)).toContain('SubscriptionRequestsThrottled');
    expect(errorText(run)).toMatch(/throttl/i);
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBeUndefined();
  });

  it('does not sit out a Retry-After longer than it may wait: fails at once and names the wait', async () => {
    const { run } = await importHubImage({ throttle: { service: 'arm', count: 1000, retryAfter: 3600 } });
    expect(run.exitCode).toBe(1);
    expect(run.durationMs).toBeLessThan(5_000);
    expect(await log('arm')).toHaveLength(1);
    expect(errorText(run)).toContain('SubscriptionRequestsThrottled');
    expect(errorText(run)).toContain('3600');
  });
});

describe('sign-in faults', () => {
  it.each<[string, Faults]>([
    ['a 429 from Entra ID', { throttle: { service: 'entra', count: 1, retryAfter: 1 } }],
    ['a 500 from Entra ID', { serverError: { service: 'entra', count: 1, status: 500 } }],
    ['a 503 from Entra ID', { serverError: { service: 'entra', count: 1, status: 503 } }],
    ['a dropped connection to Entra ID', { dropConnections: { service: 'entra', count: 1 } }],
  ])('survives %s', async (_what, faults) => {
    const { run, repository, digest } = await importHubImage(faults);
    await expectImported(run, repository, digest);
    const entra = await log('entra');
    expect(entra.filter((e) => e.status !== 200).length).toBe(1);
    expect(
      entra.some((e) => e.method === 'POST' && e.url.includes('/oauth2/v2.0/token') && e.status === 200),
    ).toBe(true);
  });

  it.each<[string, Faults]>([
    ['a 500', { serverError: { service: 'oidc', count: 1, status: 500 } }],
    ['a 502', { serverError: { service: 'oidc', count: 1, status: 502 } }],
    ['a 503 twice', { serverError: { service: 'oidc', count: 2, status: 503 } }],
    ['a 429', { throttle: { service: 'oidc', count: 1, retryAfter: 1 } }],
    ['a dropped connection', { dropConnections: { service: 'oidc', count: 1 } }],
  ])("survives %s from GitHub's OIDC endpoint", async (_what, faults) => {
    const { run, repository, digest } = await importHubImage(faults);
    await expectImported(run, repository, digest);
    const oidc = await log('oidc');
    expect(oidc.some((e) => e.status === 200)).toBe(true);
    expect(oidc.length).toBeLessThanOrEqual(6);
  });

  it('gives up on an OIDC endpoint that keeps failing, after a bounded number of attempts', async () => {
    const { run } = await importHubImage({ serverError: { service: 'oidc', count: 1000, status: 500 } });
    expect(run.exitCode).toBe(1);
    expect(errorText(run)).toContain('OIDC');
    const oidc = await log('oidc');
    // 4 attempts with backoff (the endpoint's own client does not retry a 500).
    expect(oidc).toHaveLength(4);
    expect(await log('arm')).toHaveLength(0);
  });
});

describe('source registry faults during digest resolution', () => {
  const limited = {
    errors: [
      {
        code: 'TOOMANYREQUESTS',
        message:
          'You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limits',
      },
    ],
  };

  it('waits out 429 TOOMANYREQUESTS from the registry (Retry-After honoured) and imports the pinned digest', async () => {
    const image = bed.sources.hub.images['multiArch']!;
    hubFront.add({
      path: /\/manifests\//,
      count: 1,
      status: 429,
      body: limited,
      headers: { 'retry-after': '1', 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' },
    });
    const repository = fresh('limited');
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hubFront.host}/${image.repository}:${image.tag}`,
      'target-tags': `${repository}:1`,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(image.digest);
    const manifests = hubFront.log.filter((e) => e.url.includes('/manifests/'));
    const limitedAnswers = manifests.filter((e) => e.status === 429);
    expect(limitedAnswers).toHaveLength(1);
    const after = manifests.find((e) => e.time > limitedAnswers[0]!.time && e.status !== 429);
    expect(after).toBeDefined();
    expect(after!.time - limitedAnswers[0]!.time).toBeGreaterThanOrEqual(950);
    // The import itself was pinned to what resolution found.
    const [call] = (await log('arm')).filter((e) => e.url.includes('/importImage'));
    expect(JSON.parse(call!.body).source.sourceImage).toBe(`${image.repository}@${image.digest}`);
  });

  it('waits out 429 TOOMANYREQUESTS from the registry token server', async () => {
    const { run, repository, digest } = await importHubImage({
      throttle: { service: 'hub', count: 1, retryAfter: 1 },
    });
    await expectImported(run, repository, digest);
    const hubauth = await log('hubauth');
    const [limited] = retriesOf(hubauth, 429) as [{ failed: LoggedRequest; next: LoggedRequest | undefined }];
    expect(limited.next?.status).toBe(200);
    expect(limited.next!.time - limited.failed.time).toBeGreaterThanOrEqual(950);
    expect(hubauth.some((e) => e.status === 200)).toBe(true);
  });

  it('ends at timeout when the registry never answers, naming the image', async () => {
    const image = bed.sources.hub.images['ociSingle']!;
    hubFront.add({ path: /\/manifests\//, hang: true });
    const source = `${hubFront.host}/${image.repository}:${image.tag}`;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source,
      'target-tags': `${fresh('stalled')}:1`,
      timeout: '2s',
    });
    expect(run.exitCode).toBe(1);
    expect(run.durationMs).toBeGreaterThanOrEqual(2_000);
    expect(run.durationMs).toBeLessThan(6_000);
    expect(errorText(run)).toContain(`Importing ${source} did not finish within 2s.`);
    expect((await log('arm')).filter((e) => e.url.includes('/importImage'))).toHaveLength(0);
  });

  it('names the rate limit and the fix when the registry keeps answering 429', async () => {
    const image = bed.sources.hub.images['ociSingle']!;
    hubFront.add({ path: /\/manifests\//, status: 429, body: limited, headers: { 'retry-after': '0' } });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hubFront.host}/${image.repository}:${image.tag}`,
      'target-tags': `${fresh('limited')}:1`,
    });
    expect(run.exitCode).toBe(1);
    // A HEAD answer has no body, so the status is all there is to quote.
    expect(errorText(run)).toContain('answered 429');
    expect(errorText(run)).toContain('rate-limiting');
    expect(errorText(run)).toContain('source-username and source-password');
    const attempts = hubFront.log.filter((e) => e.url.includes('/manifests/')).length;
    expect(attempts).toBe(6);
    expect((await log('arm')).filter((e) => e.url.includes('/importImage'))).toHaveLength(0);
  });
});

describe('import operation faults', () => {
  it('a poll that fails once with 503 does not fail the import', async () => {
    // The copy starts 1.8 s late, so the first poll (Retry-After: 1) finds the import running; it gets a 503 (a 500
    // with an ARM error body is the operation's final answer: fidelity.test.ts).
    const { run, repository, digest } = await importHubImage({
      serverError: { service: 'poll', count: 1, status: 503 },
      importDelayMs: 1_800,
    });
    await expectImported(run, repository, digest);
    const polls = (await log('arm')).filter((e) => e.url.includes('/operationResults/'));
    expect(polls[0]?.status).toBe(503);
    // The next look (2 s later) may come after the watch already saw the target hold the digest.
    for (const poll of polls.slice(1)) {
      expect(poll.url).toBe(polls[0]?.url);
      expect([200, 202]).toContain(poll.status);
    }
  });

  it.each(['status', 'http'] as const)(
    'reports a failed import (failure form %s) with ARM message and the hint',
    async (failureForm) => {
      const message =
        'Invalid message Unauthorized Unauthorized {"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}';
      const { run, repository } = await importHubImage({
        failureForm,
        failImports: { count: 1, code: 'InvalidParameters', message },
      });
      expect(run.exitCode).toBe(1);
      const text = errorText(run);
      expect(text).toContain('InvalidParameters');
      expect(text).toContain('authentication required');
      expect(text).toContain('source-username and source-password');
      const [result] = results(run);
      expect(result!.status).toBe('failed');
      expect(result!.error).toContain('authentication required');
      expect(run.summary).toContain('authentication required');
      expect(run.summary).toContain('source-username and source-password');
      expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBeUndefined();
    },
  );

  it('ends a hung import at timeout, naming the image and the operation, while the other image finishes', async () => {
    const hung = bed.sources.hub.images['ociSingle']!;
    const fine = bed.sources.hub.images['dockerSingle']!;
    const hungRepo = fresh('hung');
    const fineRepo = fresh('fine');
    const hungSource = `${bed.sources.hub.host}/${hung.repository}:${hung.tag}`;
    const fineSource = `${bed.sources.hub.host}/${fine.repository}:${fine.tag}`;
    await bed.control.setFaults({ hangImports: { sourceRepository: hung.repository } });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      images: `${hungSource} -> ${hungRepo}:1\n${fineSource} -> ${fineRepo}:1`,
      timeout: '3s',
    });
    expect(run.exitCode).toBe(1);
    expect(run.durationMs).toBeGreaterThanOrEqual(3_000);
    expect(run.durationMs).toBeLessThan(9_000);

    const polls = (await log('arm')).filter((e) => e.url.includes('/operationResults/'));
    const operation = new URL(polls[0]!.url, 'https://x').pathname;
    const [hungResult, fineResult] = results(run);
    expect(hungResult).toMatchObject({ source: hungSource, status: 'failed' });
    expect(hungResult!.error).toContain(hungSource);
    expect(hungResult!.error).toContain('3s');
    expect(hungResult!.error).toContain(operation);
    expect(errorText(run)).toContain(operation);

    const landed = await bed.digestOf(bed.acrs.target, fineRepo, '1');
    expect(landed).toBe(fine.digest);
    expect(fineResult).toMatchObject({
      status: 'imported',
      targets: [{ ref: `${bed.acrs.target.loginServer}/${fineRepo}:1`, digest: fine.digest }],
    });
    expect(run.outputs['images']).toBe(`${bed.acrs.target.loginServer}/${fineRepo}@${fine.digest}`);
    expect(await bed.digestOf(bed.acrs.target, hungRepo, '1')).toBeUndefined();
  });
});

describe('long runs', () => {
  it('renews tokens that expire mid-run, with a fresh GitHub ID token for each sign-in', async () => {
    const keys = ['ociSingle', 'dockerSingle', 'manifestList', 'helm'] as const;
    const images = keys.map((k) => bed.sources.hub.images[k]!);
    const repos = keys.map((k) => fresh(`long-${k.toLowerCase()}`));
    // Every token lives 2 s; four imports one after another, each copied 0.7 s late, take longer than that.
    await bed.control.setFaults({ tokenLifetimeSeconds: 2, importDelayMs: 700 });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      images: images
        .map((im, i) => `${bed.sources.hub.host}/${im.repository}:${im.tag} -> ${repos[i]}:1`)
        .join('\n'),
      'max-parallel': '1',
    });
    expectSuccess(run);
    for (const [i, im] of images.entries())
      expect(await bed.digestOf(bed.acrs.target, repos[i]!, '1')).toBe(im.digest);
    expect(run.durationMs).toBeGreaterThan(2_000);

    const arm = await log('arm');
    const armTokens = new Set(arm.map((e) => e.headers['authorization']));
    expect(armTokens.size).toBeGreaterThan(1);
    // No ARM request failed for good on an expired token.
    expect(arm.filter((e) => e.status === 401).length).toBeLessThanOrEqual(1);
    // Each assertion Entra saw was a GitHub ID token that had not expired.
    const assertions = (await log('entra'))
      .filter((e) => e.method === 'POST')
      .map((e) => ({ at: e.time, jwt: new URLSearchParams(e.body).get('client_assertion') ?? '' }));
    expect(assertions.length).toBeGreaterThan(1);
    for (const { at, jwt } of assertions) {
      const exp = (
        JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number }
      ).exp;
      expect(exp * 1000).toBeGreaterThan(at);
    }
  });

  it('after a partial batch failure, outputs and summary say which images landed (verified) and which did not, and why', async () => {
    const hub = bed.sources.hub;
    const a = hub.images['ociSingle']!;
    const c = hub.images['dockerSingle']!;
    const d = hub.images['manifestList']!;
    const [ra, rb, rc, rd] = ['batch-a', 'batch-b', 'batch-c', 'batch-d'].map(fresh) as [
      string,
      string,
      string,
      string,
    ];
    const sources = [
      `${hub.host}/${a.repository}:${a.tag}`,
      `${hub.host}/library/hello:no-such-tag`,
      `${hub.host}/${c.repository}:${c.tag}`,
      `${hub.host}/${d.repository}:${d.tag}`,
    ] as const;
    // One at a time, so the first import call (image 1) is the one that fails.
    await bed.control.setFaults({
      failImports: {
        count: 1,
        code: 'InvalidParameters',
        message: `Operation registries-1 failed. Resource x Error copying blobs`,
      },
    });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      images: [
        `${sources[0]} -> ${ra}:1`,
        `${sources[1]} -> ${rb}:1`,
        `${sources[2]} -> ${rc}:1`,
        `${sources[3]} -> ${rd}:1`,
      ].join('\n'),
      'max-parallel': '1',
    });
    expect(run.exitCode).toBe(1);
    const login = bed.acrs.target.loginServer;
    const landedC = await bed.digestOf(bed.acrs.target, rc, '1');
    const landedD = await bed.digestOf(bed.acrs.target, rd, '1');
    expect(landedC).toBe(c.digest);
    expect(landedD).toBe(d.digest);
    expect(await bed.digestOf(bed.acrs.target, ra, '1')).toBeUndefined();
    expect(await bed.digestOf(bed.acrs.target, rb, '1')).toBeUndefined();

    const r = results(run);
    expect(r.map((x) => x.status)).toEqual(['failed', 'failed', 'imported', 'imported']);
    expect(r[0]!.error).toContain('Error copying blobs');
    expect(r[1]!.error).toContain('no-such-tag');
    expect(r[2]!.targets).toEqual([{ ref: `${login}/${rc}:1`, digest: landedC }]);
    expect(r[3]!.targets).toEqual([{ ref: `${login}/${rd}:1`, digest: landedD }]);
    expect(run.outputs['images']!.split('\n').sort()).toEqual(
      [`${login}/${rc}@${landedC}`, `${login}/${rd}@${landedD}`].sort(),
    );
    // `digest` is the first image's, and the first image did not land.
    expect(run.outputs['digest']).toBe('');

    // The summary: a row per image with its status, the full digests of what landed, the reasons of what did not.
    expect(run.summary).toContain('2 of 4 failed');
    const rows = run.summary.split('\n').filter((l) => /^\| (✅|❌|🔄|⏸️|📝|📤) /u.test(l));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toContain('failed');
    expect(rows[1]).toContain('failed');
    expect(rows[2]).toContain('imported');
    expect(rows[3]).toContain('imported');
    expect(run.summary).toContain(landedC!);
    expect(run.summary).toContain(landedD!);
    expect(run.summary).toContain('Error copying blobs');
    expect(run.summary).toContain('no-such-tag');
    // The step's error says the same.
    const text = errorText(run);
    expect(text).toContain('2 of 4 images failed');
    expect(text).toContain(sources[0]);
    expect(text).toContain(sources[1]);
    expect(text).toContain(`${sources[2]} -> ${login}/${rc}:1: imported ${landedC}`);
    expect(text).toContain(`${sources[3]} -> ${login}/${rd}:1: imported ${landedD}`);
  });
});
