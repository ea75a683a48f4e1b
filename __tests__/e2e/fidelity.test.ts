/**
 * Issue 10: the action as it runs where users run it, against an emulator as strict as Azure: a custom cloud's ARM
 * audience read from its metadata; auth: auto on a runner with an Azure CLI that is (not) signed in; a source the
 * runner cannot reach; an unauthenticated private source; a target index that lost a platform manifest; failed
 * operations reported at once; long throttling; request ids for support cases. Everything through the bundle
 * (`node dist/index.js`), PATH and DNS set up by each test.
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { useBed } from '../bed-hooks.js';
import type { StartedBed } from '../../testbed/bed.js';
import { standInCalls, writeStandInAz } from '../../testbed/az-stand-in.js';
import { freePorts } from '../../testbed/registries.js';
import { pathWithoutAz, runAction, type ActionRun } from '../../testbed/run-action.js';
import { UNRESOLVABLE_DNS_OPTIONS } from '../../testbed/unresolvable-dns.js';
import { EMULATOR_ARM_AUDIENCE } from '../../testbed/emulator/state.js';

let bed: StartedBed;
useBed((started) => {
  bed = started;
});

interface ResultJson {
  source: string;
  sourceDigest: string | null;
  targets: { ref: string; digest: string | null }[];
  status: string;
  error?: string;
  notes?: string[];
}

const results = (run: ActionRun): ResultJson[] => JSON.parse(run.outputs['results'] ?? '[]') as ResultJson[];
const annotations = (run: ActionRun, level: 'error' | 'warning'): string =>
  run.annotations
    .filter((a) => a.level === level)
    .map((a) => a.message)
    .join('\n');

function expectSuccess(run: ActionRun): void {
  if (run.exitCode !== 0) throw new Error(`action failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
}

let counter = 0;
const fresh = (name: string): string => `fidelity/${name}-${++counter}`;

const noIdToken = { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined };

function mcrSource(key: 'multiArch' | 'dockerSingle'): {
  source: string;
  digest: string;
  repository: string;
} {
  const image = bed.sources.mcr.images[key]!;
  return {
    source: `${bed.sources.mcr.host}/${image.repository}:${image.tag}`,
    digest: image.digest,
    repository: image.repository,
  };
}

/** A directory with a stand-in az (signed in or not), put first on a PATH that has no real one. */
async function pathWithStandInAz(signedIn: boolean): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(bed.dir, 'az-'));
  await writeStandInAz(
    dir,
    signedIn
      ? {
          signedIn: true,
          authorityHost: bed.entra.authorityHost,
          tenantId: bed.tenants.main,
          clientId: bed.principals.deployer.clientId,
          clientSecret: bed.principals.deployer.clientSecret!,
          subscriptionId: bed.subscriptions.main,
        }
      : { signedIn: false },
  );
  return { dir, path: `${dir}:${pathWithoutAz(process.env['PATH'] ?? '')}` };
}

// ---------------------------------------------------------------------------------------------------------------------
// 1. Custom clouds

