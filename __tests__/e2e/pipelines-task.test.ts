/**
 * The Azure Pipelines task end to end: the bundled task (azure-pipelines/AcrImportV1/index.js, as task.json's
 * execution.Node24.target names it) run by testbed/run-task.ts with the environment an agent gives it, signed in
 * through each kind of service connection against the emulator. What a pipeline author sees is asserted: the
 * output variables' exact logging commands, the one task.complete, the uploaded summary file, the issues, and the
 * digest the target registry holds (read back by the bed's own client).
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedBed } from '../../testbed/bed.js';
import {
  bedAgentEnv,
  bedServiceConnection,
  type ConnectionKind,
  type ServiceConnectionSpec,
} from '../../testbed/agent-env.js';
import { agentWorkFolder, runTask, TASK_ENTRY, type TaskRun } from '../../testbed/run-task.js';
import { REPO_ROOT } from '../../testbed/run-action.js';
import { useBed } from '../bed-hooks.js';

let bed: StartedBed;
let parent: string;

useBed(async (started) => {
  bed = started;
  parent = await mkdtemp(join(tmpdir(), 'azp-task-'));
});
afterAll(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
});

const hub = (): StartedBed['sources']['hub'] => bed.sources.hub;

async function task(
  connection: ServiceConnectionSpec,
  inputs: Record<string, string>,
  extra: Record<string, string | undefined> = {},
): Promise<TaskRun & { workFolder: string }> {
  const workFolder = await agentWorkFolder(parent);
  const env = bedAgentEnv(bed, connection, { registry: bed.acrs.target.name, ...inputs }, workFolder);
  const run = await runTask(env, { env: extra });
  return { ...run, workFolder };
}

/** The agent's escaping of a logging command's message part. */
const data = (value: string): string =>
  value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

const lines = (run: TaskRun): string[] => run.stdout.split('\n').filter((l) => l !== '');

/** Every secret in `secrets` is declared before the first line that is not a declaration, and appears only there. */
function expectSecretsOnlyDeclared(run: TaskRun, secrets: readonly string[]): void {
  const all = lines(run);
  const firstOther = all.findIndex((l) => !l.startsWith('##vso[task.setsecret]'));
  expect(firstOther).toBeGreaterThan(0);
  for (const secret of secrets) {
    for (const part of secret
      .split(/\r?\n/)
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = all.indexOf(`##vso[task.setsecret]${data(part)}`);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at).toBeLessThan(firstOther);
      expect(all.filter((l) => l.includes(part) && !l.startsWith('##vso[task.setsecret]'))).toEqual([]);
      expect(run.stderr).not.toContain(part);
    }
  }
}

/** The run imported `repo:tag` and says so: digest output = the target's digest = the source's; one Succeeded. */
async function expectImported(run: TaskRun, repo: string, tag: string, digest: string): Promise<void> {
  expect(run.log.completions).toEqual([{ result: 'Succeeded', message: 'Imported 1 image' }]);
  expect(run.exitCode).toBe(0);
  expect(await bed.digestOf(bed.acrs.target, repo, tag)).toBe(digest);
  expect(run.outputs['digest']).toBe(digest);
  expect(run.log.groupsBalanced).toBe(true);
}

