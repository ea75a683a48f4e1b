/**
 * The Azure Pipelines task's task.json, built from the engine's input table (`INPUTS`: camelCase key -> action
 * input name) and each input's description, default and required-ness (today action.yml holds them; when the input
 * table carries them, `describe` reads from there instead). `testbed/task-json.ts` writes
 * azure-pipelines/AcrImportV1/task.json from this; __tests__/unit/pipelines-task-json.test.ts checks it 1:1.
 *
 * Mapping: one task input per action input, named by its INPUTS key (`target-tags` -> `targetTags`), except the
 * sign-in inputs, which the service connection replaces (`azureSubscription`, type connectedService:AzureRM). Of
 * those, `audience` goes too: Azure DevOps issues its OIDC tokens for api://AzureADTokenExchange only.
 */
import { INPUTS } from '../../engine/index.js';

export type InputKey = keyof typeof INPUTS;

/** What the input table says of one input. */
export interface InputFacts {
  description: string;
  required: boolean;
  default: string;
}

/** Action inputs the service connection stands for (not task inputs). */
export const REPLACED_BY_SERVICE_CONNECTION = [
  'clientId',
  'tenantId',
  'subscriptionId',
  'auth',
  'clientSecret',
  'environment',
  'resourceManagerEndpoint',
  'authorityHost',
  'audience',
] as const satisfies readonly InputKey[];

/** `subscriptionId` stays as an override of the connection's subscription. */
const OVERRIDES: readonly InputKey[] = ['subscriptionId'];

type Group = 'target' | 'images' | 'sourceSignIn' | 'advanced';

interface TaskInputMeta {
  label: string;
  group?: Group;
  type?: 'string' | 'boolean' | 'multiLine';
  /** Replaces the action's description where it speaks of GitHub. */
  help?: string;
}

type Mapped = Exclude<InputKey, (typeof REPLACED_BY_SERVICE_CONNECTION)[number]> | 'subscriptionId';

/** Presentation of every task input; keyed by INPUTS so a new input does not compile until it is placed here. */
const META: Record<Mapped, TaskInputMeta> = {
  registry: { label: 'Target registry', group: 'target' },
  resourceGroup: { label: 'Resource group', group: 'target' },
  subscriptionId: {
    label: 'Subscription ID (override)',
    group: 'target',
    help: "Subscription of the target registry (a GUID), when it is not the service connection's. Default: the service connection's subscription. Not needed when registry is a resource ID.",
  },
  source: { label: 'Source image', group: 'images' },
  targetTags: { label: 'Target tags', group: 'images', type: 'multiLine' },
  untaggedRepositories: { label: 'Untagged repositories', group: 'images', type: 'multiLine' },
  images: { label: 'Images', group: 'images', type: 'multiLine' },
  imagesFile: {
    label: 'Images file',
    group: 'images',
    help: 'Path (relative to $(System.DefaultWorkingDirectory)) of a YAML or JSON file listing imports: source, targets, untagged-repositories, platform, expected-digest per entry. Default: none.',
  },
  platform: { label: 'Platform', group: 'images' },
  referrers: { label: 'Referrers (signatures, SBOMs)', group: 'images' },
  expectedDigest: { label: 'Expected digest', group: 'images' },
  sourceRegistryResourceId: { label: 'Source registry resource ID', group: 'sourceSignIn' },
  sourceUsername: { label: 'Source username', group: 'sourceSignIn' },
  sourcePassword: {
    label: 'Source password',
    group: 'sourceSignIn',
    help: 'Password or access token for the source registry; pass a secret variable, e.g. $(sourcePassword). Required with sourceUsername. Default: none.',
  },
  sourceTenantId: {
    label: 'Source tenant ID',
    group: 'sourceSignIn',
    help: "Tenant of a source ACR in another tenant, signed in with a second app (sourceClientId) that has a federated credential for this service connection's subject, instead of a stored password. Workload identity federation connections only. Default: none.",
  },
  sourceClientId: { label: 'Source client ID', group: 'sourceSignIn' },
  force: { label: 'Overwrite tags that point elsewhere', group: 'advanced', type: 'boolean' },
  pinDigest: { label: 'Pin the source digest', group: 'advanced', type: 'boolean' },
  wait: { label: 'Wait and verify', group: 'advanced', type: 'boolean' },
  timeout: { label: 'Timeout per image', group: 'advanced' },
  dryRun: { label: 'Dry run', group: 'advanced', type: 'boolean' },
  lockFile: {
    label: 'Lock file',
    group: 'advanced',
    help: 'Path (relative to $(System.DefaultWorkingDirectory)) of a JSON lock file: each source with its digest, targets and platforms, in a stable order. Written after a run in which every image succeeded (dry runs too); with locked: true it is read and checked instead. Default: none.',
  },
  locked: { label: 'Locked', group: 'advanced', type: 'boolean' },
  maxParallel: { label: 'Parallel imports', group: 'advanced' },
  apiVersion: { label: 'ARM API version', group: 'advanced' },
};

