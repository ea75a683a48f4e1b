/**
 * Bad input refused before any network call, through the bundle (`node dist/index.js`): each case must end with exit
 * code 1 and an error naming the input, showing the value (secrets as ***) and saying the fix; the emulator's request
 * log must stay empty and the target registry must hold nothing.
 *
 * Runs share one bed and run four at a time: a bad input makes no request, so they cannot disturb each other, and any
 * request at all fails the suite (the log then says which case made it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';

interface Case {
  name: string;
  /** Inputs over a valid base (a hub image into the target); '' removes a base input. */
  inputs: (bed: StartedBed) => Record<string, string>;
  /** `images-file` contents, written to the workspace as `<case index>.yml`. */
  file?: string;
  /** The input the message must name (as it appears after '- '), e.g. 'source' or 'images line 3'. */
  input: string | RegExp;
  /** The value the message must show (JSON-quoted by the message); omit to skip. */
  value?: (bed: StartedBed) => string;
  /** What the fix says. */
  fix: string | RegExp;
  /** Text that must not appear anywhere (a secret). */
  secret?: (bed: StartedBed) => string;
}

const GUID = '11111111-2222-4333-8444-555555555555';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const ACR_ID = (name: string, provider = 'Microsoft.ContainerRegistry/registries'): string =>
  `/subscriptions/${GUID}/resourceGroups/rg-app/providers/${provider}/${name}`;
const hub = (b: StartedBed): string => b.sources.hub.host;
const src = (b: StartedBed, rest: string): string => `${hub(b)}/${rest}`;
const good = (b: StartedBed): string => src(b, 'library/alpine:3.20');