describe('the bundled Azure Pipelines task', () => {
  it('imports with a workload identity federation connection: output variables, one task.complete, the summary tab', async () => {
    const connection = bedServiceConnection(bed, 'wif');
    const digest = hub().images['multiArch']!.digest;
    await bed.control.clearRequests();
    const run = await task(connection, {
      source: `${hub().host}/library/hello:latest`,
      targetTags: 'azp/wif:latest',
    });
    await expectImported(run, 'azp/wif', 'latest', digest);

    // The exact output variable commands, as the agent reads them into $(import.digest) and
    // dependencies.<job>.outputs['import.digest'].
    const image = `${bed.acrs.target.loginServer}/azp/wif@${digest}`;
    const all = lines(run);
    expect(all).toContain(`##vso[task.setvariable variable=digest;isOutput=true;issecret=false;]${digest}`);
    expect(all).toContain(
      `##vso[task.setvariable variable=images;isOutput=true;issecret=false;]${data(image)}`,
    );
    const resultsLine = all.find((l) =>
      l.startsWith('##vso[task.setvariable variable=results;isOutput=true;issecret=false;]'),
    );
    expect(resultsLine).toBeDefined();
    const results = JSON.parse(run.outputs['results']!) as {
      source: string;
      status: string;
      targets: { ref: string; digest: string }[];
    }[];
    expect(results).toHaveLength(1);
    expect(results[0]!.status).toBe('imported');
    expect(results[0]!.targets).toEqual([
      expect.objectContaining({ ref: `${bed.acrs.target.loginServer}/azp/wif:latest`, digest }),
    ]);
    expect(resultsLine).toBe(
      `##vso[task.setvariable variable=results;isOutput=true;issecret=false;]${data(run.outputs['results']!)}`,
    );

    // Exactly one task.complete, the last command of the run.
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.commands.at(-1)!.command).toBe('task.complete');
    expect(all.filter((l) => l.includes('task.complete'))).toHaveLength(1);

    // The summary: a UTF-8 markdown file in Agent.TempDirectory, uploaded once, naming the target and its digest.
    expect(run.summaries).toHaveLength(1);
    const summary = run.summaries[0]!;
    expect(summary.path.startsWith(join(run.workFolder, '_temp'))).toBe(true);
    expect(summary.path.endsWith('ACR Import.md')).toBe(true);
    expect(summary.text).toContain('azp/wif:latest');
    expect(summary.text).toContain(digest);
    expect(summary.text).toContain('Azure Pipelines');

    // It signed in through the emulator's Azure DevOps OIDC endpoint, for this connection.
    const oidc = await bed.control.requests({ service: 'azuredevops' });
    expect(oidc.length).toBeGreaterThan(0);
    expect(oidc.every((r) => r.method === 'POST' && r.url.includes(connection.id))).toBe(true);

    // Secrets: the job token, and every token the emulator issued, only on task.setsecret lines.
    expectSecretsOnlyDeclared(run, [bed.azureDevOps.accessToken]);
    const issued = await bed.control.issuedSecrets();
    for (const secret of issued) {
      expect(all.filter((l) => l.includes(secret) && !l.startsWith('##vso[task.setsecret]'))).toEqual([]);
    }
    expect(run.log.secrets).toContain(bed.azureDevOps.accessToken);
    expect(all[0]).toBe(`##vso[task.setsecret]${bed.azureDevOps.accessToken}`);
  });

  it.each<[string, ConnectionKind, () => string[]]>([
    ['a service principal with a secret', 'secret', () => [bed.azureDevOps.app.clientSecret]],
    ['a service principal with a PEM certificate', 'certificate', () => [bed.azureDevOps.app.certificatePem]],
    ['a managed identity (self-hosted agent on Azure)', 'managed-identity', () => []],
  ])('imports with %s', async (_name, kind, secrets) => {
    const digest = hub().images['multiArch']!.digest;
    const repo = `azp/${kind}`;
    const run = await task(bedServiceConnection(bed, kind), {
      source: `${hub().host}/library/hello:latest`,
      targetTags: `${repo}:latest`,
    });
    await expectImported(run, repo, 'latest', digest);
    expect(run.summaries).toHaveLength(1);
    if (secrets().length) {
      expectSecretsOnlyDeclared(run, secrets());
      expect(lines(run)[0]!.startsWith('##vso[task.setsecret]')).toBe(true);
    }
    const issued = await bed.control.issuedSecrets();
    for (const secret of issued) {
      expect(lines(run).filter((l) => l.includes(secret) && !l.startsWith('##vso[task.setsecret]'))).toEqual(
        [],
      );
    }
  });

  it('a federated subject Entra does not trust: Failed, naming the sc://ORG/PROJECT/CONNECTION subject to add', async () => {
    const staging = bed.azureDevOps.connections.staging;
    const run = await task(bedServiceConnection(bed, 'wif-staging'), {
      source: `${hub().host}/library/hello:latest`,
      targetTags: 'azp/mismatch:latest',
    });
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.completions[0]!.result).toBe('Failed');
    expect(run.exitCode).toBe(1);
    expect(staging.subject).toBe(
      `sc://${bed.azureDevOps.organization}/${bed.azureDevOps.project}/${staging.name}`,
    );
    const errors = run.log.issues.filter((i) => i.type === 'error').map((i) => i.message);
    expect(errors.join('\n')).toContain(staging.subject);
    expect(errors.join('\n')).toContain('federated-credential create');
    expect(await bed.digestOf(bed.acrs.target, 'azp/mismatch', 'latest')).toBeUndefined();
  });

  it('an unknown scheme: a clear error naming it, before any request, nothing imported', async () => {
    const connection = { ...bedServiceConnection(bed, 'secret'), scheme: 'PublishProfile' };
    await bed.control.clearRequests();
    const run = await task(connection, {
      source: `${hub().host}/library/hello:latest`,
      targetTags: 'azp/scheme:latest',
    });
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.completions[0]!.result).toBe('Failed');
    expect(run.log.completions[0]!.message).toContain("authentication scheme 'PublishProfile'");
    expect(run.log.issues).toEqual([
      {
        type: 'error',
        message: expect.stringContaining(
          "uses the authentication scheme 'PublishProfile', which AcrImport cannot sign in with",
        ),
      },
    ]);
    expect(run.log.issues[0]!.message).toContain('workload identity federation');
    expect(await bed.control.requests()).toEqual([]);
    expect(await bed.digestOf(bed.acrs.target, 'azp/scheme', 'latest')).toBeUndefined();
    expect(run.outputs).toEqual({});
    expect(run.summaries).toEqual([]);
  });

  it('a bad input: the task input by its name, the value and the fix, nothing sent', async () => {
    await bed.control.clearRequests();
    const run = await task(bedServiceConnection(bed, 'wif'), {
      source: `${hub().host}/library/hello:latest`,
      targetTags: 'azp/bad:latest',
      maxParallel: '0',
    });
    expect(run.log.completions).toHaveLength(1);
    expect(run.log.completions[0]!.result).toBe('Failed');
    const error = run.log.issues.find((i) => i.type === 'error')?.message ?? '';
    expect(error).toMatch(/^Invalid input:/);
    expect(error).toMatch(/- maxParallel: .*\(got "0"\)/);
    expect(error).not.toContain('max-parallel');
    expect(await bed.control.requests()).toEqual([]);
    expect(run.outputs).toEqual({});
  });

  it('runs from a copy of its folder alone (no node_modules, nothing from the repository)', async () => {
    const folder = join(parent, 'AcrImportV1');
    await cp(join(REPO_ROOT, 'azure-pipelines', 'AcrImportV1'), folder, { recursive: true });
    expect((await readdir(folder)).some((f) => f === 'node_modules')).toBe(false);
    const workFolder = await agentWorkFolder(parent);
    const digest = hub().images['multiArch']!.digest;
    const env = bedAgentEnv(
      bed,
      bedServiceConnection(bed, 'wif'),
      {
        registry: bed.acrs.target.name,
        source: `${hub().host}/library/hello:latest`,
        targetTags: 'azp/copy:latest',
      },
      workFolder,
    );
    const run = await runTask(env, { script: join(folder, TASK_ENTRY.split('/').at(-1)!), cwd: workFolder });
    await expectImported(run, 'azp/copy', 'latest', digest);
  });

  it('a connection the agent did not hand over (a script step): says the task input must name it', async () => {
    const connection = bedServiceConnection(bed, 'wif');
    const run = await task(
      connection,
      { source: `${hub().host}/library/hello:latest`, targetTags: 'azp/x:1' },
      {
        [`ENDPOINT_AUTH_${connection.id}`]: undefined,
        [`ENDPOINT_AUTH_SCHEME_${connection.id}`]: undefined,
        [`ENDPOINT_URL_${connection.id}`]: undefined,
      },
    );
    expect(run.log.completions).toEqual([
      { result: 'Failed', message: expect.stringContaining('not available to this step') },
    ]);
    expect(run.log.issues[0]!.message).toContain('`script:` step');
  });
});