const GROUPS: { name: Group; displayName: string; isExpanded: boolean }[] = [
  { name: 'target', displayName: 'Target', isExpanded: true },
  { name: 'images', displayName: 'Images', isExpanded: true },
  { name: 'sourceSignIn', displayName: 'Source registry sign-in', isExpanded: false },
  { name: 'advanced', displayName: 'Advanced', isExpanded: false },
];

export const TASK_ID = '6f1c2b7e-3d4a-4e8b-9c0d-5a7e1f2b3c4d';
export const TASK_VERSION = { Major: 1, Minor: 0, Patch: 0 };
/** The first agent with the Node24 handler; the bundle needs Node 22+ (@azure/identity 4.14), so no Node20_1. */
export const MINIMUM_AGENT_VERSION = '4.265.1';
export const TASK_TARGET = 'index.js';

/** Action input names in a description, written as the task's camelCase names. */
function camelNames(text: string): string {
  const byAction = new Map<string, string>(Object.entries(INPUTS).map(([key, name]) => [name, key]));
  // Longest first, so `source-registry-resource-id` is not read as `source`.
  const names = [...byAction.keys()].filter((n) => n.includes('-')).sort((a, b) => b.length - a.length);
  let out = text;
  for (const name of names) {
    out = out.replace(new RegExp(`(?<![\\w-])${name}(?![\\w-])`, 'g'), byAction.get(name) ?? name);
  }
  return out;
}

export interface TaskInput {
  name: string;
  aliases?: string[];
  type: string;
  label: string;
  defaultValue: string;
  required: boolean;
  helpMarkDown: string;
  groupName?: string;
}

/** task.json as an object; `describe` gives each action input's facts. */
export function buildTaskJson(describe: (actionName: string) => InputFacts): Record<string, unknown> {
  const inputs: TaskInput[] = [
    {
      name: 'azureSubscription',
      aliases: ['connectedServiceNameARM'],
      type: 'connectedService:AzureRM',
      label: 'Azure Resource Manager service connection',
      defaultValue: '',
      required: true,
      helpMarkDown:
        "The Azure Resource Manager service connection to sign in with (workload identity federation recommended; also service principal with a secret or certificate, or a managed identity on self-hosted agents). Its identity needs 'Container Registry Data Importer and Data Reader' on the target registry. Its subscription is the target's unless subscriptionId is given. Default: none (required).",
    },
  ];
  for (const [key, meta] of Object.entries(META) as [Mapped, TaskInputMeta][]) {
    const facts = describe(INPUTS[key]);
    const described = meta.help ?? camelNames(facts.description);
    const help = /Default:/.test(described)
      ? described
      : `${described} Default: ${facts.default || 'none'}${facts.required ? ' (required)' : ''}.`;
    inputs.push({
      name: key,
      type: meta.type ?? 'string',
      label: meta.label,
      defaultValue: facts.default,
      required: facts.required,
      helpMarkDown: help,
      ...(meta.group ? { groupName: meta.group } : {}),
    });
  }
  return {
    $schema: 'https://raw.githubusercontent.com/Microsoft/azure-pipelines-task-lib/master/tasks.schema.json',
    id: TASK_ID,
    name: 'AcrImport',
    friendlyName: 'ACR Import',
    description:
      'Import container images and OCI artifacts into Azure Container Registry server side, pinned by digest, verified, signed in through an Azure Resource Manager service connection. No Docker, no Azure CLI.',
    helpMarkDown: 'Outputs: digest, images, results (JSON). Use them as $(<step name>.digest).',
    category: 'Deploy',
    author: 'acr-import',
    version: TASK_VERSION,
    minimumAgentVersion: MINIMUM_AGENT_VERSION,
    instanceNameFormat: 'Import into $(registry)',
    groups: GROUPS,
    inputs,
    outputVariables: [
      {
        name: 'digest',
        description: 'Manifest digest the target now holds (for several images: the first one).',
      },
      {
        name: 'images',
        description:
          'One pinned reference per target repository, <loginServer>/<repo>@sha256:..., newline separated.',
      },
      {
        name: 'results',
        description:
          'JSON array, one object per source: source, sourceDigest, mediaType, platforms, targets [{ref, digest}], status, durationMs, error.',
      },
    ],
    execution: { Node24: { target: TASK_TARGET } },
  };
}

/** Which action inputs the task maps 1:1 (everything but the replaced ones, plus the overrides). */
export function mappedInputKeys(): InputKey[] {
  return (Object.keys(INPUTS) as InputKey[]).filter(
    (k) => !(REPLACED_BY_SERVICE_CONNECTION as readonly InputKey[]).includes(k) || OVERRIDES.includes(k),
  );
}