const cases: Case[] = [
  // --- malformed references -----------------------------------------------------------------------------------------
  {
    name: 'upper-case repository',
    inputs: (b) => ({ source: src(b, 'Library/Alpine:3.20') }),
    input: 'source',
    value: (b) => src(b, 'Library/Alpine:3.20'),
    fix: "use lowercase: 'library/alpine'",
  },
  {
    name: 'digest with non-hex characters',
    inputs: (b) => ({ source: src(b, `library/alpine@sha256:${'z'.repeat(64)}`) }),
    input: 'source',
    fix: 'only hex characters',
  },
  {
    name: 'truncated digest',
    inputs: (b) => ({ source: src(b, 'library/alpine@sha256:0123abc') }),
    input: 'source',
    value: (b) => src(b, 'library/alpine@sha256:0123abc'),
    fix: 'must have 64 hex characters (it has 7); copy it whole',
  },
  {
    name: 'unknown digest algorithm',
    inputs: (b) => ({ source: src(b, `library/alpine@md5:${'a'.repeat(32)}`) }),
    input: 'source',
    fix: "digest algorithm 'md5' is not supported; use sha256",
  },
  {
    name: 'upper-case digest hex',
    inputs: (b) => ({ source: src(b, `library/alpine@sha256:${'A'.repeat(64)}`) }),
    input: 'source',
    fix: 'must use lowercase hex',
  },
  {
    name: 'empty digest',
    inputs: (b) => ({ source: src(b, 'library/alpine@') }),
    input: 'source',
    fix: "the digest after '@' is empty",
  },
  {
    name: 'two digests',
    inputs: (b) => ({ source: src(b, `library/alpine@${DIGEST}@${DIGEST}`) }),
    input: 'source',
    fix: "more than one '@'",
  },
  {
    name: 'empty source (no image at all)',
    inputs: () => ({ source: '' }),
    input: 'source',
    value: () => '',
    fix: "is required: the image to import, e.g. 'docker.io/library/nginx:1.27'",
  },
  {
    name: 'whitespace-only source',
    inputs: () => ({ source: '   \t ' }),
    input: 'source',
    fix: 'is required',
  },
  {
    name: 'whitespace inside the reference',
    inputs: (b) => ({ source: src(b, 'library/alp ine:3.20') }),
    input: 'source',
    fix: 'contains whitespace; remove it',
  },
  {
    name: 'name over 255 characters',
    inputs: (b) => ({ source: src(b, `library/${'a'.repeat(250)}:1`) }),
    input: 'source',
    fix: /is \d+ characters long; the limit is 255/,
  },
  {
    name: 'tag over 128 characters',
    inputs: (b) => ({ source: src(b, `library/alpine:${'t'.repeat(129)}`) }),
    input: 'source',
    fix: 'is longer than 128 characters (129); use a shorter tag',
  },
  {
    name: 'port out of range',
    inputs: () => ({ source: '127.0.0.1:99999/library/alpine:3.20' }),
    input: 'source',
    value: () => '127.0.0.1:99999/library/alpine:3.20',
    fix: 'is out of range; use 1-65535',
  },
  {
    name: 'port that is not a number',
    inputs: () => ({ source: 'registry.example:http/library/alpine:3.20' }),
    input: 'source',
    fix: "port 'http' of registry 'registry.example:http' is not a number",
  },
  {
    name: 'a URL instead of a reference',
    inputs: (b) => ({ source: `https://${good(b)}` }),
    input: 'source',
    fix: "remove 'https://'",
  },
  {
    name: 'empty tag',
    inputs: (b) => ({ source: src(b, 'library/alpine:') }),
    input: 'source',
    fix: "the tag after ':' is empty",
  },
  {
    name: 'tag starting with a dash',
    inputs: (b) => ({ source: src(b, 'library/alpine:-rc1') }),
    input: 'source',
    fix: "tag '-rc1' is not valid: a tag starts with a letter, digit or '_'",
  },
  {
    name: 'doubled slash in the repository',
    inputs: (b) => ({ source: src(b, 'library//alpine:3.20') }),
    input: 'source',
    fix: "has an empty path component; remove the leading, trailing or doubled '/'",
  },
  {
    name: 'invalid host label',
    inputs: () => ({ source: 'bad_host.example/app:1' }),
    input: 'source',
    fix: "is not a valid host name: each dot-separated label must be letters, digits and inner '-'",
  },
  // --- targets --------------------------------------------------------------------------------------------------------
  {
    name: 'target tag with a digest',
    inputs: () => ({ 'target-tags': `apps/web@${DIGEST}` }),
    input: 'target-tags',
    value: () => `apps/web@${DIGEST}`,
    fix: 'a target cannot carry a digest: the digest comes from the source',
  },
  {
    name: 'target tag with a registry host',
    inputs: () => ({ 'target-tags': 'myacr.azurecr.io/apps/web:1' }),
    input: 'target-tags',
    fix: "write 'apps/web:1'",
  },
  {
    name: 'upper-case target repository',
    inputs: () => ({ 'target-tags': 'ok/web:1, Apps/Web:1' }),
    input: 'target-tags',
    value: () => 'Apps/Web:1',
    fix: "use lowercase: 'apps/web'",
  },
  {
    name: 'untagged repository with a tag',
    inputs: () => ({ 'untagged-repositories': 'archive/web:1' }),
    input: 'untagged-repositories',
    fix: "a repository has no tag or digest here; write only the path, e.g. 'archive/web'",
  },
  // --- conflicting inputs ---------------------------------------------------------------------------------------------
  {
    name: 'source together with images',
    inputs: (b) => ({ images: src(b, 'library/debian:12') }),
    input: 'images',
    value: (b) => src(b, 'library/debian:12'),
    fix: 'conflicts with source: give the images in one of source, images or images-file',
  },
  {
    name: 'source together with images-file',
    inputs: () => ({ 'images-file': 'images.yml' }),
    input: 'images-file',
    fix: 'conflicts with source',
  },
  {
    name: 'source-registry-resource-id with a host in source',
    inputs: (b) => ({
      'source-registry-resource-id': b.acrs.source.resourceId,
      source: src(b, 'app/web:1.0'),
    }),
    input: 'source',
    fix: "but source-registry-resource-id already names the source registry; write only 'app/web:1.0'",
  },
  {
    name: 'source-registry-resource-id with source credentials',
    inputs: (b) => ({
      'source-registry-resource-id': b.acrs.source.resourceId,
      source: 'app/web:1.0',
      'source-username': 'someone',
      'source-password': 'pass-for-source-acr-0042',
    }),
    input: 'source-username',
    fix: 'is not used with source-registry-resource-id',
    secret: () => 'pass-for-source-acr-0042',
  },
  {
    name: 'source-username without source-password',
    inputs: () => ({ 'source-username': 'ci-puller' }),
    input: 'source-username',
    value: () => 'ci-puller',
    fix: 'needs source-password as well',
  },
  {
    name: 'source-password without source-username (shown as ***)',
    inputs: () => ({ 'source-password': 'a-very-secret-registry-password-17' }),
    input: 'source-password',
    value: () => '***',
    fix: 'needs source-username as well',
    secret: () => 'a-very-secret-registry-password-17',
  },
  {
    name: 'client-secret with auth oidc (shown as ***)',
    inputs: () => ({ auth: 'oidc', 'client-secret': 'client-secret-value-never-shown-99' }),
    input: 'client-secret',
    value: () => '***',
    fix: "is not used with auth 'oidc'; remove it, or set auth to 'client-secret'",
    secret: () => 'client-secret-value-never-shown-99',
  },
  {
    name: 'target-tags with images',
    inputs: (b) => ({ source: '', images: good(b), 'target-tags': 'apps/web:1' }),
    input: 'target-tags',
    fix: "applies to source only; with images write the targets per image ('SOURCE -> TARGET, ...')",
  },
  {
    name: 'resource-group that contradicts the registry resource ID',
    inputs: (b) => ({ registry: b.acrs.target.resourceId, 'resource-group': 'rg-other' }),
    input: 'resource-group',
    value: () => 'rg-other',
    fix: "differs from the resource group 'rg-app' in the registry's resource ID",
  },
  // --- malformed resource IDs and registry names -----------------------------------------------------------------------
  {
    name: 'registry resource ID with a subscription that is not a GUID',
    inputs: () => ({
      registry:
        '/subscriptions/prod/resourceGroups/rg-app/providers/Microsoft.ContainerRegistry/registries/targetacr',
    }),
    input: 'registry',
    fix: "its subscription 'prod' is not a GUID",
  },
  {
    name: 'resource ID of another resource type',
    inputs: () => ({ registry: ACR_ID('store1', 'Microsoft.Storage/storageAccounts') }),
    input: 'registry',
    fix: 'is not a container registry resource ID; write',
  },
  {
    name: 'source-registry-resource-id with a too-short name',
    inputs: () => ({ 'source-registry-resource-id': ACR_ID('ab'), source: 'app/web:1.0' }),
    input: 'source-registry-resource-id',
    value: () => ACR_ID('ab'),
    fix: "its registry name 'ab' is not 5-50 letters and digits",
  },
  {
    name: 'source-registry-resource-id that is a name',
    inputs: () => ({ 'source-registry-resource-id': 'sourceacr', source: 'app/web:1.0' }),
    input: 'source-registry-resource-id',
    fix: 'az acr show -n <name> --query id',
  },
  {
    name: 'registry name with a dash',
    inputs: () => ({ registry: 'my-registry' }),
    input: 'registry',
    fix: 'is not a registry name (5-50 letters and digits)',
  },
  {
    name: 'registry given as a URL',
    inputs: () => ({ registry: 'https://myacr.azurecr.io' }),
    input: 'registry',
    fix: "has a URL scheme; remove 'https://'",
  },
  {
    name: 'subscription-id that is not a GUID',
    inputs: () => ({ 'subscription-id': 'my-subscription' }),
    input: 'subscription-id',
    value: () => 'my-subscription',
    fix: 'must be a GUID like 00000000-0000-0000-0000-000000000000',
  },
  // --- unknown values -------------------------------------------------------------------------------------------------
  {
    name: 'unknown auth',
    inputs: () => ({ auth: 'password' }),
    input: 'auth',
    value: () => 'password',
    fix: 'must be one of auto, oidc, client-secret, managed-identity, azure-cli',
  },
  {
    name: 'unknown environment',
    inputs: () => ({ environment: 'AzureGermanCloud' }),
    input: 'environment',
    value: () => 'AzureGermanCloud',
    fix: 'must be one of AzureCloud, AzureUSGovernment, AzureChinaCloud',
  },
  {
    name: 'platform with an alias architecture',
    inputs: () => ({ platform: 'linux/x86_64' }),
    input: 'platform',
    fix: "registries call it 'amd64': write 'linux/amd64'",
  },
  {
    name: 'platform with an unknown os',
    inputs: () => ({ platform: 'beos/amd64' }),
    input: 'platform',
    fix: "has an unknown os 'beos'",
  },
  {
    name: 'platform without an architecture',
    inputs: () => ({ platform: 'linux' }),
    input: 'platform',
    fix: "write 'os/arch' or 'os/arch/variant'",
  },
  {
    name: 'boolean that is not true or false',
    inputs: () => ({ force: 'yes' }),
    input: 'force',
    value: () => 'yes',
    fix: "must be 'true' or 'false'",
  },
  {
    name: 'api-version with month 13',
    inputs: () => ({ 'api-version': '2025-13-01' }),
    input: 'api-version',
    fix: 'must look like YYYY-MM-DD or YYYY-MM-DD-preview',
  },
  {
    name: 'max-parallel of zero',
    inputs: () => ({ 'max-parallel': '0' }),
    input: 'max-parallel',
    fix: 'must be a whole number from 1 to 64',
  },
  {
    name: 'resource-manager-endpoint over plain HTTP',
    inputs: () => ({ 'resource-manager-endpoint': 'http://127.0.0.1:1' }),
    input: 'resource-manager-endpoint',
    fix: 'must use https (tokens are never sent in clear text)',
  },
  {
    name: 'expected-digest that is too short',
    inputs: () => ({ 'expected-digest': 'sha256:1234' }),
    input: 'expected-digest',
    fix: 'must have 64 hex characters (it has 4)',
  },
  // --- timeouts -------------------------------------------------------------------------------------------------------
  {
    name: 'timeout in words',
    inputs: () => ({ timeout: '10 minutes' }),
    input: 'timeout',
    value: () => '10 minutes',
    fix: "is not a duration; write e.g. '90s', '10m', '1h30m'",
  },
  {
    name: 'timeout of zero',
    inputs: () => ({ timeout: '0s' }),
    input: 'timeout',
    fix: 'must be more than zero',
  },
  {
    name: 'timeout above six hours',
    inputs: () => ({ timeout: '7h' }),
    input: 'timeout',
    fix: "must be at most '6h'",
  },
  {
    name: 'negative timeout',
    inputs: () => ({ timeout: '-5m' }),
    input: 'timeout',
    fix: 'is not a duration',
  },
  {
    name: 'timeout with an unknown unit',
    inputs: () => ({ timeout: '2d' }),
    input: 'timeout',
    fix: 'is not a duration',
  },
  // --- images lines -------------------------------------------------------------------------------------------------
  {
    name: 'images line with nothing after the arrow',
    inputs: (b) => ({ source: '', images: `${good(b)} -> apps/a:1\n\n${src(b, 'library/debian:12')} -> ` }),
    input: 'images line 3',
    fix: "has no target after '->'",
  },
  {
    name: 'images line with two arrows',
    inputs: (b) => ({ source: '', images: `${good(b)} -> apps/a:1 -> apps/b:1` }),
    input: 'images line 1',
    fix: "has more than one '->'",
  },
  {
    name: 'images line with nothing before the arrow',
    inputs: () => ({ source: '', images: '# promote\n -> apps/a:1' }),
    input: 'images line 2',
    fix: "has no source before '->'",
  },
  {
    name: 'images line with an upper-case source',
    inputs: (b) => ({ source: '', images: `${good(b)}\n${src(b, 'Library/Debian:12')}` }),
    input: 'images line 2',
    value: (b) => src(b, 'Library/Debian:12'),
    fix: 'use lowercase',
  },
  {
    name: 'images lines writing one target twice',
    inputs: (b) => ({
      source: '',
      images: `${good(b)} -> apps/x:1\n${src(b, 'library/debian:12')} -> apps/x:1`,
    }),
    input: 'images line 2',
    fix: "target 'apps/x:1' is also written by images line 1",
  },
  {
    name: 'images with only comments',
    inputs: () => ({ source: '', images: '# nothing yet\n\n' }),
    input: 'images',
    fix: 'lists no image',
  },
  // --- images-file contents -----------------------------------------------------------------------------------------
  {
    name: 'images-file that is not YAML',
    inputs: () => ({ source: '' }),
    file: '- source: [unclosed\n- source: x\n',
    input: /images-file line \d/,
    fix: 'is not valid YAML or JSON',
  },
  {
    name: 'images-file entry with an unknown key',
    inputs: () => ({ source: '' }),
    file: '- source: 127.0.0.1:1/library/alpine:3.20\n  tags: [apps/a:1]\n',
    input: 'images-file entry 1 (line 1)',
    value: () => 'tags',
    fix: "has an unknown key 'tags'; the keys are source, targets, untagged-repositories, platform, expected-digest",
  },
  {
    name: 'images-file with an unknown top-level key',
    inputs: () => ({ source: '' }),
    file: 'imgs:\n  - source: 127.0.0.1:1/library/alpine:3.20\n',
    input: 'images-file (line 1)',
    value: () => 'imgs',
    fix: "has an unknown top-level key; the file holds a list of images, or 'images:' with that list",
  },
  {
    name: 'images-file entry without source',
    inputs: () => ({ source: '' }),
    file: '- source: 127.0.0.1:1/library/alpine:3.20\n- targets: [apps/a:1]\n',
    input: 'images-file entry 2 (line 2)',
    fix: "needs 'source', the image to import, as a string",
  },
  {
    name: 'images-file entry with a bad platform, by line',
    inputs: () => ({ source: '' }),
    file: '# promoted nightly\nimages:\n  - source: 127.0.0.1:1/library/alpine:3.20\n  - source: 127.0.0.1:1/library/debian:12\n    platform: linux/aarch64\n',
    input: 'images-file entry 2 (line 4)',
    fix: "'platform' uses 'aarch64'; registries call it 'arm64'",
  },
  {
    name: 'images-file entry with a bad reference, by line',
    inputs: () => ({ source: '' }),
    file: '[\n  {"source": "127.0.0.1:1/library/alpine:3.20"},\n  {"source": "127.0.0.1:1/library/Debian:12"}\n]\n',
    input: 'images-file entry 2 (line 3)',
    value: () => '127.0.0.1:1/library/Debian:12',
    fix: "use lowercase: 'library/debian'",
  },
  {
    name: 'images-file entry whose source is a number',
    inputs: () => ({ source: '' }),
    file: '[{"source": 5}]\n',
    input: 'images-file entry 1 (line 1)',
    fix: "needs 'source', the image to import, as a string",
  },
  {
    name: 'images-file with an empty list',
    inputs: () => ({ source: '' }),
    file: 'images: []\n',
    input: 'images-file',
    fix: 'lists no image; add at least one entry with a source',
  },
  {
    name: 'images-file that does not exist',
    inputs: () => ({ source: '', 'images-file': 'no/such/images.yml' }),
    input: 'images-file',
    value: () => 'no/such/images.yml',
    fix: 'cannot be read',
  },
  // --- unknown inputs -------------------------------------------------------------------------------------------------
  {
    name: 'a misspelt input',
    inputs: () => ({ 'target-tag': 'apps/web:1' }),
    input: 'target-tag',
    fix: "is not an input of this action; did you mean 'target-tags'?",
  },
  {
    name: 'an unknown input whose value may be secret',
    inputs: () => ({ 'client-secrets': 'value-of-an-unknown-input-5150' }),
    input: 'client-secrets',
    value: () => '***',
    fix: "did you mean 'client-secret'?",
    secret: () => 'value-of-an-unknown-input-5150',
  },
];

