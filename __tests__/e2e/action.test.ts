/**
 * The bundled action (`node dist/index.js`), run exactly as a GitHub runner runs it, against the emulator and real
 * registries on 127.0.0.1. Every digest an output claims is checked against the target's backing registry, read
 * independently of the action.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { useBed } from '../bed-hooks.js';
import { runAction } from '../../testbed/run-action.js';
import { expectSuccess, failureText, importCalls as importCallsOf, results } from './scenario-helpers.js';

let bed: StartedBed;
const importCalls = () => importCallsOf(bed);

useBed((started) => {
  bed = started;
});

describe('import into ACR through the bundle', () => {
  it('imports a multi-arch image by tag from a Bearer-challenge registry, pinned, with every platform', async () => {
    const hub = bed.sources.hub;
    const seeded = hub.images['multiArch']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${seeded.repository}:${seeded.tag}`,
      'target-tags': 'mirror/hello:stable',
    });
    expectSuccess(run);

    const held = await bed.digestOf(bed.acrs.target, 'mirror/hello', 'stable');
    expect(held).toBe(seeded.digest);
    expect(run.outputs['digest']).toBe(held);
    expect(run.outputs['images']).toBe(`${bed.acrs.target.loginServer}/mirror/hello@${seeded.digest}`);
    for (const p of seeded.platforms) {
      expect(await bed.digestOf(bed.acrs.target, 'mirror/hello', p.digest)).toBe(p.digest);
    }
    const [result] = results(run);
    expect(result).toMatchObject({
      status: 'imported',
      sourceDigest: seeded.digest,
      mediaType: seeded.mediaType,
      targets: [{ ref: `${bed.acrs.target.loginServer}/mirror/hello:stable`, digest: seeded.digest }],
    });
    expect(result!.platforms).toEqual(
      seeded.platforms.map((p) => ({ platform: p.platform, digest: p.digest })),
    );

    // Pinned: ARM was asked for the digest, not the tag.
    const [call] = await importCalls();
    expect(JSON.parse(call!.body)).toMatchObject({
      source: { registryUri: hub.host, sourceImage: `${seeded.repository}@${seeded.digest}` },
      targetTags: ['mirror/hello:stable'],
      mode: 'NoForce',
    });
    // Finished by watching the target: the operation URL (Retry-After: 10) was never polled.
    const polls = (await bed.control.requests({ service: 'arm' })).filter((r) =>
      r.url.includes('operationResults'),
    );
    expect(polls).toHaveLength(0);

    expect(run.summary).toContain('mirror/hello:stable');
    expect(run.summary).toContain('imported');
    for (const p of seeded.platforms) expect(run.summary).toContain(p.platform);
  });

  it('imports from a private registry with credentials, which go only into the import body', async () => {
    const priv = bed.sources.private;
    const seeded = priv.images['ociSingle']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${priv.host}/${seeded.repository}:${seeded.tag}`,
      'target-tags': 'private/tool:2.0',
      'source-username': priv.username!,
      'source-password': priv.password!,
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 'private/tool', '2.0')).toBe(seeded.digest);
    expect(run.outputs['digest']).toBe(seeded.digest);
    const [call] = await importCalls();
    expect(JSON.parse(call!.body).source.credentials).toEqual({
      username: priv.username,
      password: priv.password,
    });
    expect(run.masks).toContain(priv.password);
    // The runner replaces masked values in the log; anywhere but in the ::add-mask:: command itself it would leak.
    const log = (run.stdout + run.stderr).replace(/^::add-mask::.*$/gm, '');
    expect(log).not.toContain(priv.password!);
  });

  it('imports by digest, and takes the digest over the tag in repo:tag@digest', async () => {
    const mcr = bed.sources.mcr;
    const seeded = mcr.images['multiArch']!;
    const byDigest = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${mcr.host}/${seeded.repository}@${seeded.digest}`,
      'target-tags': 'dotnet/runtime:pinned',
    });
    expectSuccess(byDigest);
    expect(await bed.digestOf(bed.acrs.target, 'dotnet/runtime', 'pinned')).toBe(seeded.digest);

    const tagAndDigest = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${mcr.host}/${seeded.repository}:no-such-tag@${seeded.digest}`,
      'target-tags': 'dotnet/runtime:both',
    });
    expectSuccess(tagAndDigest);
    expect(await bed.digestOf(bed.acrs.target, 'dotnet/runtime', 'both')).toBe(seeded.digest);
    expect(results(tagAndDigest)[0]!.sourceDigest).toBe(seeded.digest);
  });

  it('refuses to move an existing tag without force, then moves it with force', async () => {
    const hub = bed.sources.hub;
    const first = hub.images['ociSingle']!;
    const second = hub.images['dockerSingle']!;
    expectSuccess(
      await runAction(bed, {
        ...bed.baseInputs(),
        source: `${hub.host}/${first.repository}:${first.tag}`,
        'target-tags': 'moving/app:prod',
      }),
    );
    await bed.control.clearRequests();

    const refused = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${second.repository}:${second.tag}`,
      'target-tags': 'moving/app:prod',
    });
    expect(refused.exitCode).toBe(1);
    expect(failureText(refused)).toContain(`moving/app:prod (now ${first.digest})`);
    expect(failureText(refused)).toContain(second.digest);
    expect(failureText(refused)).toContain('force: true');
    expect(await importCalls()).toHaveLength(0);
    expect(await bed.digestOf(bed.acrs.target, 'moving/app', 'prod')).toBe(first.digest);

    const forced = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${second.repository}:${second.tag}`,
      'target-tags': 'moving/app:prod',
      force: 'true',
    });
    expectSuccess(forced);
    expect(results(forced)[0]!.status).toBe('updated');
    expect(await bed.digestOf(bed.acrs.target, 'moving/app', 'prod')).toBe(second.digest);
  });

  it('a re-run is unchanged and makes no import call', async () => {
    const hub = bed.sources.hub;
    const seeded = hub.images['dockerSingle']!;
    const inputs = {
      ...bed.baseInputs(),
      source: `${hub.host}/${seeded.repository}:${seeded.tag}`,
      'target-tags': 'rerun/debian:12',
    };
    expectSuccess(await runAction(bed, inputs));
    await bed.control.clearRequests();
    const again = await runAction(bed, inputs);
    expectSuccess(again);
    expect(results(again)[0]!.status).toBe('unchanged');
    expect(again.outputs['digest']).toBe(seeded.digest);
    expect(await importCalls()).toHaveLength(0);
  });

  it('copies into an untagged repository', async () => {
    const hub = bed.sources.hub;
    const seeded = hub.images['manifestList']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${seeded.repository}:${seeded.tag}`,
      'target-tags': 'lists/busybox:1.36',
      'untagged-repositories': 'archive/busybox',
    });
    expectSuccess(run);
    expect(await bed.digestOf(bed.acrs.target, 'archive/busybox', seeded.digest)).toBe(seeded.digest);
    expect(await bed.digestOf(bed.acrs.target, 'archive/busybox', seeded.tag)).toBeUndefined();
    expect(results(run)[0]!.targets).toEqual(
      expect.arrayContaining([
        { ref: `${bed.acrs.target.loginServer}/archive/busybox`, digest: seeded.digest },
      ]),
    );
  });

  it('with wait: false submits, outputs the resolved digest, and says it did not verify', async () => {
    const hub = bed.sources.hub;
    const seeded = hub.images['helm']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${hub.host}/${seeded.repository}:${seeded.tag}`,
      'target-tags': 'nowait/chart:0.1.0',
      wait: 'false',
    });
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(seeded.digest);
    expect(results(run)[0]!.status).toBe('submitted');
    expect(run.summary).toContain('did not wait');
    expect(await importCalls()).toHaveLength(1);
  });

  it('translates 403 AuthorizationFailed into the role to grant', async () => {
    const hub = bed.sources.hub;
    const seeded = hub.images['ociSingle']!;
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'client-id': bed.principals.reader.clientId,
      'resource-group': bed.acrs.target.resourceGroup,
      source: `${hub.host}/${seeded.repository}:${seeded.tag}`,
      'target-tags': 'denied/app:1',
    });
    expect(run.exitCode).toBe(1);
    const text = failureText(run);
    if (!text.includes('AuthorizationFailed'))
      throw new Error(`unexpected failure:\n${run.stdout}\n${run.stderr}`);
    expect(text).toContain('Container Registry Data Importer and Data Reader');
    expect(text).toContain(bed.acrs.target.resourceId);
    expect(await bed.digestOf(bed.acrs.target, 'denied/app', '1')).toBeUndefined();
  });

  it('when no federated credential matches, shows the subject the run presented and the credential to add', async () => {
    await bed.control.setFaults({ oidcSubject: 'repo:acme/app:pull_request' });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: `${bed.sources.mcr.host}/${bed.sources.mcr.images['dockerSingle']!.repository}:latest`,
    });
    expect(run.exitCode).toBe(1);
    const text = failureText(run);
    expect(text).toMatch(/AADSTS7002(1|13)/);
    expect(text).toContain("subject 'repo:acme/app:pull_request'");
    expect(text).toContain(`az ad app federated-credential create --id ${bed.principals.deployer.clientId}`);
    expect(text).toContain('"subject":"repo:acme/app:pull_request"');
  });

  it.each(['managed-identity', 'auto'])(
    'signs in with a managed identity on a self-hosted runner (auth: %s)',
    async (auth) => {
      const mcr = bed.sources.mcr;
      const seeded = mcr.images['multiArch']!;
      const mi = bed.managedIdentity;
      const run = await runAction(
        bed,
        {
          ...bed.baseInputs(),
          auth,
          'client-id': auth === 'auto' ? '' : mi.clientId,
          source: `${mcr.host}/${seeded.repository}:${seeded.tag}`,
          'target-tags': `mi/${auth}:1`,
        },
        {
          env: {
            RUNNER_ENVIRONMENT: 'self-hosted',
            ACTIONS_ID_TOKEN_REQUEST_URL: undefined,
            ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined,
            IDENTITY_ENDPOINT: mi.endpoint,
            IDENTITY_HEADER: mi.header,
          },
        },
      );
      expectSuccess(run);
      expect(run.stdout).toContain('Signing in to Azure (managed-identity)');
      expect(await bed.digestOf(bed.acrs.target, `mi/${auth}`, '1')).toBe(seeded.digest);
      expect(await bed.control.requests({ service: 'oidc' })).toHaveLength(0);
      expect((await bed.control.requests({ service: 'msi' })).length).toBeGreaterThan(0);
    },
  );

  it('a summary that cannot be written is a warning, not a failure', async () => {
    const mcr = bed.sources.mcr;
    const seeded = mcr.images['dockerSingle']!;
    const run = await runAction(
      bed,
      {
        ...bed.baseInputs(),
        source: `${mcr.host}/${seeded.repository}:${seeded.tag}`,
        'target-tags': 'nosummary/app:1',
      },
      { env: { GITHUB_STEP_SUMMARY: bed.dir } },
    );
    expectSuccess(run);
    expect(run.outputs['digest']).toBe(seeded.digest);
    expect(
      run.annotations
        .filter((a) => a.level === 'warning')
        .map((a) => a.message)
        .join('\n'),
    ).toContain('Could not write the job summary');
  });

  it('without an ID token names the permission to add, and makes no request', async () => {
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), auth: 'oidc', source: `${bed.sources.hub.host}/library/hello:latest` },
      { env: { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined } },
    );
    expect(run.exitCode).toBe(1);
    expect(failureText(run)).toContain('permissions: id-token: write');
    expect(await bed.control.requests()).toHaveLength(0);
  });
});
