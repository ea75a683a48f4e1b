/**
 * azure-pipelines/AcrImportV1/task.json and vss-extension.json against the engine's input table: one task input per
 * action input (camelCase, same default and required-ness), the sign-in inputs replaced by the service connection,
 * and the file as generated (node build/testbed/task-json.js).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INPUTS } from '../../src/engine/index.js';
import {
  buildTaskJson,
  MINIMUM_AGENT_VERSION,
  REPLACED_BY_SERVICE_CONNECTION,
  type TaskInput,
} from '../../src/hosts/pipelines/task-manifest.js';
import { REPO_ROOT } from '../../testbed/run-action.js';
import { actionInputFacts, TASK_JSON, VSS_EXTENSION_JSON } from '../../testbed/task-json.js';

interface TaskJson {
  id: string;
  name: string;
  version: { Major: number; Minor: number; Patch: number };
  minimumAgentVersion: string;
  category: string;
  groups: { name: string }[];
  inputs: TaskInput[];
  outputVariables: { name: string; description: string }[];
  execution: Record<string, { target: string }>;
}

const task = JSON.parse(readFileSync(TASK_JSON, 'utf8')) as TaskJson;
const facts = actionInputFacts();
const byName = new Map(task.inputs.map((i) => [i.name, i]));

describe('task.json', () => {
  it('is what the generator writes from the input table', () => {
    expect(task).toEqual(buildTaskJson(facts));
  });

  it('has one input per action input, by its camelCase key, except those the service connection replaces', () => {
    const replaced = new Set<string>(REPLACED_BY_SERVICE_CONNECTION);
    const expected = Object.keys(INPUTS).filter((k) => !replaced.has(k) || k === 'subscriptionId');
    expect(task.inputs.map((i) => i.name).sort()).toEqual(['azureSubscription', ...expected].sort());
    expect([...replaced].sort()).toEqual(
      [
        'clientId',
        'tenantId',
        'subscriptionId',
        'auth',
        'clientSecret',
        'environment',
        'resourceManagerEndpoint',
        'authorityHost',
        'audience',
      ].sort(),
    );
  });

  it.each(
    Object.entries(INPUTS).filter(
      ([key]) =>
        key === 'subscriptionId' || !(REPLACED_BY_SERVICE_CONNECTION as readonly string[]).includes(key),
    ),
  )('maps %s to action input %s 1:1 (default, required, default stated)', (key, actionName) => {
    const input = byName.get(key);
    expect(input).toBeDefined();
    const action = facts(actionName);
    expect(input?.defaultValue).toBe(action.default);
    expect(input?.required).toBe(action.required);
    expect(input?.name).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
    expect(input?.helpMarkDown).toMatch(/Default: /);
    // No action (kebab-case) input name left in the help text, except the images-file keys it documents.
    const kebab = Object.values(INPUTS).filter(
      (n) => n.includes('-') && !['untagged-repositories', 'expected-digest'].includes(n),
    );
    for (const name of kebab)
      expect(input?.helpMarkDown).not.toMatch(new RegExp(`(?<![\\w-])${name}(?![\\w-])`));
    if (action.default === 'true' || action.default === 'false') expect(input?.type).toBe('boolean');
    if (input?.groupName) expect(task.groups.map((g) => g.name)).toContain(input.groupName);
  });

  it('signs in through an Azure Resource Manager service connection', () => {
    expect(byName.get('azureSubscription')).toMatchObject({
      type: 'connectedService:AzureRM',
      aliases: ['connectedServiceNameARM'],
      required: true,
    });
    expect(task.inputs[0]?.name).toBe('azureSubscription');
  });

  it('groups the advanced inputs, collapsed', () => {
    for (const name of [
      'force',
      'pinDigest',
      'wait',
      'timeout',
      'dryRun',
      'lockFile',
      'locked',
      'maxParallel',
      'apiVersion',
    ]) {
      expect(byName.get(name)?.groupName).toBe('advanced');
    }
    expect(task.groups.find((g) => g.name === 'advanced')).toMatchObject({ isExpanded: false });
  });

  it('runs on the Node24 handler only, from the first agent that has it', () => {
    expect(task.execution).toEqual({ Node24: { target: 'index.js' } });
    expect(task.minimumAgentVersion).toBe(MINIMUM_AGENT_VERSION);
    expect(MINIMUM_AGENT_VERSION).toBe('4.265.1');
  });

  it('is the AcrImport task, version 1, category Deploy, with the Action outputs', () => {
    expect(task.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(task.name).toBe('AcrImport');
    expect(task.version.Major).toBe(1);
    expect(task.category).toBe('Deploy');
    expect(task.outputVariables.map((o) => o.name)).toEqual(['digest', 'images', 'results']);
  });
});

describe('docs/azure-pipelines.md', () => {
  const docs = readFileSync(join(REPO_ROOT, 'docs', 'azure-pipelines.md'), 'utf8');
  it.each(task.inputs.map((i) => [i.name, i]))(
    'lists %s with its default and required-ness',
    (name, input) => {
      const row = docs.split('\n').find((l) => l.startsWith(`| \`${name}\` `));
      expect(row).toBeDefined();
      const cells = (row ?? '').split('|').map((c) => c.trim());
      expect(cells[2]).toBe(input.required ? 'yes' : 'no');
      expect(cells[3]).toBe(input.defaultValue ? `\`${input.defaultValue}\`` : '');
    },
  );
});

describe('vss-extension.json', () => {
  const manifest = JSON.parse(readFileSync(VSS_EXTENSION_JSON, 'utf8')) as {
    manifestVersion: number;
    version: string;
    targets: { id: string }[];
    categories: string[];
    files: { path: string }[];
    contributions: { type: string; targets: string[]; properties: { name: string } }[];
  };

  it('ships the task folder as a build task contribution', () => {
    expect(manifest.manifestVersion).toBe(1);
    expect(manifest.targets).toEqual([{ id: 'Microsoft.VisualStudio.Services' }]);
    expect(manifest.categories).toEqual(['Azure Pipelines']);
    expect(manifest.files).toEqual([{ path: 'AcrImportV1' }]);
    expect(manifest.contributions).toEqual([
      expect.objectContaining({
        type: 'ms.vss-distributed-task.task',
        targets: ['ms.vss-distributed-task.tasks'],
        properties: { name: 'AcrImportV1' },
      }),
    ]);
    expect(Number(manifest.version.split('.')[0])).toBe(task.version.Major);
  });
});