let bed: StartedBed;
let runs: ActionRun[] = [];

async function targetCatalog(): Promise<string[]> {
  const res = await fetch(`${bed.acrs.target.backendUrl}/v2/_catalog?n=1000`);
  return ((await res.json()) as { repositories?: string[] }).repositories ?? [];
}

beforeAll(async () => {
  bed = await startBed();
  const workspace = bed.runnerEnv()['GITHUB_WORKSPACE']!;
  await mkdir(workspace, { recursive: true });
  await writeFile(join(workspace, 'images.yml'), `- source: ${good(bed)}\n`);
  expect(await targetCatalog()).toEqual([]);
  await bed.control.reset();

  const base = { ...bed.baseInputs(), source: good(bed), 'target-tags': 'apps/web:1' };
  runs = new Array<ActionRun>(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i]!;
      const own = c.inputs(bed);
      const inputs: Record<string, string> = { ...base, ...own };
      if (c.file !== undefined) {
        await writeFile(join(workspace, `case-${i}.yml`), c.file);
        inputs['images-file'] = `case-${i}.yml`;
      }
      if (('images' in own || c.file !== undefined) && !('target-tags' in own)) delete inputs['target-tags'];
      for (const [k, v] of Object.entries(inputs)) if (v === '' && k !== 'source') delete inputs[k];
      runs[i] = await runAction(bed, inputs);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}, 120_000);