describe('a custom cloud (resource-manager-endpoint)', () => {
  it('signs in with the ARM audience and authority read from /metadata/endpoints (array form)', async () => {
    const { source, digest } = mcrSource('dockerSingle');
    const inputs: Record<string, string> = {
      ...bed.baseInputs(),
      source,
      'target-tags': `${fresh('cloud')}:1`,
    };
    delete inputs['authority-host'];
    const run = await runAction(bed, inputs);
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(digest);
    const metadata = await bed.control.requests({ service: 'armmetadata' });
    expect(metadata.map((e) => e.url)).toEqual(['/metadata/endpoints?api-version=2022-09-01']);
    // The token was asked for the audience the metadata named (never the ARM URL), at the metadata's loginEndpoint.
    const scopes = (await bed.control.requests({ service: 'entra' }))
      .filter((e) => e.method === 'POST')
      .map((e) => new URLSearchParams(e.body).get('scope'));
    expect(scopes).toContain(`${EMULATOR_ARM_AUDIENCE}/.default`);
    expect(scopes.some((s) => s?.startsWith(bed.arm.endpoint))).toBe(false);
    expect(run.stdout).toContain(`ARM token audience ${EMULATOR_ARM_AUDIENCE}`);
    expect(run.stdout).toContain(`authority ${bed.entra.authorityHost}`);
  });

  it('reads the 2015-01-01 object form from an older cloud that refuses the array form', async () => {
    await bed.control.setFaults({ armMetadata: 'legacy' });
    const { source, digest } = mcrSource('dockerSingle');
    const run = await runAction(bed, { ...bed.baseInputs(), source, 'target-tags': `${fresh('legacy')}:1` });
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(digest);
    const metadata = await bed.control.requests({ service: 'armmetadata' });
    expect(metadata.map((e) => [e.url, e.status])).toEqual([
      ['/metadata/endpoints?api-version=2022-09-01', 400],
      ['/metadata/endpoints?api-version=2015-01-01', 200],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// 2, 3. auth: auto and the Azure CLI

describe('auth: auto and the Azure CLI', () => {
  it('with az installed but not signed in and no id-token permission, lists what each mode needed', async () => {
    const az = await pathWithStandInAz(false);
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), 'client-id': '', source: mcrSource('dockerSingle').source },
      { env: { ...noIdToken, PATH: az.path } },
    );
    expect(run.exitCode).toBe(1);
    const text = annotations(run, 'error');
    expect(text).toContain('permissions: id-token: write');
    expect(text).toMatch(/oidc.*client-id \(missing\) and tenant-id \(set\)/);
    expect(text).toContain('client-secret: needs client-secret');
    expect(text).toMatch(/azure-cli: needs an az [a-z ]*signed in/);
    expect(text).toContain('az is installed but not signed in');
    expect(text).toContain('managed-identity');
    expect(text).not.toContain("az login'");
    expect((await standInCalls(az.dir)).map((a) => a.slice(0, 2).join(' '))).toEqual(['account show']);
    expect(await bed.control.requests({ service: 'arm' })).toHaveLength(0);
  });

  it('on a self-hosted runner with az not signed in, reaches the managed identity', async () => {
    const az = await pathWithStandInAz(false);
    const mi = bed.managedIdentity;
    const { source, digest } = mcrSource('dockerSingle');
    const repository = fresh('mi');
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), 'client-id': '', source, 'target-tags': `${repository}:1` },
      {
        env: {
          ...noIdToken,
          PATH: az.path,
          RUNNER_ENVIRONMENT: 'self-hosted',
          IDENTITY_ENDPOINT: mi.endpoint,
          IDENTITY_HEADER: mi.header,
        },
      },
    );
    expectSuccess(run);
    expect(run.stdout).toContain('Signing in to Azure (managed-identity)');
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
  });

  it('uses a signed-in az (auth: auto, no id-token permission)', async () => {
    const az = await pathWithStandInAz(true);
    const { source, digest } = mcrSource('dockerSingle');
    const repository = fresh('cli');
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), source, 'target-tags': `${repository}:1` },
      { env: { ...noIdToken, PATH: az.path } },
    );
    expectSuccess(run);
    expect(run.stdout).toContain('Signing in to Azure (azure-cli)');
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
    const calls = (await standInCalls(az.dir)).map((a) => a.slice(0, 2).join(' '));
    expect(calls[0]).toBe('account show');
    expect(calls).toContain('account get-access-token');
  });

  it("an az on the machine's PATH does not reach a test that did not ask for one", async () => {
    // As on an ubuntu-latest runner: the machine has an az (here a signed-in one) first on PATH.
    const az = await pathWithStandInAz(true);
    const saved = process.env['PATH'];
    process.env['PATH'] = az.path;
    let run: ActionRun;
    try {
      run = await runAction(
        bed,
        { ...bed.baseInputs(), source: mcrSource('dockerSingle').source },
        { env: noIdToken },
      );
    } finally {
      process.env['PATH'] = saved;
    }
    expect(run.exitCode).toBe(1);
    expect(annotations(run, 'error')).toContain('permissions: id-token: write');
    expect(annotations(run, 'error')).toContain('no az on PATH');
    expect(await standInCalls(az.dir)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// 4. A source the runner cannot reach

describe('a source the runner cannot reach', () => {
  async function unreachableRun(
    sourceHost: string,
    extra: Record<string, string> = {},
    env: Record<string, string | undefined> = {},
  ): Promise<{ run: ActionRun; repository: string; digest: string }> {
    const image = bed.sources.mcr.images['dockerSingle']!;
    await bed.control.setFaults({ azureReaches: { [sourceHost]: bed.sources.mcr.host } });
    const repository = fresh('unreachable');
    const run = await runAction(
      bed,
      {
        ...bed.baseInputs(),
        source: `${sourceHost}/${image.repository}:${image.tag}`,
        'target-tags': `${repository}:1`,
        ...extra,
      },
      { env },
    );
    return { run, repository, digest: image.digest };
  }

  function expectImportedByTag(run: ActionRun, digest: string): void {
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(digest);
    expect(annotations(run, 'warning')).toContain('cannot be reached from the runner');
    expect(annotations(run, 'warning')).toContain('importing by tag');
    const [result] = results(run);
    expect(result!.status).toBe('imported');
    expect(result!.sourceDigest).toBe(digest);
    expect(result!.notes?.join(' ')).toContain('digest was read from the target after the import');
    expect(run.summary).toContain('digest was read from the target after the import');
  }

  it('refused: fails fast and imports by tag, the digest read from the target', async () => {
    const [closed] = await freePorts(1);
    const { run, repository, digest } = await unreachableRun(`127.0.0.1:${closed}`);
    expectImportedByTag(run, digest);
    expect(annotations(run, 'warning')).toContain('connection was refused');
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
    expect(run.durationMs).toBeLessThan(6_000);
  });

  it('a name that does not resolve: no retries, imports by tag', async () => {
    const { run, repository, digest } = await unreachableRun(
      'registry.unresolvable.test:5000',
      {},
      { NODE_OPTIONS: UNRESOLVABLE_DNS_OPTIONS },
    );
    expectImportedByTag(run, digest);
    expect(annotations(run, 'warning')).toContain('does not resolve');
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
    expect(run.durationMs).toBeLessThan(5_000);
  });

  it('a connection attempt that times out: one attempt, imports by tag', async () => {
    // Accepts TCP and never answers the TLS handshake, as a firewall that drops packets looks from the runner.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const { run, repository, digest } = await unreachableRun(`127.0.0.1:${port}`);
      expectImportedByTag(run, digest);
      expect(annotations(run, 'warning')).toContain('the connection timed out');
      expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
      // One 5 s connection attempt, not a series of retries.
      expect(sockets.size).toBe(1);
      expect(run.durationMs).toBeLessThan(9_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('pin-digest: strict refuses the fallback, says why and the way out, imports nothing', async () => {
    const [closed] = await freePorts(1);
    const { run, repository } = await unreachableRun(`127.0.0.1:${closed}`, { 'pin-digest': 'strict' });
    expect(run.exitCode).toBe(1);
    const text = annotations(run, 'error');
    expect(text).toContain('cannot be reached from the runner');
    expect(text).toContain('pin-digest: strict refuses');
    expect(text).toContain('pin-digest: true');
    expect(
      (await bed.control.requests({ service: 'arm' })).filter((e) => e.url.includes('/importImage')),
    ).toEqual([]);
    expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// 5. A source that wants credentials, given none

it('a private source given no credentials says it needs them (not that they were refused)', async () => {
  const image = bed.sources.private.images['ociSingle']!;
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    source: `${bed.sources.private.host}/${image.repository}:${image.tag}`,
    'target-tags': `${fresh('private')}:1`,
  });
  expect(run.exitCode).toBe(1);
  const text = annotations(run, 'error');
  expect(text).toMatch(/this registry needs credentials: set source-username and source-password/i);
  expect(text).not.toContain('refused the credentials');
});

// ---------------------------------------------------------------------------------------------------------------------
// 6. unchanged means complete

it('a target index that lost a platform manifest is imported again, not called unchanged', async () => {
  const { source, digest } = mcrSource('multiArch');
  const seeded = bed.sources.mcr.images['multiArch']!;
  const repository = fresh('repair');
  const inputs = { ...bed.baseInputs(), source, 'target-tags': `${repository}:1` };
  await bed.control.setFaults({ retryAfter: 1 });
  expectSuccess(await runAction(bed, inputs));
  const lost = seeded.platforms[1]!.digest;
  const del = await fetch(`${bed.acrs.target.backendUrl}/v2/${repository}/manifests/${lost}`, {
    method: 'DELETE',
  });
  expect(del.status).toBe(202);
  expect(await bed.digestOf(bed.acrs.target, repository, lost)).toBeUndefined();

  await bed.control.clearRequests();
  const run = await runAction(bed, inputs);
  expectSuccess(run);
  const [result] = results(run);
  expect(result!.status).toBe('imported');
  expect(result!.notes?.join(' ')).toContain(`not 1 of its manifests (${repository}@${lost})`);
  expect(annotations(run, 'warning')).toContain('imported it again');
  expect(run.summary).toContain('imported it again');
  expect(await bed.digestOf(bed.acrs.target, repository, lost)).toBe(lost);
  expect(await bed.digestOf(bed.acrs.target, repository, '1')).toBe(digest);
  const imports = (await bed.control.requests({ service: 'arm' })).filter((e) =>
    e.url.includes('/importImage'),
  );
  expect(imports).toHaveLength(1);
  expect(JSON.parse(imports[0]!.body)).toMatchObject({ mode: 'NoForce' });
});

// ---------------------------------------------------------------------------------------------------------------------
// 7, 8. Failures reported at once; long throttling

it('an operation that failed with HTTP 500 and an error body is reported at once (one poll)', async () => {
  await bed.control.setFaults({
    failureForm: 'http',
    failImports: { count: 1, code: 'InternalServerError', message: 'The import failed inside the service.' },
    retryAfter: 1,
  });
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    source: mcrSource('dockerSingle').source,
    'target-tags': `${fresh('failed500')}:1`,
  });
  expect(run.exitCode).toBe(1);
  expect(annotations(run, 'error')).toContain('The import failed inside the service.');
  const polls = (await bed.control.requests({ service: 'arm' })).filter((e) =>
    e.url.includes('/operationResults/'),
  );
  expect(polls.map((p) => p.status)).toEqual([500]);
  expect(run.durationMs).toBeLessThan(5_000);
});

it('throttling longer than the timeout leaves fails at once, saying to raise timeout', async () => {
  await bed.control.setFaults({ throttle: { service: 'arm', count: 1, retryAfter: 200 } });
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    source: mcrSource('dockerSingle').source,
    'target-tags': `${fresh('throttled')}:1`,
    timeout: '30s',
  });
  expect(run.exitCode).toBe(1);
  const text = annotations(run, 'error');
  expect(text).toContain('SubscriptionRequestsThrottled');
  expect(text).toContain('it asked to wait 200 s');
  expect(text).toContain('Raise timeout');
  expect(run.durationMs).toBeLessThan(5_000);
});

// ---------------------------------------------------------------------------------------------------------------------
// 9. Wording and request ids

it('with pin-digest: false, an existing tag is not called "another image"', async () => {
  const { source } = mcrSource('dockerSingle');
  const repository = fresh('unpinned');
  const inputs = { ...bed.baseInputs(), source, 'target-tags': `${repository}:1` };
  expectSuccess(await runAction(bed, inputs));
  // The stricter reading of NoForce: any existing tag fails, even one holding the same manifest.
  await bed.control.setFaults({ strictNoForce: true, retryAfter: 1 });
  const run = await runAction(bed, { ...inputs, 'pin-digest': 'false' });
  expect(run.exitCode).toBe(1);
  const text = annotations(run, 'error');
  expect(text).toContain('already exists');
  expect(text).not.toContain('another image');
  expect(text).toContain('pin-digest: true');
  expect(text).toContain('force: true');
});

it('an "Authentication failed" import failure gets the credentials hint, whatever its case', async () => {
  await bed.control.setFaults({
    failImports: {
      count: 1,
      code: 'InvalidParameters',
      message: 'Error copying blobs: Authentication Failed: incorrect username or password',
    },
    retryAfter: 1,
  });
  const run = await runAction(bed, {
    ...bed.baseInputs(),
    source: mcrSource('dockerSingle').source,
    'target-tags': `${fresh('authfailed')}:1`,
  });
  expect(run.exitCode).toBe(1);
  expect(annotations(run, 'error')).toContain('source-username and source-password');
});

it('sends a fresh x-ms-client-request-id on every ARM request and logs it with the correlation id', async () => {
  const run = await runAction(
    bed,
    { ...bed.baseInputs(), source: mcrSource('dockerSingle').source, 'target-tags': `${fresh('ids')}:1` },
    { env: { RUNNER_DEBUG: '1' } },
  );
  expectSuccess(run);
  const arm = await bed.control.requests({ service: 'arm' });
  expect(arm.length).toBeGreaterThanOrEqual(2);
  const ids = arm.map((e) => e.headers['x-ms-client-request-id']);
  for (const id of ids)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(new Set(ids).size).toBe(ids.length);
  for (const entry of arm) {
    const correlation = entry.responseIds?.['x-ms-correlation-request-id'];
    expect(correlation).toBeDefined();
    expect(run.stdout).toContain(
      `x-ms-client-request-id ${entry.headers['x-ms-client-request-id']}, x-ms-correlation-request-id ${correlation}`,
    );
  }
});
