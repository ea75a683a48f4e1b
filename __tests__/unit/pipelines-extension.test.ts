/**
 * The extension's manifest against the task (one version for both, as `npm run package:extension` also checks), its
 * icons as the generator draws them, and the one Action input the task leaves out on purpose: `audience`.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INPUTS } from '../../src/engine/index.js';
import { REPLACED_BY_SERVICE_CONNECTION, TASK_VERSION } from '../../src/hosts/pipelines/task-manifest.js';
import { REPO_ROOT } from '../../testbed/run-action.js';
import { TASK_JSON, VSS_EXTENSION_JSON } from '../../testbed/task-json.js';

const manifest = JSON.parse(readFileSync(VSS_EXTENSION_JSON, 'utf8')) as {
  version: string;
  icons?: { default?: string };
};
const task = JSON.parse(readFileSync(TASK_JSON, 'utf8')) as {
  version: { Major: number; Minor: number; Patch: number };
  inputs: { name: string; aliases?: string[] }[];
};

describe('vss-extension.json and task.json', () => {
  it('carry the same version (Major.Minor.Patch)', () => {
    const { Major, Minor, Patch } = task.version;
    expect(manifest.version).toBe(`${Major}.${Minor}.${Patch}`);
    expect(task.version).toEqual(TASK_VERSION);
  });

  it('have the icons the generator draws (scripts/make-icons.mjs), byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'icons-'));
    try {
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'make-icons.mjs')], {
        env: { ACR_IMPORT_ICONS_OUT: out },
      });
      expect(manifest.icons?.default).toBe('images/extension-icon.png');
      for (const file of ['images/extension-icon.png', 'AcrImportV1/icon.png']) {
        const committed = readFileSync(join(REPO_ROOT, 'azure-pipelines', file));
        expect(committed.subarray(0, 8)).toEqual(
          Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        );
        expect(readFileSync(join(out, file)).equals(committed)).toBe(true);
      }
      const size = (file: string): number =>
        readFileSync(join(REPO_ROOT, 'azure-pipelines', file)).readUInt32BE(16);
      expect(size('images/extension-icon.png')).toBe(128);
      expect(size('AcrImportV1/icon.png')).toBe(32);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('the audience input: an Action input the task omits on purpose', () => {
  // On GitHub the workflow picks the ID token's audience (the federated credential must list it). Azure DevOps issues
  // a service connection's OIDC tokens for api://AzureADTokenExchange only, and its token request takes no audience:
  // a task input could only be ignored or break the sign-in, so there is none (docs/azure-pipelines.md says so).
  it('is an input of the Action and the CLI', () => {
    expect(INPUTS.audience).toBe('audience');
  });

  it('is not a task input, nor an alias of one', () => {
    expect(REPLACED_BY_SERVICE_CONNECTION).toContain('audience');
    const names = task.inputs.flatMap((i) => [i.name, ...(i.aliases ?? [])].map((n) => n.toLowerCase()));
    expect(names).not.toContain('audience');
  });

  it('is documented as replaced by the service connection, with the reason', () => {
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'azure-pipelines.md'), 'utf8');
    expect(docs).toMatch(/`audience`[^\n]*api:\/\/AzureADTokenExchange/);
  });
});
