/**
 * Black-box tests of the GitHub Action adapter: the bundle is run as the runner runs it (INPUT_* variables, temp
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), with no Azure and no registry: these are the paths that must end
 * before any request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, type ActionRun } from '../../testbed/run-action.js';

let dir: string;
const SUB = '8f2b3c6e-1d4a-4e5f-9a7b-0c1d2e3f4a5b';
const TENANT = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const CLIENT = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'acr-import-adapter-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A GitHub-hosted runner whose job has no `id-token: write` and no Azure CLI on PATH. */
function runner(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
): Promise<ActionRun> {
  const host = {
    dir,
    runnerEnv: () => ({
      RUNNER_ENVIRONMENT: 'github-hosted',
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_WORKSPACE: dir,
      PATH: '/usr/bin:/bin',
    }),
  };
  return runAction(host, inputs, { env });
}

function errors(run: ActionRun): string {
  return run.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n');
}

describe('the action adapter', () => {
  it('reports every bad input at once, naming input, value and fix, and writes no output', async () => {
    const run = await runner({
      registry: 'my_registry!',
      source: 'docker.io/Library/Nginx:1.27',
      'subscription-id': 'not-a-guid',
      auth: 'password',
      timeout: '10 minutes',
      force: 'yes',
    });
    expect(run.exitCode).toBe(1);
    const text = errors(run);
    expect(text).toContain('6 invalid inputs');
    for (const [input, value] of [
      ['registry', 'my_registry!'],
      ['source', 'docker.io/Library/Nginx:1.27'],
      ['subscription-id', 'not-a-guid'],
      ['auth', 'password'],
      ['timeout', '10 minutes'],
      ['force', 'yes'],
    ]) {
      expect(text).toMatch(
        new RegExp(`- ${input}: .*${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
    }
    expect(text).toMatch(/lowercase/i);
    expect(run.outputs).toEqual({});
    expect(run.summary).toBe('');
  });

  it('masks secret inputs before it prints anything else', async () => {
    const run = await runner({
      registry: 'prodacr',
      source: 'nginx',
      'subscription-id': SUB,
      'client-secret': 'hunter2-super-secret',
      'source-password': 'registry-pass-123',
      auth: 'nonsense',
    });
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe('::add-mask::hunter2-super-secret');
    expect(lines[1]).toBe('::add-mask::registry-pass-123');
    const rest = [...lines.slice(2), run.stderr].join('\n');
    expect(rest).not.toContain('hunter2-super-secret');
    expect(rest).not.toContain('registry-pass-123');
    // A secret that is also an invalid value is shown redacted in the problem list.
    expect(errors(run)).toContain('source-password');
  });

  it('without any way to sign in, says exactly what to add', async () => {
    const run = await runner({ registry: 'prodacr', source: 'nginx', 'subscription-id': SUB });
    expect(run.exitCode).toBe(1);
    const text = errors(run);
    expect(text).toContain('permissions: id-token: write');
    expect(text).toContain('client-id');
    expect(text).toContain('tenant-id');
  });

  it('takes subscription, tenant and client from AZURE_* variables, and then needs only the ID token', async () => {
    const missing = await runner({ registry: 'prodacr', source: 'nginx' });
    expect(errors(missing)).toContain('subscription-id');

    const fromEnv = await runner(
      { registry: 'prodacr', source: 'nginx', auth: 'oidc' },
      { AZURE_SUBSCRIPTION_ID: SUB, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: CLIENT },
    );
    const text = errors(fromEnv);
    expect(text).not.toContain('subscription-id');
    expect(text).toContain('auth: oidc needs a GitHub OIDC ID token');
    expect(text).toContain('permissions: id-token: write');
  });
});