afterAll(async () => {
  await bed?.stop();
});

function errorOf(run: ActionRun): string {
  return run.annotations
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
    .join('\n');
}

describe(`bad inputs (${cases.length} cases) are refused before any request`, () => {
  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = cases[i]!;
    const run = runs[i]!;
    expect(run.exitCode).toBe(1);
    const error = errorOf(run);
    if (!/^(Invalid input:|\d+ invalid inputs:)/.test(error))
      throw new Error(`not an input error:\n${run.stdout}\n${run.stderr}`);
    // The line about this input: "- <input>: <what is wrong and the fix> (got "<value>")".
    const lines = error
      .split('\n')
      .filter((l) => (typeof c.input === 'string' ? l.startsWith(`- ${c.input}: `) : c.input.test(l)));
    if (lines.length === 0) throw new Error(`no line for ${String(c.input)} in:\n${error}`);
    const line = lines.find((l) => (typeof c.fix === 'string' ? l.includes(c.fix) : c.fix.test(l)));
    if (!line) throw new Error(`no line for ${String(c.input)} says ${String(c.fix)}:\n${error}`);
    expect(line).toMatch(/ \(got ".*"\)$/);
    if (c.value) expect(line).toContain(`(got ${JSON.stringify(c.value(bed))})`);
    if (c.secret) {
      const secret = c.secret(bed);
      // A secret input is masked first (the runner then hides it); nothing else writes it anywhere.
      if (run.masks.length) expect(run.stdout.split('\n')[0]).toBe(`::add-mask::${secret}`);
      const log = run.stdout.replace(/^::add-mask::.*$/gm, '');
      expect(log + run.stderr + run.summary + JSON.stringify(run.outputs)).not.toContain(secret);
    }
    // No outputs, no summary: nothing happened.
    expect(run.outputs['digest'] ?? '').toBe('');
    expect(run.summary).toBe('');
  });

  it('made no request to any emulated service, and imported nothing', async () => {
    expect(runs.every(Boolean)).toBe(true);
    const requests = await bed.control.requests();
    expect(requests.map((r) => `${r.service} ${r.method} ${r.url}`)).toEqual([]);
    expect(await targetCatalog()).toEqual([]);
  });

  it('tried at least 40 bad inputs', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
});
